"""`anyllm adapters list|import|show|delete`: the LoRA adapters kept in the home folder, trained
here or imported. One answers with its base model as `anyllm ask --model BASE+ID`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import print_json
from anyllm_desktop.cli.session import library_session, open_runtime
from anyllm_desktop.core.filenames import printable

if TYPE_CHECKING:
    from anyllm_desktop.models.adapters import AdapterCard, AdapterStore


def add_commands(commands: Any) -> None:
    adapters = commands.add_parser("adapters", help="LoRA adapters: list, import, show, delete")
    actions = adapters.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the adapters kept, each with its id")
    listing.set_defaults(handler=_list)

    imports = actions.add_parser("import", help="keep a GGUF LoRA adapter made elsewhere")
    imports.add_argument("file", metavar="FILE", help="a GGUF LoRA adapter (.gguf)")
    imports.add_argument("--name", help="its name (default: the one in the file)")
    imports.add_argument("--base", metavar="MODEL",
                         help="the model it was made for (a catalog id or a .gguf path): "
                              "checked, and listed with it")  # fmt: skip
    imports.set_defaults(handler=_import)

    show = actions.add_parser("show", help="an adapter's card")
    show.add_argument("id", metavar="ID")
    show.set_defaults(handler=_show)

    delete = actions.add_parser("delete", help="delete an adapter (its base model stays)")
    delete.add_argument("id", metavar="ID")
    delete.set_defaults(handler=_delete)
    for action in (listing, imports, show, delete):
        action.add_argument("--json", action="store_true")


def _store(args: argparse.Namespace) -> AdapterStore:
    from anyllm_desktop.models.adapters import AdapterStore

    return AdapterStore(open_runtime(args).paths)


def _get(args: argparse.Namespace) -> AdapterCard:
    try:
        return _store(args).get(args.id)
    except KeyError as exc:
        raise CommandError(str(exc)) from exc


def _list(args: argparse.Namespace) -> int:
    cards = _store(args).list()
    if args.json:
        print_json({"adapters": [_row(c) for c in cards]})
    elif not cards:
        print("no adapters yet (anyllm adapters import FILE --base MODEL)")
    for card in cards if not args.json else []:
        print(printable(f"{card.id:32s} {card.name}  on {_base(card)}  ({card.source}, "
                        f"{_when(card)}){_results(card)}"))  # fmt: skip
    return 0


def _row(card: AdapterCard) -> dict[str, Any]:
    """What `list --json` gives per adapter; ``model`` is the id to answer with (None when
    its base is not known: then BASE+ID with a base of its architecture)."""
    return {"id": card.id, "name": card.name, "base": card.base_model or None,
            "base_name": card.base_name or None, "architecture": card.architecture,
            "created": card.created, "source": card.source, "results": card.results,
            "model": f"{card.base_model}+{card.id}" if card.base_model else None}  # fmt: skip


def _import(args: argparse.Namespace) -> int:
    from anyllm_desktop.models.adapters import AdapterError, AdapterStore
    from anyllm_desktop.models.catalog import ModelFileError
    from anyllm_desktop.services.adapter_models import base_model

    runtime = open_runtime(args)
    base = None
    if args.base:
        try:
            base = base_model(runtime, args.base)
        except (KeyError, ModelFileError, OSError, ValueError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            raise CommandError(f"--base {args.base}: {message}") from exc
    try:
        card = AdapterStore(runtime.paths).import_file(Path(args.file), base, args.name)
    except (AdapterError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        print_json(_row(card))
    else:
        print(printable(f"kept {card.name} as {card.id} ({card.architecture}, on {_base(card)})"))
        if card.base_model:
            print(printable(f"answer with it: anyllm ask -w WORKSPACE QUESTION --model "
                            f"{card.base_model}+{card.id}"))  # fmt: skip
    return 0


def _show(args: argparse.Namespace) -> int:
    card = _get(args)
    if args.json:
        print_json(card.to_json())
        return 0
    print(printable(f"{card.name} ({card.id}), {card.source} {_when(card)}"))
    print(printable(f"  base: {_base(card)}"
                    + (f", sha256 {card.base_sha256}" if card.base_sha256 else "")))  # fmt: skip
    for title, values in (("dataset", card.dataset), ("settings", card.settings),
                          ("results", card.results)):  # fmt: skip
        if values:
            print(printable(f"  {title}: {_pairs(values)}"))
    if card.origin:
        print(printable(f"  imported from {card.origin}"))
    return 0


def _delete(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.adapter_models import delete_adapter

    with library_session(args) as library:
        try:
            card, reset = delete_adapter(library, args.id)
        except KeyError as exc:
            raise CommandError(str(exc)) from exc
    if args.json:
        print_json({"deleted": card.id, "name": card.name, "workspaces_reset": reset})
        return 0
    print(printable(f"deleted the adapter {card.name} ({card.id})"))
    for name in reset:
        print(printable(f"the workspace {name!r} answered with it: it now answers with the "
                        f"app's default model (choose another: anyllm workspace model {name!r} "
                        "MODEL)"))  # fmt: skip
    return 0


def _base(card: AdapterCard) -> str:
    if card.base_model:
        return card.base_name or card.base_model
    return f"any {card.architecture} model (base not named)"


def _when(card: AdapterCard) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(card.created))


def _results(card: AdapterCard) -> str:
    return f"; {_pairs(card.results)}" if card.results else ""


def _pairs(values: dict[str, Any]) -> str:
    """Each key then its value (a list joined by "/"): "rank 8, targets attn_q/ffn_up"."""
    return ", ".join(f"{k} {'/'.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in values.items())  # fmt: skip
