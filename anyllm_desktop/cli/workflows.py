"""`anyllm workflows list|check`, `anyllm run`: workflows over a workspace's documents, and
`anyllm runs`: the runs a workspace kept (``--show RUN`` prints or exports one again)."""

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
    run.add_argument("--out", metavar="FILE",
                     help="write the result (.csv, .json, .md, .xlsx, .html)")  # fmt: skip
    run.add_argument("--send-to-cloud", action="store_true",
                     help="agree that the cloud steps send the documents' text to their "
                          "providers (remembered for this workspace)")  # fmt: skip
    run.add_argument("--json", action="store_true")
    run.set_defaults(handler=_run)

    runs = commands.add_parser("runs", help="the workflow runs a workspace kept, newest first")
    runs.add_argument("-w", "--workspace", required=True)
    runs.add_argument("--show", type=int, metavar="RUN", help="one run's result (its id)")
    runs.add_argument("--out", metavar="FILE",
                      help="with --show: write it (.csv, .json, .md, .xlsx, .html)")  # fmt: skip
    runs.add_argument("-n", type=int, default=20, help="how many, newest first (default 20)")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(handler=_runs)


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


def _out(args: argparse.Namespace) -> Path | None:
    from anyllm_desktop.services.workflows.results import EXPORT_FORMATS

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in EXPORT_FORMATS:
        raise CommandError(f"--out {out.name}: write .csv, .json, .md, .xlsx or .html")
    return out


def _run(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.workflows.results import export

    out = _out(args)
    path, spec = _spec(args.workflow)
    with library_session(args) as library:
        library.workspace(args.workspace)  # a missing workspace is said before anything runs
        _agree(library, args, spec)
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


def _agree(library: Any, args: argparse.Namespace, spec: Any) -> None:
    """The first-use agreement for the cloud steps: refused with what each would send where,
    unless --send-to-cloud agrees (remembered, like `anyllm ask --send-to-cloud`)."""
    from anyllm_desktop.services.workflows.models import agree_to, pending_agreements

    try:
        pending = pending_agreements(library, args.workspace, spec, args.documents)
    except (KeyError, ValueError) as exc:
        raise CommandError(exc.args[0] if exc.args else str(exc)) from exc
    if not pending:
        return  # nothing to agree to, or agreeing would not help: the run says why it refuses
    if not args.send_to_cloud:
        lines = [f"  {s['step']}: {s['sends']} of {len(s['documents'])} document(s) to "
                 f"{s['provider']} ({s['host']})" for s in pending]  # fmt: skip
        raise CommandError("the workflow's cloud steps need your agreement first:\n"
                           + "\n".join(lines) + "\nrun again with --send-to-cloud to agree "
                           "(remembered for this workspace and provider)")  # fmt: skip
    agree_to(library, args.workspace, [s["provider"] for s in pending])


def _runs(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.workflows.runs import RunLog

    if args.out and args.show is None:
        raise CommandError("--out writes one run: give its id with --show RUN")
    out = _out(args)
    with library_session(args) as library:
        log = RunLog(library.runtime.paths.workflow_cache(library.workspace(args.workspace).uid))
        if args.show is not None:
            return _show_run(log, args, out)
        records = log.recent(args.n)
    if args.json:
        print_json({"workspace": args.workspace, "runs": [r.summary() for r in records]})
    elif not records:
        print(printable(f"no workflow runs in {args.workspace} yet (anyllm run WORKFLOW -w "
                        f"{args.workspace})"))  # fmt: skip
    for record in records if not args.json else []:
        models = ", ".join(f"{step}: {model}" for step, model in record.models.items())
        line = f"{record.describe()} · {len(record.documents)} document(s) · {models}"
        print(printable(line + (f" — {record.error}" if record.error else "")))
    return 0


def _show_run(log: Any, args: argparse.Namespace, out: Path | None) -> int:
    from anyllm_desktop.services.workflows.results import export

    try:
        record = log.get(args.show)
    except KeyError as exc:
        raise CommandError(exc.args[0]) from exc
    result = record.result
    if result is None:
        raise CommandError(f"run {record.id} ({record.name}) {record.status} without a result"
                           + (f": {record.error}" if record.error else ""))  # fmt: skip
    if out is not None:
        export(result, out)
    if args.json:
        print_json({**record.summary(), "result": result.to_json(),
                    "out": str(out) if out else None})  # fmt: skip
    elif out is not None:
        print(printable(f"wrote {out} (run {record.id}, {len(result.rows)} rows)"))
    else:
        for line in result.markdown().splitlines():
            print(printable(line))
    return 0
