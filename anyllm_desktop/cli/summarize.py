"""`anyllm summarize`: a whole document's summary, section by section, with its citations."""

from __future__ import annotations

import argparse
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import print_json, run_job
from anyllm_desktop.cli.session import job, library_session
from anyllm_desktop.core.filenames import printable

#: The built-in workflow it runs (resources/workflows/document-summary.yaml).
WORKFLOW = "document-summary"


def add_commands(commands: Any) -> None:
    summarize = commands.add_parser(
        "summarize", help="summarize a whole document of any length, citing pages and sections"
    )
    summarize.add_argument("document", metavar="DOCUMENT", help="a file name, title or id")
    summarize.add_argument("-w", "--workspace", required=True)
    summarize.add_argument("--json", action="store_true")
    summarize.set_defaults(handler=_summarize)


def _summarize(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.workflows.loading import resolve_workflow

    path = resolve_workflow(WORKFLOW)
    with library_session(args) as library:
        library.workspace(args.workspace)  # a missing workspace is said before anything runs
        events = job(library, "workflow", args.workspace, workflow=str(path),
                     documents=[args.document])  # fmt: skip
        result = run_job(events)
    if result is None:
        raise CommandError("the summary was stopped before it finished")
    citations = [c.to_json() for c in result.citations]
    if args.json:
        print_json({"document": args.document, "summary": result.report or "",
                    "citations": citations, "model_calls": result.model_calls,
                    "cached": result.cached, "notes": result.notes,
                    "prompt_tokens": result.prompt_tokens,
                    "evaluated_tokens": result.evaluated_tokens})  # fmt: skip
        return 0
    for line in (result.report or "").splitlines():
        print(printable(line))
    if citations:
        print()
        print(printable("Sources: " + "; ".join(c.describe() for c in result.citations)))
    for note in result.notes:
        print(printable(f"note: {note}"))
    return 0
