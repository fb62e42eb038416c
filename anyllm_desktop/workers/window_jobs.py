"""The window's jobs: indexing, re-indexing, re-embedding, removals and the model load, each
submitted to the job queue (recorded, queued behind a writer of the same workspace, cancellable,
run again from the jobs view), and their events sent to the signals the window watches. A part
of :class:`workers.backend.Backend`, which supplies the queue, the signals and the timer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anyllm_desktop.core.events import Error, Event, FileResult, Progress
from anyllm_desktop.core.filenames import path_from_stored
from anyllm_desktop.core.jobs import KINDS, JobRecord
from anyllm_desktop.core.workspace import Document
from anyllm_desktop.services.jobs import paths_param

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer, SignalInstance

    from anyllm_desktop.services.jobs import JobService
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.workers.generator_worker import GeneratorWorker
    from anyllm_desktop.workers.job_queue import JobQueue


class WindowJobs:
    runtime: Runtime
    jobs: JobQueue | None
    _job_service: JobService | None
    _changed_soon: set[str]
    _changed_timer: QTimer
    model_event: SignalInstance
    served_model: str
    ingest_event: SignalInstance
    documents_changed: SignalInstance
    workspaces_changed: SignalInstance

    def _jobs(self) -> JobQueue:
        assert self.jobs is not None, "Backend.start() has not finished"
        return self.jobs

    def load_model(self, *, switch: bool = False) -> GeneratorWorker:
        """Load the chat model (a job: in the jobs view, its events on ``model_event``); with
        ``switch``, the configured model replaces the one served. It waits for no other job."""
        jobs = self._jobs()
        self.served_model = self.runtime.settings.chat_model
        job = jobs.submit("model-load", switch=switch, model=self.runtime.chat_model_name())
        worker = jobs.worker_of(job.id)
        assert worker is not None, "a model load conflicts with no job"
        return worker

    def switch_model(self) -> GeneratorWorker:
        """Unload the current model and load the configured one, with progress."""
        return self.load_model(switch=True)

    def delete_workspace(self, name: str) -> JobRecord:
        """Cancel this app's jobs on the workspace, then delete it once its writer (here or in
        another process) is done."""
        jobs = self._jobs()
        jobs.cancel_where(lambda job: job.workspace == name)
        return jobs.submit("delete", name)

    def reembed_workspace(self, workspace: str, model_id: str, *, agreed: bool = False) -> None:
        """Switch the workspace's embedder: its passages are embedded again (a job: progress
        and cancel in the documents panel, after any indexing of it); the old index serves
        until the new one is complete. ``agreed``: the user accepted
        :meth:`cloud_embedding_terms`."""
        self._jobs().submit("reembed", workspace, model=model_id, agreed=agreed)

    def reindex_workspace(self, workspace: str) -> None:
        """Chunk and embed every document of the workspace again from its file (after a
        chunking change, or to repair a lost or damaged index); queued like a drop."""
        self._jobs().submit("reindex", workspace)

    def ingest(self, workspace: str, paths: Sequence[Path]) -> None:
        """Index files and folders; drops made while one is indexing wait their turn."""
        self._jobs().submit("ingest", workspace, paths=paths_param(list(paths)))

    def cancel_ingest(self) -> None:
        """Cancel every indexing, re-indexing and re-embedding job, running or queued."""
        kinds = {"ingest", "reindex", "reembed"}
        self._jobs().cancel_where(lambda job: job.kind in kinds)

    @property
    def ingest_worker(self) -> GeneratorWorker | None:
        """The worker of a running job that writes an index (None when none runs or waits)."""
        if self.jobs is None:
            return None
        for job in self.jobs.active():
            if KINDS[job.kind].writes_index and (worker := self.jobs.worker_of(job.id)):
                return worker
        return None

    def remove_document(self, workspace: str, document_id: int) -> JobRecord:
        """Remove it once the workspace's writer is done (a job: LanceDB deletes)."""
        return self._jobs().submit("remove", workspace, document=document_id)

    def reindex_document(self, workspace: str, document: Document) -> None:
        """Index the file again from disk (after it changed, or after a failure); its old
        passages serve until the new ones are in."""
        paths = paths_param([path_from_stored(document.path)])
        self._jobs().submit("ingest", workspace, paths=paths, reindex=True)

    def interrupted_jobs(self) -> list[JobRecord]:
        """Jobs a process that died left unfinished (found at this start)."""
        return list(self._job_service.interrupted) if self._job_service else []

    def _on_job_event(self, job: JobRecord, event: Event) -> None:
        """A model load's events go where the model's state shows, index jobs' where indexing
        shows (a removal's end needs no word; a workflow run, a writer of its workspace, is
        followed by its panel)."""
        if job.kind == "model-load":
            self.model_event.emit(event)
        if not KINDS[job.kind].writes_index or job.kind == "workflow":
            return
        if job.kind in ("remove", "delete") and not isinstance(event, Progress | Error):
            return
        self.ingest_event.emit(job.workspace, event)
        if isinstance(event, FileResult) and event.status == "indexed":
            self._changed_soon.add(job.workspace)
            if not self._changed_timer.isActive():
                self._changed_timer.start()

    def _emit_documents_changed(self) -> None:
        """Files indexed in the last second: one refresh of their lists and of the counts."""
        names, self._changed_soon = self._changed_soon, set()
        for name in names:
            self.documents_changed.emit(name)

    def _on_job_finished(self, job: JobRecord) -> None:
        if KINDS[job.kind].writes_index:
            self._changed_soon.discard(job.workspace)
            self.documents_changed.emit(job.workspace)
            self.workspaces_changed.emit()
