"""`anyllm` commands run inside the test's process: the same ``anyllm_desktop.cli.main`` the
installed command calls, with the child's environment, standard input and output, but without
a new interpreter importing LanceDB and the models' libraries each time (2-3 s a command on
this 2-core machine, over a hundred commands in the suite). The tests where the process itself
is the point (the entry script, signals, kill -9, umask, a second process writing at the same
time, the network guard of a child) start a real one."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback


def run_cli(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """What ``subprocess.run(["anyllm", *args], env=env, input=input)`` gives, in-process: the
    exit status (an uncaught exception is a traceback on stderr and status 1, as a process
    would end), stdout and stderr."""
    from anyllm_desktop.cli import main

    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    streams = sys.stdin, sys.stdout, sys.stderr
    os.environ.clear()
    os.environ.update(env)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(input or ""), out, err
    try:
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors, --help, --version
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        except Exception:
            traceback.print_exc()
            code = 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = streams
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["anyllm", *args], code, _text(out), _text(err))


def _text(stream: io.StringIO) -> str:
    with contextlib.suppress(ValueError):  # closed (the command's reader left: a broken pipe)
        return stream.getvalue()
    return ""
