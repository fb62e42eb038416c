"""`anyllm dataset import|build|export|show|list|delete`: the training sets kept in the home folder,
imported from files (OpenAI chat JSONL, Alpaca, ShareGPT, CSV) or built from a kept run of
the FAQ workflow; every row skipped is said with its file and row."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import print_json, warn
from anyllm_desktop.cli.session import library_session, open_runtime
from anyllm_desktop.core.filenames import printable

if TYPE_CHECKING:
    from anyllm_desktop.core.datasets import Example
    from anyllm_desktop.services.datasets import DatasetCard, DatasetStore
    from anyllm_desktop.services.runtime import Runtime

#: Problems printed after an import or build (all are on the card: `anyllm dataset show`).
_SHOWN_PROBLEMS = 20


def add_commands(commands: Any) -> None:
    dataset = commands.add_parser("dataset", help="training sets: import, build, show, export")
    actions = dataset.add_subparsers(dest="action", required=True, metavar="ACTION")

    imports = actions.add_parser("import", help="keep a training set read from files")
    imports.add_argument("files", nargs="+", metavar="FILE",
                         help=".jsonl (OpenAI chat), .json (Alpaca or ShareGPT), .csv")  # fmt: skip
    imports.add_argument("--model", metavar="MODEL",
                         help="report the rows too long for this model's context")  # fmt: skip
    imports.set_defaults(handler=_import)

    build = actions.add_parser("build", help="keep the question/answer pairs of a FAQ run, or "
                               "the chat answers rated good or corrected")  # fmt: skip
    build.add_argument("-w", "--workspace", required=True)
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=int, metavar="ID",
                        help="a kept run of faq-pairs (anyllm runs -w WORKSPACE)")  # fmt: skip
    source.add_argument("--chats", action="store_true",
                        help="the workspace's chat answers rated Good or corrected")  # fmt: skip
    build.set_defaults(handler=_build)
    for made in (imports, build):
        made.add_argument("--name", required=True, help="the dataset's name")
        made.add_argument(
            "--held-out",
            type=float,
            default=0.1,
            metavar="SHARE",
            help="share kept out of training to measure on (default 0.1)",
        )
        made.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
        made.add_argument("--replace", action="store_true", help="replace a dataset of that name")

    export = actions.add_parser("export", help="write a dataset to a file")
    export.add_argument("name", metavar="NAME")
    export.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help=".jsonl (OpenAI chat), .json (Alpaca), .sharegpt.json, .csv",
    )
    export.add_argument("--split", choices=("all", "train", "held-out"), default="all")
    export.set_defaults(handler=_export)

    show = actions.add_parser("show", help="a dataset's counts, first rows and problems")
    show.add_argument("name", metavar="NAME")
    show.add_argument("-n", type=int, default=5, help="how many rows to show (default 5)")
    show.set_defaults(handler=_show)

    listing = actions.add_parser("list", help="the datasets kept")
    listing.set_defaults(handler=_list)
    delete = actions.add_parser("delete", help="delete a dataset (the files it came from stay)")
    delete.add_argument("name", metavar="NAME")
    delete.set_defaults(handler=_delete)
    for action in (imports, build, export, show, listing, delete):
        action.add_argument("--json", action="store_true")


def _store(args: argparse.Namespace) -> DatasetStore:
    from anyllm_desktop.services.datasets import DatasetStore

    return DatasetStore(open_runtime(args).paths)


def _import(args: argparse.Namespace) -> int:
    from anyllm_desktop.core.datasets import DatasetError
    from anyllm_desktop.services.datasets import DatasetStore

    runtime = open_runtime(args)
    count_tokens, context = _counter(runtime, args.model) if args.model else (None, 0)
    try:
        card = DatasetStore(runtime.paths).import_files(
            args.name, [Path(f) for f in args.files], held_out=args.held_out, seed=args.seed,
            replace=args.replace, count_tokens=count_tokens, context=context)  # fmt: skip
    except (DatasetError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    return _saved(card, args)


def _counter(runtime: Runtime, model: str) -> tuple[Callable[[Example], int], int]:
    """The model's own token count of an example (its chat template included) and context."""
    from anyllm_desktop.core.conversation import ChatMessage
    from anyllm_desktop.models.catalog import ModelFileError
    from anyllm_desktop.providers.registry import OfflineModeError

    try:
        provider = runtime.create_chat_provider(provider="local", model=model)
    except KeyError as exc:  # an unknown model id
        raise CommandError(f"--model {model}: {exc.args[0]}") from exc
    except (ModelFileError, OfflineModeError, OSError, ValueError) as exc:
        raise CommandError(f"--model {model}: {exc}") from exc

    def count(example: Example) -> int:
        turns = [ChatMessage(t.role, t.content) for t in example.messages]  # type: ignore[arg-type]
        return provider.count_tokens(turns)

    return count, provider.context_size


