"""`anyllm workflows list|check` and `anyllm run`: workflows over a workspace's documents."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import print_json, run_job
from anyllm_desktop.cli.session import job, library_session
from anyllm_desktop.core.filenames import printable


def add_commands(commands: Any) -> None:
    workflows = commands.add_parser("workflows", help="list or check workflows")
    actions = workflows.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the built-in workflows and their ids")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    check = actions.add_parser("check", help="validate a workflow file")
    check.add_argument("workflow", metavar="WORKFLOW", help="a built-in's id or a file")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=_check)

    run = commands.add_parser("run", help="run a workflow over a workspace's documents")
    run.add_argument("workflow", metavar="WORKFLOW", help="a built-in's id or a file")
    run.add_argument("-w", "--workspace", required=True)
    run.add_argument("--documents", nargs="+", metavar="NAME",
                     help="only these documents (file names, titles or ids)")  # fmt: skip
    run.add_argument("--out", metavar="FILE", help="write the result (.csv, .json, .md, .xlsx)")
    run.add_argument("--json", action="store_true")
    run.set_defaults(handler=_run)


def _spec(name: str) -> tuple[Path, Any]:
    from anyllm_desktop.core.workflow_spec import WorkflowError
    from anyllm_desktop.services.workflows.loading import load_workflow, resolve_workflow

    try:
        path = resolve_workflow(name)
        return path, load_workflow(path)
    except (KeyError, FileNotFoundError) as exc:
        raise CommandError(exc.args[0] if exc.args else str(exc)) from exc
    except WorkflowError as exc:
        raise CommandError(f"the workflow cannot run:\n{exc}") from exc


def _list(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.workflows.loading import builtin_workflows, load_workflow

    rows = []
    for ident, path in builtin_workflows().items():
        spec = load_workflow(path)
        rows.append({"id": ident, "name": spec.name, "description": spec.description,
                     "steps": [s.name for s in spec.steps], "path": str(path)})  # fmt: skip
    if args.json:
        print_json({"workflows": rows})
    else:
        for row in rows:
            print(f"{row['id']:24s} {row['name']}")
    return 0


def _check(args: argparse.Namespace) -> int:
    path, spec = _spec(args.workflow)
    if args.json:
        print_json({"id": spec.id, "path": str(path), "ok": True})
    else:
        print(printable(f"{path.name}: {spec.id} is valid ({len(spec.steps)} steps)"))
    return 0


def _run(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.workflows.results import EXPORT_FORMATS, export

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in EXPORT_FORMATS:
        raise CommandError(f"--out {out.name}: write .csv, .json, .md or .xlsx")
    path, _ = _spec(args.workflow)
    with library_session(args) as library:
        library.workspace(args.workspace)  # a missing workspace is said before anything runs
        events = job(library, "workflow", args.workspace, workflow=str(path),
                     documents=args.documents)  # fmt: skip
        result = run_job(events)
    if result is None:
        raise CommandError("the workflow was stopped before it finished")
    if out is not None:
        export(result, out)
    if args.json:
        print_json({**result.to_json(), "out": str(out) if out else None})
    elif out is not None:
        print(printable(f"wrote {out} ({len(result.rows)} rows, {result.model_calls} model "
                        f"calls, {result.cached} from the cache)"))  # fmt: skip
    else:
        for line in result.markdown().splitlines():
            print(printable(line))
    return 0
