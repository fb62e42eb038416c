"""Composition root of the desktop app: settings, services, QApplication, main window.

Only what the first frame needs is imported before the window shows; llama.cpp, fastembed and
LanceDB load afterwards on a worker thread (see ``services.warmup``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from anyllm_desktop import __version__
from anyllm_desktop.core.offline import apply_offline_environment

_STARTED = time.perf_counter()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anyllm-desktop", description="Chat with your own documents, offline."
    )
    parser.add_argument("--version", action="version", version=f"anyllm-desktop {__version__}")
    parser.add_argument(
        "--home", metavar="DIR", help="data folder (default: $ANYLLM_HOME or the OS data folder)"
    )
    parser.add_argument(
        "--quit-after-start",
        action="store_true",
        help="show the window, print the start-up time, and quit (for checks)",
    )
    parser.add_argument("files", nargs="*", type=Path,
                        help="files or folders to add to the workspace shown")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = build_parser().parse_args(argv)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("anyllm-desktop")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("anyllm-desktop")

    runtime = Runtime.open(args.home)
    window = MainWindow(runtime)
    window.show()
    if args.files:  # indexed once the library is open
        window.workspace_actions.add_documents([f.resolve() for f in args.files])

    def on_first_frame() -> None:
        if args.quit_after_start:
            print(f"window shown {time.perf_counter() - _STARTED:.3f} s after start", flush=True)
            window.close()
            app.quit()
        else:
            window.start_warm_up()

    QTimer.singleShot(0, on_first_frame)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
