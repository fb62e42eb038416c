from __future__ import annotations

from collections.abc import Iterator

import pytest

from anyllm_desktop.workers.generator_worker import still_running


@pytest.fixture(autouse=True)
def no_worker_thread_outlives_its_test() -> Iterator[None]:
    """A worker thread still running when the test ends would run on into the next test, and
    one still running at exit aborts the process ("QThread: Destroyed while thread is still
    running"): each test's workers are cancelled and waited for, and the test fails if one
    does not end."""
    yield
    left = still_running()
    for worker in left:
        worker.cancel()
    stuck = [worker for worker in left if not worker.wait(60_000)]
    assert not stuck, (
        f"worker thread(s) did not end after the test: {[w.source_name for w in stuck]}"
    )
