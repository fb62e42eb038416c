"""What every command prints the same way: JSON, warnings, progress on stderr, a job run to
its end, an ingest's per-file lines. Names are printed through ``printable`` (a file name may
hold a line break or an escape sequence)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.core.events import Done, Error, Event, FileResult, Progress
from anyllm_desktop.core.filenames import printable


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def warn(message: str) -> None:
    print(f"anyllm: warning: {printable(message)}", file=sys.stderr)


def show_progress(event: Progress) -> None:
    """A progress line on a terminal; waiting for another writer is said always."""
    if event.stage == "wait":
        print(f"anyllm: {printable(event.message)}", file=sys.stderr, flush=True)
    elif sys.stderr.isatty():
        print(f"\r{printable(event.message)[:100]:100s}", end="", file=sys.stderr, flush=True)


def run_job(events: Iterator[Event], show: Callable[[Progress], None] = show_progress) -> Any:
    """Run a job to its end: waiting and progress on stderr (by ``show``), an Error as a
    CommandError; what its Done carried."""
    result = None
    for event in events:
        if isinstance(event, Progress):
            show(event)
        elif isinstance(event, Error):
            raise CommandError(event.message)
        elif isinstance(event, Done):
            result = event.result
    return result


def print_ingest(events: Iterator[Event], args: argparse.Namespace) -> int:
    """An ingest or re-index: one line per file as it ends (or one JSON object at the end);
    exit code 1 when a file failed."""
    results: list[FileResult] = []
    for event in events:
        if isinstance(event, FileResult):
            results.append(event)
            if not args.json:
                print(_describe_result(event), flush=True)
        elif isinstance(event, Progress) and (event.stage == "wait" or not args.json):
            show_progress(event)
    if args.json:
        print_json({"files": [asdict(r) for r in results]})
    elif not results:
        print("no files found")
    failed = sum(r.status == "failed" for r in results)
    return 1 if failed else 0


def _describe_result(result: FileResult) -> str:
    path, reason = printable(result.path), printable(result.reason or "")
    if result.status == "indexed":
        return f"indexed    {path} ({result.chunks} passages)"
    return f"{result.status:10s} {path}: {reason}"
