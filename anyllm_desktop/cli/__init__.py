"""``anyllm``: the command line over the same core as the desktop app (no Qt).

One module per command group, each adding its parsers with ``add_commands``; a handler returns
the exit code or raises :class:`~anyllm_desktop.cli.errors.CommandError`. Heavy modules (the
stores, the engines) are imported inside the handlers, so ``anyllm --version`` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from anyllm_desktop import __version__
from anyllm_desktop.cli import (
    adapters,
    chat,
    dataset,
    doctor,
    documents,
    finetune,
    jobs,
    library,
    mcp_server,
    providers,
    serve,
    summarize,
    workflows,
    workspaces,
)
from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.core.offline import apply_offline_environment

# The order `anyllm --help` lists them in.
_GROUPS = (doctor, workspaces, documents, chat, workflows, summarize, dataset, finetune,
           adapters, jobs, providers, library, serve, mcp_server)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anyllm", description="Chat with your own documents on local models, offline."
    )
    parser.add_argument("--version", action="version", version=f"anyllm-desktop {__version__}")
    parser.add_argument(
        "--home", metavar="DIR", help="data folder (default: $ANYLLM_HOME or the OS data folder)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in _GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CommandError as exc:
        print(f"anyllm: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
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
