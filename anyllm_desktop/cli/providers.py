"""`anyllm providers …` and `anyllm offline …`: cloud providers and offline mode from the
command line (the settings dialog does the same through the same services)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from dataclasses import replace
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.session import open_runtime
from anyllm_desktop.providers.cloud_presets import KINDS


def add_commands(commands: Any) -> None:
    providers = commands.add_parser("providers", help="list, add, remove or test cloud providers")
    actions = providers.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list providers (keys are never shown)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    add = actions.add_parser("add", help="add (or replace) a provider")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=sorted(KINDS))
    add.add_argument(
        "--base-url",
        default="",
        help="default: the kind's usual address (no key or password in it)",
    )
    keys = add.add_mutually_exclusive_group()
    keys.add_argument(
        "--api-key",
        default="",
        help="the key itself, stored in the system keyring. Careful: other users of this "
        "computer can see a command line (ps) while it runs, and your shell history keeps it; "
        "prefer --api-key-stdin or --api-key-env",
    )
    keys.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read the key from the first line of standard input (asked for, unechoed, on a "
        "terminal): `pass show openai | anyllm providers add ...`",
    )
    keys.add_argument(
        "--api-key-env",
        metavar="NAME",
        default=None,
        help="read the key from the environment variable NAME",
    )
    add.add_argument("--model", default="",
                     help="the model that answers by default (default: the server's first "
                     "listed model)")  # fmt: skip
    add.add_argument(
        "--embedding-model",
        default=None,
        help="offered to workspaces as an embedder (default: the kind's usual one; '' for none)",
    )
    add.set_defaults(handler=_add)
    remove = actions.add_parser("remove", help="remove a provider and its key")
    remove.add_argument("name")
    remove.set_defaults(handler=_remove)
    test = actions.add_parser("test", help="send a one-line request and report the reply")
    test.add_argument("name")
    test.add_argument("--json", action="store_true")
    test.set_defaults(handler=_test)

    offline = commands.add_parser("offline", help="turn offline mode on or off, or show it")
    offline.add_argument("state", choices=("on", "off", "status"), nargs="?", default="status")
    offline.set_defaults(handler=_offline)


def _list(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.cloud_providers import list_providers

    rows = list_providers(open_runtime(args))
    if args.json:
        print(json.dumps({"providers": rows}, ensure_ascii=False))
        return 0
    for row in rows:
        where = row["base_url"] or "this computer"
        if row["local"] and row["base_url"]:
            where = f"{where} (on this computer)"
        print(f"{row['name']:16s} {row['kind']:18s} {row['model']:32s} {where} (key {row['key']})")
    return 0


def _api_key(args: argparse.Namespace) -> str:
    """The key from --api-key, the first line of stdin, or an environment variable (one asked
    for and not given is the command's error)."""
    if args.api_key_env is not None:
        key = os.environ.get(args.api_key_env, "").strip()
        if not key:
            raise CommandError(f"The environment variable {args.api_key_env} (--api-key-env) "
                               "is not set or empty.")  # fmt: skip
        return key
    if args.api_key_stdin:
        key = (getpass.getpass("API key: ") if sys.stdin.isatty()
               else sys.stdin.readline()).strip()  # fmt: skip
        if not key:
            raise CommandError("No API key was given on standard input (--api-key-stdin).")
        return key
    return str(args.api_key)


def _add(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.cloud_providers import add_provider

    api_key, runtime = _api_key(args), open_runtime(args)
    try:
        notice = add_provider(runtime, args.name, args.kind, base_url=args.base_url,
                              model=args.model, api_key=api_key,
                              embedding_model=args.embedding_model)  # fmt: skip
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    model = next(p["model"] for p in runtime.settings.providers if p["name"] == args.name)
    print(f"added {args.name} ({KINDS[args.kind].label}), answering with {model}")
    if notice:
        print(f"anyllm: note: {notice}", file=sys.stderr)
    return 0


def _remove(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.cloud_providers import remove_provider

    try:
        remove_provider(open_runtime(args), args.name)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"removed {args.name}")
    return 0


def _test(args: argparse.Namespace) -> int:
    from anyllm_desktop.core.cancel import CancelToken
    from anyllm_desktop.core.events import Done, Error
    from anyllm_desktop.services.cloud_providers import check_provider

    for event in check_provider(open_runtime(args), args.name, CancelToken()):
        if isinstance(event, Error):
            if args.json:
                print(json.dumps({"ok": False, "error": event.message}))
                return 1
            raise CommandError(event.message, exit_code=1)
        if isinstance(event, Done):
            result = event.result
            if args.json:
                print(json.dumps({"ok": True, **result}, ensure_ascii=False))
            else:
                print(f"{args.name} answered in {result['seconds']} s with {result['model']}: "
                      f"{result['reply']!r}")  # fmt: skip
    return 0


def _offline(args: argparse.Namespace) -> int:
    runtime = open_runtime(args)
    if args.state != "status":
        settings = replace(runtime.settings, offline_mode=args.state == "on")
        runtime.settings_store.save(settings)
        runtime.settings = settings
    state = "on" if runtime.settings.offline_mode else "off"
    print(f"offline mode is {state}")
    return 0