def _build(args: argparse.Namespace) -> int:
    from anyllm_desktop.core.datasets import DatasetError
    from anyllm_desktop.services.datasets import DatasetStore
    from anyllm_desktop.services.workflows.runs import RunLog

    with library_session(args) as library:
        paths = library.runtime.paths
        workspace = library.workspace(args.workspace)
        store, split = DatasetStore(paths), {"held_out": args.held_out, "seed": args.seed,
                                             "replace": args.replace}  # fmt: skip
        try:
            if args.chats:
                rated = library.threads.rated(workspace.id)
                card = store.build_from_chats(args.name, args.workspace, rated, **split)
            else:
                record = RunLog(paths.workflow_cache(workspace.uid)).get(args.run)
                card = store.build_from_run(args.name, args.workspace, record, **split)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from exc
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
    return _saved(card, args)


def _saved(card: DatasetCard, args: argparse.Namespace) -> int:
    """What an import or build kept, and what it skipped (on stderr, with --json too)."""
    for problem in card.problems[:_SHOWN_PROBLEMS]:
        warn(f"skipped {problem}")
    if card.counts["problems"] > _SHOWN_PROBLEMS:
        warn(f"… and {card.counts['problems'] - _SHOWN_PROBLEMS} more rows skipped "
             f"(anyllm dataset show {card.name})")  # fmt: skip
    if args.json:
        print_json(card.to_json())
        return 0
    for note in card.notes:
        print(printable(note))
    print(printable(f"kept {card.name}: {_counts(card)}"))
    return 0


def _counts(card: DatasetCard) -> str:
    counts = card.counts
    return (f"{_many(counts['examples'], 'example')} ({counts['train']} train, "
            f"{counts['held_out']} held out), {_many(counts['problems'], 'row')} skipped, "
            f"{_many(counts['duplicates'], 'duplicate')} dropped")  # fmt: skip


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _load(args: argparse.Namespace) -> Any:
    try:
        return _store(args).load(args.name)
    except KeyError as exc:
        raise CommandError(exc.args[0]) from exc


def _export(args: argparse.Namespace) -> int:
    from anyllm_desktop.core.dataset_formats import write_dataset
    from anyllm_desktop.core.datasets import DatasetError

    stored = _load(args)
    examples = {"all": stored.examples, "train": stored.train,
                "held-out": stored.held_out}[args.split]  # fmt: skip
    out = Path(args.out)
    try:
        fmt = write_dataset(examples, out)
    except DatasetError as exc:
        out.unlink(missing_ok=True)
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(f"{out}: could not write it ({exc.strerror or exc})") from exc
    if args.json:
        print_json({"name": args.name, "out": str(out), "format": fmt, "split": args.split,
                    "examples": len(examples)})  # fmt: skip
    else:
        print(printable(f"wrote {out} ({len(examples)} examples, {fmt})"))
    return 0


def _show(args: argparse.Namespace) -> int:
    stored = _load(args)
    card, first = stored.card, stored.examples[: max(args.n, 0)]
    if args.json:
        rows = [{**e.to_json(), "split": "held_out" if e in stored.held_out else "train"}
                for e in first]  # fmt: skip
        print_json({**card.to_json(), "rows": rows})
        return 0
    print(printable(f"{card.name}: {_counts(card)}"))
    print(printable("from " + "; ".join(card.sources)))
    for note in card.notes:
        print(printable(note))
    for example in first:
        print(printable(f"  Q: {_short(example.prompt)}"))
        print(printable(f"  A: {_short(example.answer)}   ({example.source} row {example.row})"))
    if card.problems:
        print(f"{_many(card.counts['problems'], 'row')} skipped:")
        for problem in card.problems:
            print(printable(f"  {problem}"))
    return 0


def _short(text: str, width: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _list(args: argparse.Namespace) -> int:
    cards = _store(args).cards()
    if args.json:
        print_json({"datasets": [c.to_json() for c in cards]})
    elif not cards:
        print("no datasets yet (anyllm dataset import FILE --name NAME)")
    for card in cards if not args.json else []:
        print(printable(f"{card.name:24s} {_counts(card)}"))
    return 0


def _delete(args: argparse.Namespace) -> int:
    try:
        _store(args).delete(args.name)
    except KeyError as exc:
        raise CommandError(exc.args[0]) from exc
    if args.json:
        print_json({"deleted": args.name})
    else:
        print(printable(f"deleted the dataset {args.name}"))
    return 0
