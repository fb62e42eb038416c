"""Jobs: every long operation has a record (state, progress, outcome) that outlives the process;
a job a killed process left is shown as interrupted at the next start and resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.services.jobs import JobService, paths_param
from anyllm_desktop.services.library import Library
from tests.cli_runner import run_cli
from tests.conftest import BIN_DIR
from tests.e2e.conftest import DATA

pytestmark = pytest.mark.e2e


def test_a_job_records_its_progress_and_outcome(library: Library, tmp_path: Path) -> None:
    service = JobService(library)
    try:
        library.create_workspace("J")
        note = tmp_path / "n.md"
        note.write_text("# N\n\nNotes about jobs.\n", encoding="utf-8")
        missing = tmp_path / "gone.md"
        events = list(service.run("ingest", "J", paths=paths_param([note, missing])))
        assert isinstance(events[-1], Done)
        job = service.store.recent(1)[0]
        assert (job.kind, job.workspace, job.state) == ("ingest", "J", "done")
        assert job.message == "1 indexed, 0 already in, 1 failed"
        assert job.started_at and job.finished_at and job.pid == os.getpid()
        cancel = CancelToken()
        cancel.cancel()
        list(service.run("reindex", "J", cancel))
        assert service.store.recent(1)[0].state == "cancelled"
    finally:
        service.close()


def test_writers_of_one_workspace_conflict_and_others_do_not() -> None:
    ingest = JobRecord(1, "ingest", "A", "uid-a")
    assert ingest.conflicts_with(JobRecord(2, "reembed", "A", "uid-a"))
    assert not ingest.conflicts_with(JobRecord(3, "ingest", "B", "uid-b"))
    assert not ingest.conflicts_with(JobRecord(4, "model-download", "", ""))


def test_a_killed_ingest_is_interrupted_and_resumes_from_the_command_line(
    child_env: dict[str, str], anyllm_home: Path, guide_excerpt: Path
) -> None:
    anyllm = str(BIN_DIR / "anyllm")
    assert run_cli(child_env, "workspace", "create", "K").returncode == 0
    sources = (DATA / "debian-faq-archives.html", DATA / "nodejs-string-decoder.md", guide_excerpt)
    files = [str(source) for source in sources]
    child = subprocess.Popen([anyllm, "ingest", "-w", "K", *files], env=child_env,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None and child.stdout.readline().startswith("indexed")
    child.send_signal(signal.SIGKILL)
    child.wait(30)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(child_env, *args)  # after the kill: in this process

    (job,) = json.loads(run("jobs", "--json").stdout)["jobs"]
    assert (job["kind"], job["workspace"], job["state"]) == ("ingest", "K", "interrupted")
    assert "interrupted" in run("jobs").stdout
    resumed = run("jobs", "resume", str(job["id"]))
    assert resumed.returncode == 0, resumed.stderr
    assert "indexed" in resumed.stdout
    latest = json.loads(run("jobs", "--json", "-n", "1").stdout)["jobs"][0]
    assert latest["state"] == "done" and latest["params"] == job["params"]
    docs = json.loads(run("docs", "-w", "K", "--json").stdout)["documents"]
    assert len(docs) == 3 and {d["status"] for d in docs} == {"indexed"}
