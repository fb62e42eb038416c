"""`anyllm library …`: the ways out when the library's database is damaged or is not the one
its indexes belong to (the desktop app offers the same choices at start)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(commands: Any) -> None:
    library = commands.add_parser(
        "library", help="repair the library: put back its database copy, or start over"
    )
    actions = library.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="check that the database and the indexes match")
    check.set_defaults(handler=_check)
    restore = actions.add_parser(
        "restore",
        help="put back the copy of library.sqlite3 made at the last start (the current one is "
        "kept aside)",
    )
    restore.set_defaults(handler=_restore)
    over = actions.add_parser(
        "start-over",
        help="start an empty library; the old database and indexes are kept aside, not deleted",
    )
    over.add_argument(
        "--keep-workspaces",
        action="store_true",
        help="keep the current database; only set aside indexes that belong to no workspace",
    )
    over.set_defaults(handler=_start_over)


def _paths(args: argparse.Namespace) -> Any:
    from anyllm_desktop.core.paths import AppPaths, resolve_home

    return AppPaths(resolve_home(args.home)).ensure()


def _check(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime

    library = Library(Runtime.open(args.home))  # LibraryProblem: reported by cli.main
    try:
        problems = [*library.warnings]
        problems += [
            h.message for w in library.workspaces() if not (h := library.health(w.name)).ok
        ]
    finally:
        library.close()
    for problem in problems:
        print(f"anyllm: warning: {problem}", file=sys.stderr)
    print("the library is consistent" if not problems else f"{len(problems)} problems found")
    return 1 if problems else 0


def _restore(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.integrity import restore_backup

    print(restore_backup(_paths(args)))
    return 0


def _start_over(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.integrity import start_over

    print(start_over(_paths(args), keep_workspaces=args.keep_workspaces))
    return 0
