"""`anyllm ask`, `chat`, `threads` and `export`: answers from a workspace's documents, streamed,
and the threads they are kept in."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import print_json
from anyllm_desktop.cli.session import library_session


def add_commands(commands: Any) -> None:
    ask = commands.add_parser("ask", help="answer a question from a workspace's documents")
    ask.add_argument("-w", "--workspace", required=True)
    ask.add_argument("question")
    _chat_options(ask)
    ask.set_defaults(handler=_ask)

    chat = commands.add_parser(
        "chat", help="answer one question per line of standard input, the model kept loaded"
    )
    chat.add_argument("-w", "--workspace", required=True)
    _chat_options(chat)
    chat.set_defaults(handler=_chat)

    threads = commands.add_parser("threads", help="list a workspace's threads")
    threads.add_argument("-w", "--workspace", required=True)
    threads.add_argument("--json", action="store_true")
    threads.set_defaults(handler=_threads)

    export = commands.add_parser("export", help="print a thread as Markdown or JSON")
    export.add_argument("thread", type=int, metavar="THREAD_ID")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.set_defaults(handler=_export)


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


@contextmanager
def _chat_service(args: argparse.Namespace) -> Iterator[Any]:
    from anyllm_desktop.providers.registry import OfflineModeError, UnknownProviderError
    from anyllm_desktop.services.chat import ChatService
    from anyllm_desktop.services.model_host import ModelHost

    with library_session(args) as library:
        try:
            name, model = args.provider, args.model
            if name is None and model is None:  # the workspace's own choice (workspace model)
                chat = library.workspace(args.workspace).chat
                name, model = chat.provider or None, chat.model or None
            provider = library.runtime.create_chat_provider(provider=name, model=model)
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
    Ctrl-C), or None on error (said on stderr: in `chat` the next question still runs)."""
    from anyllm_desktop.core.cancel import CancelToken
    from anyllm_desktop.core.events import CONSENT_REQUIRED, Done, Error, Token

    answer = None
    streamed = []
    cancel = CancelToken()
    with _ctrl_c_stops(cancel):
        for event in service.ask(args.workspace, question, thread_id=thread, cancel=cancel):
            if isinstance(event, Token) and not args.json:
                streamed.append(event.text)
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
        if answer.answer != "".join(streamed):  # query mode: replaced by its evidence
            print(f"\n{answer.answer}")
        _print_checks(answer)
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


def _print_checks(answer: Any) -> None:
    """The evidence quoted, and the answer's sentences not found in the documents."""
    if answer.evidence:
        print("From your documents:")
        for item in answer.evidence:
            page = f", page {item['page']}" if item.get("page") is not None else ""
            print(f"  > {item['text']} [{item['n']}] ({item['document']}{page})")
    for item in answer.unsupported:
        if item["reason"] == "differs_from_evidence":
            given = ", ".join(item["commands"])
            print(f"  not the command of the quoted passage ({given}): {item['sentence']}")
            continue
        if item["reason"] == "does_not_answer":
            print(f"  does not answer the question (see the evidence): {item['sentence']}")
            continue
        missing = f" ({', '.join(item['missing'])})" if item["missing"] else ""
        print(f"  not found in your documents{missing}: {item['sentence']}")


def _ask(args: argparse.Namespace) -> int:
    from anyllm_desktop.store.threads import ThreadNotFoundError

    with _chat_service(args) as service:
        try:
            answer = _answer(service, args, args.question, args.thread)
        except ThreadNotFoundError as exc:
            raise CommandError(str(exc)) from exc
    if answer is None:
        return 1
    return 130 if answer.stopped else 0


def _chat(args: argparse.Namespace) -> int:
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


def _threads(args: argparse.Namespace) -> int:
    with library_session(args) as library:
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
        print_json({"threads": rows})
    else:
        for row in rows:
            print(f"{row['thread']:>5}  {row['title']}  ({row['messages']} messages)")
        if not rows:
            print("no threads yet")
    return 0


def _export(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.export import export_thread
    from anyllm_desktop.store.threads import ThreadNotFoundError

    with library_session(args) as library:
        try:
            thread = library.threads.get(args.thread)
        except ThreadNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        text = export_thread(thread, library.threads.messages(thread.id), args.format)
    print(text)
    return 0
