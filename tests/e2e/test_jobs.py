"""Jobs: every long operation has a record (state, progress, outcome) that outlives the process;
a job a killed process left is shown as interrupted at the next start and resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Progress
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.services.jobs import JobService, paths_param
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
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


_CHILD = """
import sys
from pathlib import Path
from anyllm_desktop.core.events import FileResult
from anyllm_desktop.services.jobs import JobService, paths_param
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime

library = Library(Runtime.open())
service = JobService(library)
for event in service.run("ingest", "K", paths=paths_param([Path(p) for p in sys.argv[1:]])):
    if isinstance(event, FileResult):
        print("file", flush=True)
"""


def test_a_killed_job_is_interrupted_at_the_next_start_and_resumes(
    child_env: dict[str, str], anyllm_home: Path
) -> None:
    library = Library(Runtime.open(anyllm_home))
    library.create_workspace("K")
    library.close()
    names = ("debian-faq-archives.html", "nodejs-string-decoder.md", "reportlab-userguide.pdf")
    files = [str(DATA / name) for name in names]
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_CHILD), *files],
                             env=child_env, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None and child.stdout.readline() == "file\n"
    child.send_signal(signal.SIGKILL)
    child.wait(30)

    library = Library(Runtime.open(anyllm_home))
    service = JobService(library)
    try:
        (job,) = service.interrupted
        assert job.kind == "ingest" and job.state == "interrupted"
        assert "interrupted" in job.message
        events = list(service.events(service.again(job.id), CancelToken()))
        assert any(isinstance(e, Progress) for e in events)
        assert service.store.recent(1)[0].state == "done"
        documents = library.documents("K")
        assert len(documents) == 3 and {d.status for d in documents} == {"indexed"}
    finally:
        service.close()
        library.close()
