"""A workflow run killed with SIGKILL half-way resumes without redoing what it finished: the
real ``anyllm run sentiment-table`` over 8 tiny documents with the embedded model, killed once
its progress on a terminal says the fifth document is being asked; ``anyllm jobs`` then shows
the job as interrupted, and ``anyllm jobs resume`` finishes it asking only what was missing
(each output is committed to the step cache as it comes)."""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_ingest_cli import anyllm

pytestmark = pytest.mark.e2e

DOCS = [
    "The kettle boiled in two minutes and the handle stays cool. Lovely.",
    "My order arrived broken and nobody answered my e-mails. Awful.",
    "The invoice for March is attached. Payment is due in 30 days.",
    "Great battery life, I charge the phone once a week. Recommended.",
    "The app crashes every time I open the settings. Very annoying.",
    "The shop is open Monday to Friday from 9:00 to 17:00.",
    "Friendly staff and a quick refund. I will order again.",
    "The chair wobbles and one screw was missing. Disappointed.",
]
KILL_AT = 5  # killed while the 5th document is asked: 4 finished before


def _set_up(env: dict[str, str], folder: Path) -> None:
    folder.mkdir()
    for i, text in enumerate(DOCS):
        (folder / f"note{i + 1}.txt").write_text(text + "\n", encoding="utf-8")
    for command in (("workspace", "create", "W"), ("ingest", "-w", "W", str(folder))):
        done = anyllm(env, *command)
        assert done.returncode == 0, done.stderr


def _kill_when_seen(command: list[str], env: dict[str, str], text: str) -> str:
    """Run ``command`` with its stderr on a terminal (progress is printed only there), read it
    until ``text`` appears, then SIGKILL it; what it had printed."""
    master, slave = os.openpty()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=slave)  # fmt: skip
    os.close(slave)
    seen, deadline = b"", time.monotonic() + 120
    try:
        while text.encode() not in seen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([master], [], [], max(left, 0))
            if not ready:
                pytest.fail(f"no {text!r} within 120 s; printed: {seen.decode()[-300:]!r}")
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed: the command ended
                chunk = b""
            if not chunk:
                pytest.fail(f"the command ended before {text!r}: {seen.decode()[-300:]!r}")
            seen += chunk
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return seen.decode(errors="replace")


def _cached_outputs(home: Path) -> int:
    (path,) = (home / "workspaces" / "workflows").glob("*.sqlite3")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM outputs").fetchone()[0])


def _workflow_jobs(env: dict[str, str]) -> list[dict[str, object]]:
    listed = anyllm(env, "jobs", "--json")
    assert listed.returncode == 0, listed.stderr
    jobs = [j for j in json.loads(listed.stdout)["jobs"] if j["kind"] == "workflow"]
    return sorted(jobs, key=lambda j: int(j["id"]))  # type: ignore[call-overload]


def test_a_killed_run_resumes_and_asks_only_what_it_had_not_finished(
    child_env: dict[str, str], anyllm_home: Path, tmp_path: Path
) -> None:
    _set_up(child_env, tmp_path / "docs")
    command = [sys.executable, "-m", "anyllm_desktop.cli", "run", "sentiment-table", "-w", "W",
               "--json"]  # fmt: skip
    printed = _kill_when_seen(command, child_env, f"document {KILL_AT} of {len(DOCS)}")
    assert "document 1 of 8 · sentiment" in printed
    finished = _cached_outputs(anyllm_home)  # what the killed run committed
    assert KILL_AT - 1 <= finished < len(DOCS)

    (killed,) = _workflow_jobs(child_env)
    assert killed["state"] == "interrupted"
    assert str(killed["message"]).startswith("interrupted: the app stopped before it ended")

    resumed = anyllm(child_env, "jobs", "resume", str(killed["id"]))
    assert resumed.returncode == 0, resumed.stderr
    jobs = _workflow_jobs(child_env)
    assert [j["state"] for j in jobs] == ["interrupted", "done"]
    assert jobs[1]["params"] == killed["params"]

    runs = anyllm(child_env, "runs", "-w", "W", "--json")
    assert runs.returncode == 0, runs.stderr
    run, killed_run = json.loads(runs.stdout)["runs"]  # newest first
    assert killed_run["status"] == "interrupted" and "run it again" in killed_run["error"]
    assert run["status"] == "done"
    shown = anyllm(child_env, "runs", "-w", "W", "--show", str(run["id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)["result"]
    assert sorted(r["document"] for r in result["rows"]) == [f"note{i}.txt" for i in range(1, 9)]
    assert all(r["status"] == "done" for r in result["rows"])
    assert result["cached"] >= finished
    redone = result["model_calls"] - (len(DOCS) - finished)
    assert redone <= 1, result
    assert result["model_calls"] + result["cached"] == len(DOCS)
    assert _cached_outputs(anyllm_home) == len(DOCS)
