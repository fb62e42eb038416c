"""GUI start-up time: from launching the process to the main window's first frame.

Baseline, measured in the same run: a bare PySide6 program that opens an empty QMainWindow the same
way, which is the floor any Qt app on this machine pays. Run with:

    .venv/bin/python tests/benchmarks/bench_startup.py [--runs 10]

Uses the display in $DISPLAY when there is one (e.g. Xvfb), else Qt's offscreen platform.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN_DIR = Path(sys.executable).parent
BARE_QT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.show()
QTimer.singleShot(0, app.quit)
app.exec()
"""


def _time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    platform = env.get("QT_QPA_PLATFORM") or f"xcb on {env['DISPLAY']}"
    with tempfile.TemporaryDirectory() as home:
        app = [str(BIN_DIR / "anyllm-desktop"), "--home", home, "--quit-after-start"]
        bare = [sys.executable, "-c", BARE_QT]
        _time(app, env)  # first run warms the OS file cache for both
        _time(bare, env)
        app_times = [_time(app, env) for _ in range(args.runs)]
        bare_times = [_time(bare, env) for _ in range(args.runs)]
    print(f"GUI start-up, process launch to first frame, {args.runs} runs, Qt platform {platform}")
    for name, times in (
        ("anyllm-desktop", app_times),
        ("bare PySide6 window (baseline)", bare_times),
    ):
        print(
            f"  {name:32s} median {statistics.median(times):.3f} s   "
            f"min {min(times):.3f} s   max {max(times):.3f} s"
        )
    print(
        f"  overhead over the baseline: "
        f"{statistics.median(app_times) - statistics.median(bare_times):+.3f} s (target: "
        f"window within 1.5 s)"
    )


if __name__ == "__main__":
    main()
