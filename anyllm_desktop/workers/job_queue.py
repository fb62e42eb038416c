"""The app's jobs on worker threads: queued in order, one index writer per workspace at a time.

Every long operation of the window goes through :meth:`JobQueue.submit`: its record is made
(``queued``), and it starts as soon as no job it conflicts with (core/jobs.py) runs; until then
its record says what it waits for. Events reach the GUI thread through ``event``; ``changed``
tells the jobs view that a record changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Signal

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Event
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.services.jobs import JobService
from anyllm_desktop.workers.generator_worker import GeneratorWorker

Starter = Callable[[Callable[[CancelToken], Iterator[Event]]], GeneratorWorker]


class JobQueue(QObject):
    #: (job record as submitted, event) for every event of a job.
    event = Signal(object, object)
    #: A job's record changed (queued, started, finished).
    changed = Signal(object)
    #: A job ended (its final record).
    finished = Signal(object)

    def __init__(self, service: JobService, start: Starter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._start_worker = start
        self._pending: list[JobRecord] = []
        self._running: dict[int, tuple[JobRecord, GeneratorWorker]] = {}

    def submit(self, kind: str, workspace: str = "", **params: Any) -> JobRecord:
        """Queue a job; it starts at once unless a job it conflicts with runs or waits."""
        job = self.service.submit(kind, workspace, **params)
        self._pending.append(job)
        self.changed.emit(job)
        self._schedule()
        return job

    def retry(self, job_id: int) -> JobRecord:
        """Run a finished (failed, cancelled, interrupted) job again with its parameters."""
        job = self.service.again(job_id)
        self._pending.append(job)
        self.changed.emit(job)
        self._schedule()
        return job

    def cancel(self, job_id: int) -> None:
        for job in list(self._pending):
            if job.id == job_id:
                self._pending.remove(job)
                self.service.store.update(job.id, state="cancelled", message="cancelled")
                self.changed.emit(self.service.store.get(job.id))
        if job_id in self._running:
            self._running[job_id][1].cancel()

    def cancel_where(self, test: Callable[[JobRecord], bool]) -> None:
        for job in [*self._pending, *(j for j, _ in self._running.values())]:
            if test(job):
                self.cancel(job.id)

    def worker_of(self, job_id: int) -> GeneratorWorker | None:
        running = self._running.get(job_id)
        return running[1] if running else None

    def active(self) -> list[JobRecord]:
        """Running and queued jobs, in order."""
        return [*(j for j, _ in self._running.values()), *self._pending]

    @property
    def running_count(self) -> int:
        return len(self._running)

    @property
    def waiting_count(self) -> int:
        return len(self._pending)

    def records(self, limit: int = 100) -> list[JobRecord]:
        """Every job's record, newest first (this app's and other processes')."""
        return self.service.store.recent(limit)

    def _schedule(self) -> None:
        ahead: list[JobRecord] = [job for job, _ in self._running.values()]
        for job in list(self._pending):
            blocker = next((other for other in ahead if job.conflicts_with(other)), None)
            ahead.append(job)
            if blocker is not None:
                waiting = f"waiting for “{blocker.describe()}” to finish"
                if self.service.store.get(job.id).message != waiting:
                    self.service.store.update(job.id, message=waiting)
                    self.changed.emit(self.service.store.get(job.id))
                continue
            self._pending.remove(job)
            self._run(job)

    def _run(self, job: JobRecord) -> None:
        service = self.service
        worker = self._start_worker(lambda cancel: service.events(job, cancel))
        self._running[job.id] = (job, worker)
        worker.event.connect(lambda event: self.event.emit(job, event))
        worker.finished.connect(lambda: self._ended(job))
        self.changed.emit(service.store.get(job.id))

    def _ended(self, job: JobRecord) -> None:
        self._running.pop(job.id, None)
        record = self.service.store.get(job.id)
        self.changed.emit(record)
        self.finished.emit(record)
        self._schedule()
