"""The one job mechanism: a kind's event source, run with its record kept up to date.

Each kind of job has a source: a function of the job service (its library, runtime and, in
the app, model host), the job's parameters and a cancel token that returns the generator of
events the operation always was (``library.ingest``, ``library.reembed``, ``host.load``, ...).
:meth:`JobService.events` runs one and writes its state, progress and outcome to its record,
so the app's jobs view, the CLI's ``anyllm jobs`` and the next start (which marks what a dead
process left as interrupted, to be resumed) all read the same thing. A later kind (a workflow
run, a training run) registers its source with :func:`register_source`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, FileResult, Progress, ResumeFrom
from anyllm_desktop.core.filenames import path_from_stored, stored_path
from anyllm_desktop.core.jobs import KINDS, JobRecord
from anyllm_desktop.models.local_models import download, import_gguf
from anyllm_desktop.services.workflows.job import workflow_job
from anyllm_desktop.store.jobs import Jobs, process_alive

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.model_host import ModelHost
    from anyllm_desktop.services.runtime import Runtime

Source = Callable[["JobService", dict[str, Any], CancelToken], Iterator[Event]]
#: Progress is written to the record at most this often (a drop of many files: ~10 a second).
WRITE_EVERY_S = 0.5


def _paths(params: dict[str, Any]) -> list[Path]:
    return [path_from_stored(p) for p in params.get("paths", [])]


SOURCES: dict[str, Source] = {
    "ingest": lambda jobs, p, cancel: jobs.library.ingest(p["workspace"], _paths(p), cancel,
                                                          reindex=p.get("reindex", False)),
    "reindex": lambda jobs, p, cancel: jobs.library.reindex(p["workspace"], cancel),
    "reembed": lambda jobs, p, cancel: jobs.library.reembed(p["workspace"], p["model"], cancel,
                                                            agreed=p.get("agreed", False)),
    "remove": lambda jobs, p, cancel: jobs.library.remove_document(p["workspace"], p["document"],
                                                                   cancel),
    "delete": lambda jobs, p, cancel: jobs.library.delete_workspace(p["workspace"], cancel),
    "model-load": lambda jobs, p, cancel: load_model(jobs.model_host, jobs.runtime, p, cancel),
    "model-import": lambda jobs, p, cancel: model_job("model-import", jobs.runtime, p, cancel),
    "model-download": lambda jobs, p, cancel: model_job("model-download", jobs.runtime, p, cancel),
    "workflow": lambda jobs, p, cancel: workflow_job(jobs, p, cancel),
    "training": lambda jobs, p, cancel: _training(jobs, p, cancel),
    "cloud-finetune": lambda jobs, p, cancel: _cloud_finetune(jobs, p, cancel),
}  # fmt: skip


def _training(jobs: JobService, p: dict[str, Any], cancel: CancelToken) -> Iterator[Event]:
    """Imported when a training job runs: JAX takes seconds to import, no other job needs it."""
    from anyllm_desktop.services.training.job import training_job

    return training_job(jobs, p, cancel)


def _cloud_finetune(jobs: JobService, p: dict[str, Any], cancel: CancelToken
                    ) -> Iterator[Event]:  # fmt: skip
    """Imported when a cloud fine-tuning job runs (httpx and the provider formats)."""
    from anyllm_desktop.services.cloud_finetune import cloud_finetune_job

    return cloud_finetune_job(jobs, p, cancel)


def model_job(kind: str, runtime: Runtime, p: dict[str, Any], cancel: CancelToken
              ) -> Iterator[Event]:  # fmt: skip
    """Importing or downloading a model needs no library (the model manager may run one
    before the library is open)."""
    models = runtime.paths.models_dir
    if kind == "model-import":
        return import_gguf(Path(p["path"]), models, cancel, link=p.get("link", False))
    return download(p["url"], models, cancel, sha256=p.get("sha256"),
                    offline=runtime.settings.offline_mode)  # fmt: skip


def load_model(host: ModelHost | None, runtime: Runtime, p: dict[str, Any], cancel: CancelToken
               ) -> Iterator[Event]:  # fmt: skip
    """Loading the chat model into the app's model host (a retry or a resume loads it again).
    ``switch``: the model the settings name now replaces the one served."""
    if host is None:
        yield Error("A chat model is loaded by the app that answers with it: it loads again when "
                    "anyllm-desktop starts (a command loads it for each chat).")  # fmt: skip
        return
    if p.get("switch"):
        yield from switch_local_model(host, runtime, cancel)
    else:
        yield from host.load(cancel)


def switch_local_model(host: ModelHost, runtime: Runtime, cancel: CancelToken,
                       model: str | None = None, *, what: str = "The model"
                       ) -> Iterator[Event]:  # fmt: skip
    """The local ``model`` (default: the one the settings name) replaces the one ``host``
    serves, with its load's progress; an Error saying why ``what`` cannot be used."""
    try:
        provider = runtime.create_chat_provider(provider="local", model=model)
    except (KeyError, OSError, ValueError) as exc:
        yield Error(f"{what} cannot be used: {exc}")
        return
    yield from host.switch(provider, cancel)


