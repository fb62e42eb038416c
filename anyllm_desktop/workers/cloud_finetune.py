"""What the cloud fine-tuning dialog needs from the services: the providers that can fine-tune,
the kept datasets, the agreement's terms, and the "cloud-finetune" job run on the app's job
queue (the jobs view lists it), its events turned into plain signals for one dialog.

A job started by an earlier run of the app (or a command) that the provider still runs is
followed again with :meth:`CloudFinetuneRunner.follow` (the remote id is kept in the library).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from anyllm_desktop.core.events import CONSENT_REQUIRED, Done, Error, Event, Progress
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.providers.cloud_formats import OpenAICompatibleProvider
from anyllm_desktop.providers.cloud_presets import KINDS
from anyllm_desktop.services.cloud_finetune import agreement
from anyllm_desktop.services.cloud_providers import extra_models
from anyllm_desktop.services.datasets import DatasetStore
from anyllm_desktop.store.cloud_finetunes import CloudFinetune, CloudFinetunes

if TYPE_CHECKING:
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.workers.job_queue import JobQueue

__all__ = ["CloudFinetune", "CloudFinetuneRunner", "FinetuneProvider", "Terms"]


@dataclass(frozen=True)
class FinetuneProvider:
    name: str
    #: Its default model first, then the models fine-tuned there before.
    models: list[str]


@dataclass(frozen=True)
class Terms:
    """What starting would send (``agree`` True: ask the person with ``message``), or why it
    cannot start (``agree`` False)."""

    message: str
    agree: bool


class CloudFinetuneRunner(QObject):
    #: (message, done, total): a step of the job (total 0 when the provider gave no count).
    progress = Signal(str, int, int)
    #: The job failed, with its message (the provider's reason for a failed remote job).
    failed = Signal(str)
    #: The job's result: provider, job, fine_tuned_model, trained_tokens.
    succeeded = Signal(dict)
    #: The job's record ended (done, failed, cancelled).
    ended = Signal(object)

    def __init__(self, runtime: Runtime, jobs: JobQueue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime, self.jobs = runtime, jobs
        self.job: JobRecord | None = None
        jobs.event.connect(self._on_event)
        jobs.finished.connect(self._on_finished)

    def providers(self) -> list[FinetuneProvider]:
        """The configured providers with the OpenAI fine-tuning API (OpenAI and compatible)."""
        found = []
        for config in self.runtime.settings.providers:
            if KINDS[config["kind"]].provider is OpenAICompatibleProvider:
                models = [m for m in [config.get("model", ""), *extra_models(config)] if m]
                found.append(FinetuneProvider(config["name"], models))
        return found

    def datasets(self) -> list[tuple[str, int]]:
        """(name, examples) of each kept dataset."""
        cards = DatasetStore(self.runtime.paths).cards()
        return [(c.name, c.counts.get("examples", c.counts.get("train", 0))) for c in cards]

    def unfinished(self, provider: str) -> list[CloudFinetune]:
        """Jobs started on ``provider`` before that have not been seen to end, newest first."""
        records = CloudFinetunes(self.runtime.paths.home / "library.sqlite3")
        try:
            return records.unfinished(provider)
        finally:
            records.close()

    def terms(self, params: dict[str, Any]) -> Terms:
        """The agreement for starting with ``params`` (provider, model, dataset or data):
        the host and how many examples leave the machine. Reads the examples, sends nothing."""
        said = agreement(self.runtime, params)
        return Terms(said.message, said.detail == CONSENT_REQUIRED)

    def start(self, params: dict[str, Any]) -> JobRecord:
        """Upload and start, agreed (after :meth:`terms`); follow it on the signals."""
        self.job = self.jobs.submit("cloud-finetune", **{**params, "agreed": True})
        return self.job

    def follow(self, provider: str, remote_id: str) -> JobRecord:
        """Poll a job started before to its end (nothing is uploaded again)."""
        self.job = self.jobs.submit("cloud-finetune", provider=provider, resume=remote_id)
        return self.job

    def cancel(self) -> None:
        """Cancels the job on the provider too (its next look sends the cancel)."""
        if self.job is not None:
            self.jobs.cancel(self.job.id)

    def _on_event(self, job: JobRecord, event: Event) -> None:
        if self.job is None or job.id != self.job.id:
            return
        if isinstance(event, Progress):
            self.progress.emit(event.message, event.done, event.total)
        elif isinstance(event, Error):
            self.failed.emit(event.message)
        elif isinstance(event, Done) and isinstance(event.result, dict):
            self.succeeded.emit(event.result)

    def _on_finished(self, job: JobRecord) -> None:
        if self.job is not None and job.id == self.job.id:
            self.job = None
            self.ended.emit(job)
