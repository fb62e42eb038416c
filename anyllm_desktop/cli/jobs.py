"""`anyllm jobs`: the jobs of the app and of every command — what runs, ran, failed or was
interrupted — and `anyllm jobs resume ID` to run one again."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import print_ingest, print_json, run_job
from anyllm_desktop.cli.session import library_session


def add_commands(commands: Any) -> None:
    jobs = commands.add_parser(
        "jobs", help="list jobs (indexing, re-embedding, ...), or resume one"
    )
    jobs.add_argument("--json", action="store_true")
    jobs.add_argument("-n", type=int, default=20, help="how many, newest first (default 20)")
    jobs.set_defaults(handler=_list)
    actions = jobs.add_subparsers(dest="action", metavar="ACTION")
    resume = actions.add_parser(
        "resume", help="run a failed, cancelled or interrupted job again with its parameters"
    )
    resume.add_argument("id", type=int)
    resume.add_argument("--json", action="store_true")
    resume.set_defaults(handler=_resume)


def _list(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.jobs import JobService

    with library_session(args) as library:
        service = JobService(library)
        try:
            records = service.store.recent(args.n)
        finally:
            service.close()
    if args.json:
        print_json({"jobs": [asdict(r) for r in records]})
        return 0
    for job in records:
        moment = job.finished_at or job.started_at or job.created_at
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))
        detail = job.error or job.message
        print(f"{job.id:>5}  {when}  {job.describe()}" + (f" — {detail}" if detail else ""))
    if not records:
        print("no jobs yet")
    return 0


def _resume(args: argparse.Namespace) -> int:
    from anyllm_desktop.core.cancel import CancelToken
    from anyllm_desktop.services.jobs import JobService
    from anyllm_desktop.store.jobs import JobNotFoundError

    with library_session(args) as library:
        service = JobService(library)
        try:
            try:
                old = service.store.get(args.id)
            except JobNotFoundError as exc:
                raise CommandError(str(exc)) from exc
            if not old.finished or old.state == "done":
                raise CommandError(f"job {old.id} is {old.state}: only a failed, cancelled or "
                                   "interrupted job can be resumed")  # fmt: skip
            if old.kind == "model-load":
                raise CommandError(
                    f"job {old.id} loaded the chat model into the app: it loads again when "
                    "anyllm-desktop starts, or from Tools → Jobs…"
                )
            events = service.events(service.again(old.id), CancelToken())
            if old.kind in ("ingest", "reindex"):
                return print_ingest(events, args)
            run_job(events)
            print(f"{old.label} of {old.workspace!r}: done" if old.workspace else "done")
            return 0
        finally:
            service.close()