def register_source(kind: str, source: Source) -> None:
    """The event source of a new kind of job (its JobKind goes to core.jobs.register_kind)."""
    SOURCES[kind] = source


def paths_param(paths: list[Path]) -> list[str]:
    """Paths as a job's parameters keep them (absolute, as text the database accepts)."""
    return [stored_path(Path(p).expanduser().resolve()) for p in paths]


def _summary(results: list[FileResult]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in ("indexed", "duplicate", "failed")}
    left = len(results) - sum(counts.values())
    text = (
        f"{counts['indexed']} indexed, {counts['duplicate']} already in, {counts['failed']} failed"
    )
    return text + (f", {left} cancelled" if left else "")


class JobService:
    def __init__(self, library: Library, model_host: ModelHost | None = None) -> None:
        self.library = library
        self.runtime = library.runtime
        #: Where model-load jobs load the chat model (the app's; None in a command).
        self.model_host = model_host
        self.store = Jobs(library.runtime.paths.home / "library.sqlite3")
        #: Jobs a process that died left unfinished, marked so at this start.
        self.interrupted = self.store.mark_interrupted(process_alive)

    def close(self) -> None:
        self.store.close()

    def submit(self, kind: str, workspace: str = "", **params: Any) -> JobRecord:
        """A queued job's record (``workspace`` by name; it is kept by uid too)."""
        if kind not in KINDS or kind not in SOURCES:
            raise ValueError(f"unknown kind of job {kind!r}")
        uid = self.library.records.workspace(workspace).uid if workspace else ""
        return self.store.create(kind, workspace, uid, {"workspace": workspace, **params})

    def again(self, job_id: int) -> JobRecord:
        """A new job with the parameters of a finished one (retry, resume)."""
        old = self.store.get(job_id)
        return self.store.create(old.kind, old.workspace, old.workspace_uid, old.params)

    def run(self, kind: str, workspace: str = "", cancel: CancelToken | None = None,
            **params: Any) -> Iterator[Event]:  # fmt: skip
        """Submit and run at once (the CLI)."""
        return self.events(self.submit(kind, workspace, **params), cancel or CancelToken())

    def events(self, job: JobRecord, cancel: CancelToken) -> Iterator[Event]:
        """The job's events, its record kept up to date; ends in a finished state."""
        store, started = self.store, time.time()
        store.update(job.id, state="running", started_at=started, pid=os.getpid())
        written = 0.0
        error = message = ""
        results: list[FileResult] = []
        ended = False
        try:
            for event in SOURCES[job.kind](self, job.params, cancel):
                if isinstance(event, Progress) and (
                    event.stage == "wait" or time.monotonic() - written >= WRITE_EVERY_S
                ):
                    written = time.monotonic()
                    store.update(job.id, done=event.done, total=event.total,
                                 message=event.message, eta_s=event.eta_s)  # fmt: skip
                elif isinstance(event, Error):
                    error = event.message
                elif isinstance(event, FileResult):
                    results.append(event)
                elif isinstance(event, ResumeFrom):
                    store.set_params(job.id, {**job.params, **event.params})
                elif isinstance(event, Done) and not results and isinstance(event.result, list):
                    results = [r for r in event.result if isinstance(r, FileResult)]
                yield event
            ended = True
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if results:
                message = _summary(results)
            # Left early without an error (its reader closed it, Ctrl-C): cancelled too.
            stopped = cancel.cancelled or (not ended and not error)
            state = "cancelled" if stopped else "failed" if error else "done"
            store.update(job.id, state=state, finished_at=time.time(), error=error,
                         message=message or error or state, eta_s=None)  # fmt: skip
            if KINDS[job.kind].writes_index:  # one copy a job, its final record included
                self.library.back_up()
