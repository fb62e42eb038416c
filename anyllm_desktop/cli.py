"""``anyllm``: the command line over the same core as the desktop app (no Qt)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop import __version__
from anyllm_desktop.cli_library import add_commands as add_library_commands
from anyllm_desktop.cli_providers import add_commands as add_provider_commands
from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, FileResult, Progress
from anyllm_desktop.core.filenames import printable
from anyllm_desktop.core.offline import apply_offline_environment

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anyllm", description="Chat with your own documents on local models, offline."
    )
    parser.add_argument("--version", action="version", version=f"anyllm-desktop {__version__}")
    parser.add_argument(
        "--home", metavar="DIR", help="data folder (default: $ANYLLM_HOME or the OS data folder)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = commands.add_parser(
        "doctor", help="check the installation: versions, models, a real generation and embedding"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(handler=_cmd_doctor)

    workspace = commands.add_parser("workspace", help="create, list, rename or delete workspaces")
    actions = workspace.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a workspace")
    create.add_argument("name")
    create.set_defaults(handler=_cmd_workspace_create)
    listing = actions.add_parser("list", help="list workspaces")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_cmd_workspace_list)
    rename = actions.add_parser("rename", help="rename a workspace")
    rename.add_argument("name")
    rename.add_argument("new_name")
    rename.set_defaults(handler=_cmd_workspace_rename)
    delete = actions.add_parser("delete", help="delete a workspace, its index and document list")
    delete.add_argument("name")
    delete.set_defaults(handler=_cmd_workspace_delete)
    reindex = actions.add_parser(
        "reindex",
        help="chunk and embed every document again from its file (repairs a lost or damaged "
        "index; waits for a running ingest)",
    )
    reindex.add_argument("name")
    reindex.add_argument("--json", action="store_true")
    reindex.set_defaults(handler=_cmd_workspace_reindex)
    embedder = actions.add_parser(
        "embedder", help="show a workspace's embedding model and the choices, or re-embed with one"
    )
    embedder.add_argument("name")
    embedder.add_argument("model", nargs="?", help="an id from the list this prints")
    embedder.add_argument(
        "--send-to-cloud",
        action="store_true",
        help="agree that the workspace's documents and questions go to the cloud embedder",
    )
    embedder.add_argument("--json", action="store_true")
    embedder.set_defaults(handler=_cmd_workspace_embedder)

    ingest = commands.add_parser("ingest", help="add files or folders to a workspace")
    ingest.add_argument("-w", "--workspace", required=True)
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--json", action="store_true")
    ingest.set_defaults(handler=_cmd_ingest)

    docs = commands.add_parser("docs", help="list a workspace's documents")
    docs.add_argument("-w", "--workspace", required=True)
    docs.add_argument("--json", action="store_true")
    docs.set_defaults(handler=_cmd_docs)

    search = commands.add_parser("search", help="find passages in a workspace")
    search.add_argument("-w", "--workspace", required=True)
    search.add_argument("query")
    search.add_argument(
        "-k", type=int, default=None, help="number of passages (default: the workspace's setting)"
    )
    search.add_argument("--mode", choices=("hybrid", "vector", "fulltext"), default=None)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_cmd_search)

    ask = commands.add_parser("ask", help="answer a question from a workspace's documents")
    ask.add_argument("-w", "--workspace", required=True)
    ask.add_argument("question")
    _chat_options(ask)
    ask.set_defaults(handler=_cmd_ask)

    chat = commands.add_parser(
        "chat", help="answer one question per line of standard input, the model kept loaded"
    )
    chat.add_argument("-w", "--workspace", required=True)
    _chat_options(chat)
    chat.set_defaults(handler=_cmd_chat)

    threads = commands.add_parser("threads", help="list a workspace's threads")
    threads.add_argument("-w", "--workspace", required=True)
    threads.add_argument("--json", action="store_true")
    threads.set_defaults(handler=_cmd_threads)

    export = commands.add_parser("export", help="print a thread as Markdown or JSON")
    export.add_argument("thread", type=int, metavar="THREAD_ID")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.set_defaults(handler=_cmd_export)
    add_provider_commands(commands)
    add_library_commands(commands)
    return parser


def _chat_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--thread", type=int, default=None, help="continue this thread")
    parser.add_argument("--provider", default=None, help="provider name (default: settings)")
    parser.add_argument(
        "--model",
        default=None,
        help="local: catalog id or .gguf path; cloud: model id (default: settings)",
    )
    parser.add_argument(
        "--send-to-cloud",
        action="store_true",
        help="agree that this workspace's passages go to the cloud provider (remembered)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per answer")


class CommandError(Exception):
    """A user-facing failure: printed as ``anyllm: error: ...`` with exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CommandError as exc:
        print(f"anyllm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("anyllm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `anyllm ... | head`: the reader left
        sys.stderr.close()
        return 0
    except Exception as exc:  # a store's failure: said in words, else the traceback
        message = _storage_problem(exc, args)
        if message is None:
            raise
        print(f"anyllm: error: {message}", file=sys.stderr)
        return 2


def _storage_problem(exc: Exception, args: argparse.Namespace) -> str | None:
    """The library's own problems and the disk's, as messages (None: not one of those)."""
    from anyllm_desktop.core.paths import resolve_home
    from anyllm_desktop.services.index_health import IndexProblem
    from anyllm_desktop.services.integrity import LibraryProblem
    from anyllm_desktop.services.storage_errors import explain

    if isinstance(exc, LibraryProblem | IndexProblem):
        return str(exc)
    return explain(exc, resolve_home(args.home))


def _open_library(args: argparse.Namespace) -> Library:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime

    runtime = Runtime.open(args.home)
    for warning in runtime.warnings:
        print(f"anyllm: warning: {printable(warning)}", file=sys.stderr)
    library = Library(runtime)
    for warning in library.warnings:
        print(f"anyllm: warning: {printable(warning)}", file=sys.stderr)
    return library


@contextmanager
def _library(args: argparse.Namespace) -> Iterator[Library]:
    from anyllm_desktop.providers.cloud_http import ProviderError
    from anyllm_desktop.store.records import WorkspaceExistsError, WorkspaceNotFoundError

    library = _open_library(args)
    try:
        yield library
    except (WorkspaceNotFoundError, WorkspaceExistsError, ValueError, ProviderError) as exc:
        raise CommandError(str(exc)) from exc
    finally:
        library.close()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _cmd_workspace_create(args: argparse.Namespace) -> int:
    with _library(args) as library:
        workspace = library.create_workspace(args.name)
    print(f"created workspace {workspace.name!r}")
    return 0


def _cmd_workspace_list(args: argparse.Namespace) -> int:
    with _library(args) as library:
        counts = library.records.document_counts()
        rows = [
            {
                "name": w.name,
                "documents": counts.get(w.id, 0),
                "embedding_model": w.embedding_model,
                "retrieval": w.retrieval.to_dict(),
            }
            for w in library.workspaces()
        ]
    if args.json:
        _print_json({"workspaces": rows})
    else:
        for row in rows:
            print(f"{row['name']}  ({row['documents']} documents)")
        if not rows:
            print("no workspaces yet: anyllm workspace create NAME")
    return 0


def _cmd_workspace_rename(args: argparse.Namespace) -> int:
    with _library(args) as library:
        workspace = library.rename_workspace(args.name, args.new_name)
    print(f"renamed to {workspace.name!r}")
    return 0


def _cmd_workspace_delete(args: argparse.Namespace) -> int:
    with _library(args) as library:
        _run_job(library.delete_workspace(args.name))
    print(f"deleted workspace {args.name!r}")
    return 0


def _cmd_workspace_reindex(args: argparse.Namespace) -> int:
    """Every document chunked and embedded again from its file (repairs a lost index)."""
    with _library(args) as library:
        return _print_ingest(library.reindex(args.name, CancelToken()), args)


def _run_job(events: Iterator[Event]) -> Any:
    """Run a job to its end: waiting and progress on stderr, an Error as a CommandError; what
    its Done carried."""
    result = None
    for event in events:
        if isinstance(event, Progress):
            _show_progress(event)
        elif isinstance(event, Error):
            raise CommandError(event.message)
        elif isinstance(event, Done):
            result = event.result
    return result


def _show_progress(event: Progress) -> None:
    """A progress line on a terminal; waiting for another writer is said always."""
    if event.stage == "wait":
        print(f"anyllm: {printable(event.message)}", file=sys.stderr, flush=True)
    elif sys.stderr.isatty():
        print(f"\r{printable(event.message)[:100]:100s}", end="", file=sys.stderr, flush=True)


def _cmd_workspace_embedder(args: argparse.Namespace) -> int:
    from anyllm_desktop.core.events import CONSENT_REQUIRED
    from anyllm_desktop.services.cloud_providers import embedding_models

    with _library(args) as library:
        current = library.workspace(args.name).embedding_model
        if args.model is None:
            choices = embedding_models(library.runtime)
            if args.json:
                _print_json({"workspace": args.name, "embedding_model": current,
                             "choices": choices})  # fmt: skip
            else:
                for choice in choices:
                    mark = "*" if choice["id"] == current else " "
                    print(f"{mark} {choice['id']}  {choice['label']}")
            return 0
        events = library.reembed(args.name, args.model, CancelToken(), agreed=args.send_to_cloud)
        for event in events:
            if isinstance(event, Progress):
                _show_progress(event)
            elif isinstance(event, Error) and event.detail == CONSENT_REQUIRED:
                raise CommandError(f"{event.message} Add --send-to-cloud to agree.")
            elif isinstance(event, Error):
                raise CommandError(event.message)
            elif isinstance(event, Done):
                if args.json:
                    _print_json(event.result)
                else:
                    print(f"{args.name}: {event.result['passages']} passages embedded with "
                          f"{args.model}")  # fmt: skip
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    with _library(args) as library:
        paths = [Path(p) for p in args.paths]
        return _print_ingest(library.ingest(args.workspace, paths, CancelToken()), args)


def _print_ingest(events: Iterator[Event], args: argparse.Namespace) -> int:
    results: list[FileResult] = []
    for event in events:
        if isinstance(event, FileResult):
            results.append(event)
            if not args.json:
                print(_describe_result(event), flush=True)
        elif isinstance(event, Progress) and (event.stage == "wait" or not args.json):
            _show_progress(event)
    if args.json:
        _print_json({"files": [asdict(r) for r in results]})
    elif not results:
        print("no files found")
    failed = sum(r.status == "failed" for r in results)
    return 1 if failed else 0


def _describe_result(result: FileResult) -> str:
    path, reason = printable(result.path), printable(result.reason or "")
    if result.status == "indexed":
        return f"indexed    {path} ({result.chunks} passages)"
    return f"{result.status:10s} {path}: {reason}"


def _cmd_docs(args: argparse.Namespace) -> int:
    with _library(args) as library:
        documents = library.documents(args.workspace)
        health = library.health(args.workspace)
    if not health.ok:
        print(f"anyllm: warning: {health.message}", file=sys.stderr)
    rows = [
        {
            "id": d.id,
            "document": d.title,
            "path": d.path,
            "status": d.status,
            "chunks": d.chunks,
            "kind": d.kind,
            "size": d.size,
            "pages": d.pages,
            "error": d.error,
            "added_at": d.added_at,
            "indexed_at": d.indexed_at,
        }
        for d in documents
    ]
    if args.json:
        _print_json({"documents": rows})
    else:
        for row in rows:
            detail = f"{row['chunks']} passages" if row["status"] == "indexed" else row["error"]
            line = f"[{row['status']}] {row['document']} — {row['path']} ({detail})"
            print(printable(line))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    with _library(args) as library:
        results = library.search(args.workspace, args.query, k=args.k, mode=args.mode)
    rows = [
        {
            "rank": r.rank,
            "score": r.score,
            "similarity": r.similarity,
            "document": r.document,
            "path": r.path,
            "page": r.page,
            "section": r.section,
            "sheet": r.sheet or None,
            "text": r.text,
        }
        for r in results
    ]
    if args.json:
        _print_json({"results": rows})
    else:
        for row in rows:
            where = f", page {row['page']}" if row["page"] else ""
            print(f"{row['rank']}. {row['document']}{where} — {row['section']}")
            print("   " + row["text"][:300].replace("\n", " "))
        if not rows:
            print("no passages found")
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.doctor import run_doctor
    from anyllm_desktop.services.runtime import Runtime

    report = run_doctor(Runtime.open(args.home))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_doctor(report)
    return 0 if report["ok"] else 1


def _mark(ok: bool) -> str:
    return "ok  " if ok else "FAIL"


def _print_doctor(report: dict[str, Any]) -> None:
    out = sys.stdout
    out.write(
        f"anyllm-desktop {report['anyllm_desktop']} on Python {report['python']}, "
        f"{report['platform']}\n"
    )
    out.write(f"home: {report['home']}\n")
    for warning in report["settings"]["warnings"]:
        out.write(f"warning: {warning}\n")
    out.write(
        "packages: "
        + ", ".join(
            f"{name} {version or 'MISSING'}" for name, version in report["packages"].items()
        )
        + "\n"
    )
    for model in report["models"]:
        out.write(
            f"[{_mark(model['ok'])}] {model['kind']} model {model['name']} "
            f"({model['size'] / 1e6:.1f} MB, {model['license']})\n"
        )
        for file in model["files"]:
            state = "checksum ok" if file["checksum_ok"] else file["problem"]
            out.write(f"         {file['path']}: {state}\n")
    llama = report["llama_cpp"]
    if llama["ok"]:
        features = " ".join(f"{k}={int(v)}" for k, v in llama["cpu_features"].items())
        out.write(f"[ok  ] llama.cpp {llama['version']}: {features}\n")
    generation = report["generation"]
    if generation["ok"]:
        out.write(
            f"[ok  ] generation: {generation['text']!r} (load {generation['load_s']} s, "
            f"first token {generation['ttft_s']} s, {generation['tokens_per_s']} tok/s, "
            f"{generation['threads']} threads)\n"
        )
    embedding = report["embedding"]
    if embedding["ok"]:
        out.write(
            f"[ok  ] embedding: {embedding['dim']} dims, norm {embedding['norm']}, "
            f"{embedding['seconds']} s\n"
        )
    for problem in report["problems"]:
        out.write(f"[FAIL] {problem}\n")
    out.write("all checks passed\n" if report["ok"] else "some checks failed\n")


@contextmanager
def _chat_service(args: argparse.Namespace) -> Iterator[Any]:
    from anyllm_desktop.providers.registry import OfflineModeError, UnknownProviderError
    from anyllm_desktop.services.chat import ChatService
    from anyllm_desktop.services.model_host import ModelHost

    with _library(args) as library:
        try:
            provider = library.runtime.create_chat_provider(
                provider=args.provider, model=args.model
            )
        except (UnknownProviderError, OfflineModeError, KeyError, OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if args.send_to_cloud and not provider.capabilities.local:
            try:
                agreed = library.workspace(args.workspace).chat.cloud_consent
            except KeyError as exc:
                raise CommandError(str(exc)) from exc
            if provider.name not in agreed:
                library.update_chat(args.workspace, cloud_consent=[*agreed, provider.name])
        host = ModelHost(provider)
        try:
            yield ChatService(library, host)
        finally:
            host.close()


@contextmanager
def _ctrl_c_stops(cancel: Any) -> Iterator[None]:
    """While an answer streams, the first Ctrl-C cancels it, so the turn ends at once and keeps
    its partial answer (stored, marked stopped, printed); a second Ctrl-C interrupts outright."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread
        return

    def stop(_signum: int, _frame: object) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _answer(service: Any, args: argparse.Namespace, question: str, thread: int | None) -> Any:
    """Run one turn, streaming tokens to stdout unless --json; the Answer (``stopped`` after a
    Ctrl-C), or None on error."""
    from anyllm_desktop.core.cancel import CancelToken
    from anyllm_desktop.core.events import CONSENT_REQUIRED, Done, Error, Token

    answer = None
    cancel = CancelToken()
    with _ctrl_c_stops(cancel):
        for event in service.ask(args.workspace, question, thread_id=thread, cancel=cancel):
            if isinstance(event, Token) and not args.json:
                print(event.text, end="", flush=True)
            elif isinstance(event, Error):
                print(f"anyllm: error: {event.message}", file=sys.stderr)
                if event.detail == CONSENT_REQUIRED:
                    print("anyllm: run again with --send-to-cloud to agree (remembered for this "
                          "workspace and provider)", file=sys.stderr)  # fmt: skip
                if cancel.cancelled:
                    raise KeyboardInterrupt
                return None
            elif isinstance(event, Done):
                answer = event.result
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
    else:
        print()
        for citation in answer.citations:
            if citation["valid"]:
                page = f", page {citation['page']}" if citation.get("page") else ""
                print(f"  [{citation['n']}] {citation['document']}{page}")
            else:
                print(f"  [{citation['n']}] (no such passage)")
        print(f"  (thread {answer.thread})", flush=True)
    if answer.stopped:
        print(f"anyllm: stopped by Ctrl-C; the partial answer is kept in thread {answer.thread}",
              file=sys.stderr, flush=True)  # fmt: skip
    return answer


def _cmd_ask(args: argparse.Namespace) -> int:
    from anyllm_desktop.store.threads import ThreadNotFoundError

    with _chat_service(args) as service:
        try:
            answer = _answer(service, args, args.question, args.thread)
        except ThreadNotFoundError as exc:
            raise CommandError(str(exc)) from exc
    if answer is None:
        return 1
    return 130 if answer.stopped else 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from anyllm_desktop.store.threads import ThreadNotFoundError

    failures = 0
    thread = args.thread
    with _chat_service(args) as service:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                answer = _answer(service, args, line.strip(), thread)
            except ThreadNotFoundError as exc:
                raise CommandError(str(exc)) from exc
            if answer is None:
                failures += 1
            elif answer.stopped:
                return 130  # Ctrl-C: the partial answer is kept, no further questions
            else:
                thread = answer.thread
    return 1 if failures else 0


def _cmd_threads(args: argparse.Namespace) -> int:
    with _library(args) as library:
        workspace = library.workspace(args.workspace)
        counts = library.threads.message_counts(workspace.id)
        rows = [
            {
                "thread": t.id,
                "title": t.title,
                "messages": counts.get(t.id, 0),
                "updated_at": t.updated_at,
            }
            for t in library.threads.of_workspace(workspace.id)
        ]
    if args.json:
        _print_json({"threads": rows})
    else:
        for row in rows:
            print(f"{row['thread']:>5}  {row['title']}  ({row['messages']} messages)")
        if not rows:
            print("no threads yet")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.export import export_thread
    from anyllm_desktop.store.threads import ThreadNotFoundError

    with _library(args) as library:
        try:
            thread = library.threads.get(args.thread)
        except ThreadNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        text = export_thread(thread, library.threads.messages(thread.id), args.format)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
