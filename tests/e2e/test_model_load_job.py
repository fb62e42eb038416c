"""Loading the chat model is a job like the others: its record shows progress and how it ended
(the reason when it failed), a load a dead process left is interrupted and loads again when
resumed, and it waits for no index writer."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Progress
from anyllm_desktop.core.jobs import KINDS, JobRecord
from anyllm_desktop.services.jobs import JobService
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from tests.cli_runner import run_cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def service(library: Library) -> Iterator[JobService]:
    host = ModelHost(library.runtime.create_chat_provider(provider="local"))
    service = JobService(library, host)
    yield service
    service.close()
    host.close()


def test_loading_the_model_is_recorded_with_progress_and_its_outcome(
    service: JobService, tmp_path: Path
) -> None:
    events = list(service.run("model-load", model=service.runtime.chat_model_name()))
    assert any(isinstance(e, Progress) for e in events)
    assert isinstance(events[-1], Done) and events[-1].result
    job = service.store.recent(1)[0]
    assert (job.kind, job.label, job.workspace, job.state) == (
        "model-load", "Loading the model", "", "done"
    )  # fmt: skip
    assert job.total > 0 and job.started_at and job.finished_at
    host = service.model_host
    assert host is not None and host.provider.loaded  # type: ignore[attr-defined]

    # Switching to a file that is no model fails, and the record says why.
    runtime = service.runtime
    good = runtime.settings
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model" * 1000)
    runtime.settings = replace(good, chat_model=str(broken))
    events = list(service.run("model-load", switch=True))
    assert isinstance(events[-1], Error)
    failed = service.store.recent(1)[0]
    assert failed.state == "failed" and failed.error == events[-1].message
    # Run again once the settings name a good model: the model loads.
    runtime.settings = good
    events = list(service.events(service.again(failed.id), CancelToken()))
    assert isinstance(events[-1], Done) and service.store.recent(1)[0].state == "done"


def test_a_model_load_a_dead_process_left_is_interrupted_and_loads_when_resumed(
    library: Library,
) -> None:
    first = JobService(library)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    left = first.submit("model-load")
    first.store.update(left.id, state="running", pid=int(dead.stdout), message="Loading… 40%")
    first.close()
    host = ModelHost(library.runtime.create_chat_provider(provider="local"))
    again = JobService(library, host)
    try:
        assert [(j.id, j.state) for j in again.interrupted] == [(left.id, "interrupted")]
        events = list(again.events(again.again(left.id), CancelToken()))
        assert isinstance(events[-1], Done) and host.provider.loaded  # type: ignore[attr-defined]
        assert again.store.recent(1)[0].state == "done"
    finally:
        again.close()
        host.close()


def test_a_model_load_waits_for_no_index_writer() -> None:
    load = JobRecord(1, "model-load", "", "")
    assert not KINDS["model-load"].writes_index
    assert not load.conflicts_with(JobRecord(2, "ingest", "A", "uid-a"))
    assert not JobRecord(3, "reembed", "A", "uid-a").conflicts_with(load)


def test_the_command_line_lists_a_model_load_and_leaves_its_resume_to_the_app(
    library: Library, child_env: dict[str, str]
) -> None:
    service = JobService(library)  # as a command's: no model host
    try:
        events = list(service.run("model-load"))
    finally:
        service.close()
    assert isinstance(events[-1], Error) and "anyllm-desktop starts" in events[-1].message

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(child_env, *args)

    (job,) = json.loads(run("jobs", "--json").stdout)["jobs"]
    assert (job["kind"], job["state"]) == ("model-load", "failed")
    assert "Loading the model" in run("jobs").stdout
    resumed = run("jobs", "resume", str(job["id"]))
    assert resumed.returncode != 0 and "anyllm-desktop" in resumed.stderr
    assert len(json.loads(run("jobs", "--json").stdout)["jobs"]) == 1  # no new record
