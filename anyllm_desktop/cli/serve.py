"""``anyllm serve``: the OpenAI-compatible local API server (services/api_server/).

Every workspace is a model (``workspace:NAME``: answers with retrieval and its citations), as
are the local chat models and the embedded embedder. The key is generated on first serve, kept
in the keyring, printed once; ``--rotate-key`` replaces it, ``--api-key`` sets a chosen one.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.session import open_runtime


def add_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="serve workspaces and local models over an OpenAI-compatible API"
    )
    serve.add_argument("--port", type=int, default=None, help="default: settings (8765)")
    serve.add_argument(
        "--host", default=None, help="default: settings (127.0.0.1: this computer only)"
    )
    serve.add_argument("--api-key", default=None, metavar="KEY",
                       help="use (and keep) this key instead of the generated one")  # fmt: skip
    serve.add_argument("--rotate-key", action="store_true",
                       help="replace the key with a new one, print it, and exit")  # fmt: skip
    serve.set_defaults(handler=_serve)


def _key(args: argparse.Namespace, home: Any) -> str:
    from anyllm_desktop.services.api_server import auth

    if args.api_key is not None:
        try:
            auth.set_key(home, args.api_key)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        return str(args.api_key)
    key, created = auth.stored_key(home)
    if created:
        print(f"API key (shown once; it is kept in the keyring): {key}", flush=True)
    else:
        print("Using the API key kept in the keyring (`anyllm serve --rotate-key` replaces it "
              "and shows the new one).", flush=True)  # fmt: skip
    return key


def _serve(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.api_server import auth
    from anyllm_desktop.services.api_server.server import ApiServer, exposure_warning

    runtime = open_runtime(args)
    home = runtime.paths.home
    if args.rotate_key:
        print(f"New API key (shown once; the old one no longer works): {auth.rotate_key(home)}")
        return 0
    settings = runtime.settings
    host = args.host or settings.api_server_host
    port = args.port if args.port is not None else settings.api_server_port
    if not 0 <= port <= 65_535:
        raise CommandError(f"--port {port} is not a port number (1 to 65535).")
    key = _key(args, home)
    if (warning := exposure_warning(host, port)) is not None:
        print(f"\n{'!' * 78}\n{warning}\n{'!' * 78}\n", file=sys.stderr, flush=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="anyllm: %(message)s")
    server = ApiServer(home, key, host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        raise CommandError(str(exc)) from exc
    print(f"Serving on {server.address} (Ctrl-C stops)", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        print("anyllm: stopping the API server", file=sys.stderr)
    finally:
        server.stop()
    return 0
