"""The GUI's one door to the services.

The UI imports workers and core only (an import-linter contract that also counts imports made
for type checking): the few service types it names — ``Runtime`` here, ``LocalModel`` in
``models_and_providers`` — it names through workers.

``Backend`` owns the Library (SQLite, LanceDB, embedders), the model host and the chat service.
It opens them on a worker thread after the window shows; every long operation runs as a
:class:`GeneratorWorker` — the ones with a record (indexing, removals, loading the model) as jobs
of the queue (``window_jobs``), an answer directly — and quick reads (lists of workspaces,
threads, documents, messages: a few SQLite rows) answer directly. Widgets get plain core
dataclasses, never a service object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import Message, ThreadInfo
from anyllm_desktop.core.events import LIBRARY_PROBLEM, Done, Error, Event, Progress
from anyllm_desktop.core.settings import Settings
from anyllm_desktop.core.workspace import Document, Workspace
from anyllm_desktop.services.export import export_thread
from anyllm_desktop.services.index_health import IndexProblem
from anyllm_desktop.services.integrity import LibraryProblem, restore_backup, start_over
from anyllm_desktop.services.jobs import JobService, switch_local_model
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.storage_errors import explain as explain_storage_error
from anyllm_desktop.services.warmup import warm_up
from anyllm_desktop.workers.generator_worker import GeneratorWorker, source_name
from anyllm_desktop.workers.job_queue import JobQueue
from anyllm_desktop.workers.models_and_providers import ModelsAndProviders
from anyllm_desktop.workers.quick_actions import QuickActions
from anyllm_desktop.workers.training import TrainingActions
from anyllm_desktop.workers.window_jobs import WindowJobs
from anyllm_desktop.workers.workflows import WorkflowActions
from anyllm_desktop.workers.workspace_locations import WorkspaceLocations

if TYPE_CHECKING:
    from anyllm_desktop.services.chat import ChatService
    from anyllm_desktop.services.library import Library


class Backend(
    ModelsAndProviders, WorkflowActions, TrainingActions, QuickActions, WindowJobs,
    WorkspaceLocations, QObject,
):  # fmt: skip
    #: The library and chat service are open: lists and asking work from now on.
    ready = Signal()
    #: Start-up or model events (Progress, Error, Done) for the status bar.
    startup_event = Signal(object)
    model_event = Signal(object)
    workspaces_changed = Signal()
    #: A workspace's documents changed (its name).
    documents_changed = Signal(str)
    threads_changed = Signal(str)
    #: An indexing job's events: (workspace name, event).
    ingest_event = Signal(str, object)

    def __init__(self, runtime: Runtime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.library: Library | None = None
        self.chat: ChatService | None = None
        #: The local model the model host serves (or is loading): the settings' at start, a
        #: workspace's own once one answers with it.
        self.served_model = runtime.settings.chat_model
        self._workers: set[GeneratorWorker] = set()
        #: Every long operation of the window (after start-up): see workers/job_queue.py.
        self.jobs: JobQueue | None = None
        self._job_service: JobService | None = None
        #: Workspaces whose documents changed, told at most once a second.
        self._changed_soon: set[str] = set()
        self._changed_timer = QTimer(self)
        self._changed_timer.setSingleShot(True)
        self._changed_timer.setInterval(1000)
        self._changed_timer.timeout.connect(self._emit_documents_changed)
        self._shut_down = False

    # -- start-up ---------------------------------------------------------------------------

    def start(self) -> GeneratorWorker:
        """Verify models, import the engines and open the library, off the GUI thread."""
        worker = self._start(self._open, self.startup_event)
        worker.finished.connect(self._after_open)
        return worker

    def _open(self, cancel: CancelToken) -> Iterator[Event]:
        from anyllm_desktop.services.chat import ChatService
        from anyllm_desktop.services.library import Library
        from anyllm_desktop.services.model_host import ModelHost

        for event in warm_up(self.runtime, cancel):
            if isinstance(event, Done):
                break
            yield event
            if isinstance(event, Error):
                return
        yield Progress("open", 0, 0, "Opening the library…")
        try:
            library = Library(self.runtime)
        except LibraryProblem as exc:  # the window offers the ways out
            yield Error(str(exc), detail=f"{LIBRARY_PROBLEM}{exc.kind}")
            return
        for warning in library.warnings:
            yield Progress("warning", 0, 0, warning)
        host = ModelHost(self.runtime.create_chat_provider(provider="local"))
        self._job_service = JobService(library, host)
        self.library, self.chat = library, ChatService(library, host)
        yield Done(None)

    def repair_library(self, keep_backup: bool) -> GeneratorWorker:
        """Put back the database's copy (``keep_backup``) or start over with the old indexes
        set aside, then open the library again."""
        paths = self.runtime.paths

        def source(cancel: CancelToken) -> Iterator[Event]:
            try:
                done = restore_backup(paths) if keep_backup else start_over(paths)
            except (LibraryProblem, OSError) as exc:
                yield Error(str(exc))
                return
            yield Done(done)

        worker = self._start(source)
        worker.finished.connect(self.start)
        return worker

    def _after_open(self) -> None:
        # The window may have closed before this queued signal arrived: the host is closed then.
        if self.chat is None or self._shut_down:
            return
        if self.jobs is None and self._job_service is not None:
            self.jobs = JobQueue(self._job_service, self._start, self)
            self.jobs.event.connect(self._on_job_event)
            self.jobs.finished.connect(self._on_job_finished)
        self.ready.emit()
        self.workspaces_changed.emit()
        self.load_model()

    @property
    def is_ready(self) -> bool:
        """The library is open and the job queue made (on the GUI thread, once the start-up
        worker's end arrived there): lists, asking and jobs work from now on."""
        return self.chat is not None and self.jobs is not None

    def _chat(self) -> ChatService:
        assert self.chat is not None, "Backend.start() has not finished"
        return self.chat

    def _library(self) -> Library:
        assert self.library is not None, "Backend.start() has not finished"
        return self.library

    def _start(self, source: Any, signal: Any = None) -> GeneratorWorker:
        home = self.runtime.paths.home

        def said(cancel: CancelToken) -> Iterator[Event]:
            """A store's or the disk's failure as a message, not 'Unexpected error'."""
            try:
                yield from source(cancel)
            except (IndexProblem, LibraryProblem) as exc:
                yield Error(str(exc))
            except Exception as exc:
                message = explain_storage_error(exc, home)
                if message is None:
                    raise
                yield Error(message)

        worker = GeneratorWorker(said, self, name=source_name(source))
        if signal is not None:
            worker.event.connect(signal)
        self._workers.add(worker)
        worker.finished.connect(lambda: self._workers.discard(worker))
        worker.start()
        return worker

    def shutdown(self) -> None:
        """Cancel and wait for every worker, then close the stores (at window close)."""
        self._shut_down = True
        if self.jobs is not None:
            self.jobs.cancel_where(lambda job: True)
        for worker in list(self._workers):
            worker.cancel()
        for worker in list(self._workers):
            worker.wait()
        if self.chat is not None:
            self.chat.host.close()
        if self._job_service is not None:
            self._job_service.close()
        if self.library is not None:
            self.library.close()

    # -- quick reads and edits (GUI thread: a few SQLite rows) ----------------------------------

    def workspaces(self) -> list[tuple[Workspace, dict[str, int]]]:
        """Workspaces with how many of their documents are in each status, as the documents
        table lists them (two queries, not one a workspace)."""
        library = self._library()
        tallies = library.records.document_tallies()
        return [(w, tallies.get(w.id, {})) for w in library.workspaces()]

    def create_workspace(self, name: str) -> Workspace:
        workspace = self._library().create_workspace(name)
        self.workspaces_changed.emit()
        return workspace

    def rename_workspace(self, name: str, new_name: str) -> None:
        self._library().rename_workspace(name, new_name)
        self.workspaces_changed.emit()

    def workspace(self, name: str) -> Workspace:
        return self._library().workspace(name)

    def check_workspace_settings(
        self, name: str, *, chat: dict[str, Any], retrieval: dict[str, Any]
    ) -> None:
        """Raise ValueError (with the reason) unless both sets of changes are valid."""
        workspace = self.workspace(name)
        replace(workspace.chat, **chat)
        replace(workspace.retrieval, **retrieval)

    def update_chat_settings(self, name: str, **changes: Any) -> Workspace:
        return self._library().update_chat(name, **changes)

    def update_retrieval_settings(self, name: str, **changes: Any) -> Workspace:
        return self._library().update_retrieval(name, **changes)

    def documents(self, name: str) -> list[Document]:
        return self._library().documents(name)

    def threads(self, name: str) -> list[ThreadInfo]:
        library = self._library()
        return library.threads.of_workspace(library.workspace(name).id)

    def messages(self, thread_id: int) -> list[Message]:
        return self._library().threads.messages(thread_id)

    def answer_versions(self, thread_id: int) -> list[Message]:
        """The kept answers to the chat's last question (Regenerate adds one)."""
        return self._library().threads.versions(thread_id)

    def choose_version(self, thread_id: int, answer_id: int) -> None:
        self._library().threads.choose_version(thread_id, answer_id)

    def rate_answer(self, message_id: int, rating: int, correction: str | None = None) -> Message:
        """Keep the user's Good/Wrong and correction of an answer (a training example's source)."""
        return self._library().threads.rate(message_id, rating, correction)

    def rename_thread(self, thread_id: int, title: str) -> None:
        thread = self._library().threads.rename(thread_id, title)
        self.threads_changed.emit(self._workspace_name(thread.workspace_id))

    def delete_thread(self, thread_id: int) -> None:
        threads = self._library().threads
        name = self._workspace_name(threads.get(thread_id).workspace_id)
        threads.delete(thread_id)
        self.threads_changed.emit(name)

    def export_thread(self, thread_id: int, fmt: str) -> str:
        threads = self._library().threads
        return export_thread(threads.get(thread_id), threads.messages(thread_id), fmt)

    def _workspace_name(self, workspace_id: int) -> str:
        return self._library().records.workspace_by_id(workspace_id).name

    @property
    def model_name(self) -> str:
        """The local model served now (a workspace may have its own)."""
        return self.runtime.chat_model_name(self.served_model)

    @property
    def provider_name(self) -> str:
        if self.chat is None:
            return self.runtime.settings.default_provider
        return self.chat.host.provider.name

    # -- settings and models ----------------------------------------------------------------------

    def save_settings(self, settings: Settings) -> None:
        """Store the settings; a changed model or engine setting reloads the model (worker)."""
        old = self.runtime.settings
        self.runtime.settings_store.save(settings)
        self.runtime.settings = settings
        engine = ("chat_model", "context_size", "threads", "gpu_layers", "flash_attention",
                  "lora_path")  # fmt: skip
        if self.chat is not None and any(getattr(old, k) != getattr(settings, k) for k in engine):
            self.switch_model()

    def cloud_embedding_terms(self, workspace: str, model_id: str) -> str | None:
        """What a cloud embedder would be sent, and where (None for a local model); raises
        RuntimeError with the reason when it is refused. Quick: nothing is sent."""
        return self._library().cloud_embedding_terms(workspace, model_id)

    def check_index(self, workspace: str) -> GeneratorWorker:
        """Done(message) when the workspace's index lost passages or is damaged, Done("")
        when it is fine (a scan of one column: off the GUI thread)."""
        library = self._library()
        return self._start(lambda cancel: iter([Done(library.health(workspace).message)]))

    # -- long operations (worker threads) -------------------------------------------------------

    def ask(self, workspace: str, question: str, thread_id: int | None) -> GeneratorWorker:
        chat = self._chat()
        return self._answer_worker(
            workspace,
            lambda cancel, provider: chat.ask(
                workspace, question, thread_id=thread_id, cancel=cancel, provider=provider
            ),
        )

    def regenerate(self, workspace: str, thread_id: int) -> GeneratorWorker:
        chat = self._chat()
        return self._answer_worker(
            workspace, lambda cancel, provider: chat.regenerate(thread_id, cancel, provider)
        )

    def edit_and_resend(
        self, workspace: str, thread_id: int, message_id: int, text: str
    ) -> GeneratorWorker:
        chat = self._chat()
        return self._answer_worker(
            workspace,
            lambda cancel, provider: chat.edit_and_resend(
                thread_id, message_id, text, cancel, provider
            ),
        )

    def _answer_worker(self, workspace: str, turn: Any) -> GeneratorWorker:
        """A turn answered by the workspace's provider (a cloud one is created per turn)."""
        chosen = self.workspace(workspace).chat
        name = self.answering_provider(workspace)
        runtime = self.runtime

        def source(cancel: CancelToken) -> Iterator[Event]:
            provider = None
            if name == "local" and (model := chosen.model or runtime.settings.chat_model) != (
                self.served_model
            ):
                yield from self._serve(model, cancel)
                if self.served_model != model:
                    return
            if name != "local":
                try:
                    provider = runtime.create_chat_provider(
                        provider=name, model=chosen.model or None
                    )
                except (KeyError, ValueError, RuntimeError) as exc:
                    yield Error(str(exc))
                    return
            yield from turn(cancel, provider)

        worker = self._start(source)
        worker.finished.connect(lambda: self.threads_changed.emit(workspace))
        return worker

    def _serve(self, model: str, cancel: CancelToken) -> Iterator[Event]:
        """The workspace's own local model replaces the one served (the model host holds one);
        its load's progress and failure are the answer's."""
        assert self.chat is not None
        switch = switch_local_model(self.chat.host, self.runtime, cancel, model,
                                    what="The workspace's model")  # fmt: skip
        for event in switch:
            if isinstance(event, Error):
                yield event
                return
            if isinstance(event, Progress):
                yield event
        self.served_model = model
        self.model_event.emit(Done(model))  # the status bar names it

    def answering_model(self, workspace: str) -> tuple[str, str]:
        """(provider, model id) answering in ``workspace``; a local model id names the file,
        "" a cloud provider's default."""
        chat = self.workspace(workspace).chat
        provider = self.answering_provider(workspace)
        if provider == "local":
            return provider, chat.model or self.runtime.settings.chat_model
        return provider, chat.model

    def answering_provider(self, workspace: str) -> str:
        """The workspace's own choice, else the app's default provider."""
        return self.workspace(workspace).chat.provider or self.runtime.settings.default_provider

    def agree_to_cloud(self, workspace: str) -> None:
        """Remember that this workspace's passages may go to its cloud provider."""
        name, chat = self.answering_provider(workspace), self.workspace(workspace).chat
        if name != "local" and name not in chat.cloud_consent:
            self.update_chat_settings(workspace, cloud_consent=[*chat.cloud_consent, name])
