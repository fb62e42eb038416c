"""Workspaces, their documents and search: the records, the vectors and the embedders together."""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.core.priority import CorePriority
from anyllm_desktop.core.redaction import Redactions
from anyllm_desktop.core.workspace import Document, Workspace
from anyllm_desktop.ingest.tokens import TokenCounter
from anyllm_desktop.providers.base import Embedder
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.providers.model_ids import UnknownModelError
from anyllm_desktop.providers.registry import model_kind
from anyllm_desktop.services import integrity, reembedding
from anyllm_desktop.services.index_health import IndexHealth, index_errors
from anyllm_desktop.services.outbound import OutboundLog, embedding_refusal
from anyllm_desktop.services.retriever import Retriever, SearchResult
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.shared_workspaces import SharedStores
from anyllm_desktop.store.embedding_cache import EmbeddingCache
from anyllm_desktop.store.locations import forget
from anyllm_desktop.store.records import Records
from anyllm_desktop.store.threads import Threads
from anyllm_desktop.store.vectors import VectorStore
from anyllm_desktop.store.writer_lock import HeldLock, WriterLocks


class Library:
    def __init__(self, runtime: Runtime) -> None:
        """Open the library; raises integrity.LibraryProblem (with what to do) when its
        database is damaged or does not belong to its indexes."""
        self.runtime = runtime
        paths = runtime.paths
        database = integrity.database_file(paths)
        self.records = Records(database)
        self.threads = Threads(database)
        self.vectors = VectorStore(integrity.vector_folder(paths))
        try:
            #: Messages for the user about the library's state (shown like settings warnings).
            self.warnings = integrity.check_library(paths, self.records, self.vectors)
        except integrity.LibraryProblem:
            self.records.close()
            self.threads.close()
            raise
        self.back_up()
        self.locks = WriterLocks(paths.workspaces_dir / "locks")
        self.cache = EmbeddingCache(paths.cache_dir / "embeddings.sqlite3")
        self.retriever = Retriever(self)
        #: Workspaces kept on object storage, shared with other homes.
        self.shared = SharedStores(self)
        if self.cache.rebuilt:
            self.warnings.append(self.cache.rebuilt.capitalize() + ".")
        #: Answers being generated make background embedding wait (the cores are theirs).
        self.priority = CorePriority()
        self.outbound_log = OutboundLog(runtime.paths.logs_dir)
        self._embedders: dict[tuple[str, int, bool], Embedder] = {}
        self._counters: dict[str, TokenCounter] = {}
        self._dims: dict[str, int] = {}

    def close(self) -> None:
        # Asked before the connections close: closing the last one folds the WAL into the
        # database (new file times, the same content), which would look like a change.
        current = integrity.copy_is_current(self.runtime.paths)
        self.records.close()
        self.threads.close()
        self.cache.close()
        if not current:
            integrity.back_up(self.runtime.paths)
            return
        with contextlib.suppress(OSError):  # dated after the fold: the next open copies nothing
            integrity.backup_file(self.runtime.paths).touch()

    def back_up(self) -> None:
        """Copy the database to ``library.sqlite3.bak`` (what ``anyllm library restore`` puts
        back) unless the copy is current: at open, at close, and when a write job ends."""
        integrity.back_up(self.runtime.paths)

    # -- models -------------------------------------------------------------------------------

    def embedder(self, model_id: str, workspace: Workspace | None = None) -> Embedder:
        """The embedder for ``model_id``. A cloud one serves one workspace: it is refused for a
        workspace locked to local models and while offline (:class:`ProviderError` with the
        reason), removes personal data first if the workspace asks, and logs each request."""
        if (local := self._embedders.get((model_id, 0, False))) is not None:
            return local  # resolved before (the id is looked up once, not at every query)
        recipient = model_kind(model_id).recipient(model_id, self.runtime)
        if recipient is None:
            key = (model_id, 0, False)
        else:
            if workspace is None:
                raise ValueError("a cloud embedder serves a workspace: pass it")
            if (refused := embedding_refusal(workspace, recipient)) is not None:
                raise ProviderError(refused)
            key = (model_id, workspace.id, workspace.chat.redact_personal_data)
        if key not in self._embedders:
            self._embedders[key] = self._create_embedder(model_id, workspace)
        return self._embedders[key]

    def _create_embedder(self, model_id: str, workspace: Workspace | None) -> Embedder:
        if workspace is None or model_kind(model_id).recipient(model_id, self.runtime) is None:
            return self.runtime.create_embedder(model_id)
        workspace_id = workspace.id

        def report(tokens: int, texts: int, removed: Redactions, error: str) -> None:
            name = self.records.workspace_by_id(workspace_id).name  # as renamed since
            self.outbound_log.record(embedder, name, prompt_tokens=tokens, redactions=removed,
                                     error=error, kind="embeddings", texts=texts)  # fmt: skip

        try:
            embedder = self.runtime.create_embedder(
                model_id, redact=workspace.chat.redact_personal_data, on_request=report
            )
        except (KeyError, ValueError, RuntimeError) as exc:  # unknown, no key, offline
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise ProviderError(f"{model_id} cannot embed now: {message}") from exc
        return embedder

    def token_counter(self, model_id: str) -> TokenCounter:
        if model_id not in self._counters:
            self._counters[model_id] = self.runtime.create_token_counter(model_id)
        return self._counters[model_id]

    def model_dim(self, model_id: str, workspace: Workspace | None = None) -> int:
        """The vectors' length: from the catalog, or else the embedder's (a cloud one's is
        published, or else one probe request)."""
        if model_id not in self._dims:
            published = model_kind(model_id).dim(model_id)
            self._dims[model_id] = published or self.embedder(model_id, workspace).dim
        return self._dims[model_id]

    def writer(
        self, workspace: Workspace, job: str, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, HeldLock | None]:
        """Wait to become the workspace's one writer (Progress says for whom it waits); the
        held lock, or None when cancelled first."""
        what = f"workspace {workspace.name!r}"
        return self.locks.acquire(workspace.uid, job, cancel or CancelToken(), what)

    def vectors_for(self, workspace: Workspace) -> VectorStore:
        """The store of the workspace's passages: this computer's folder, or the object store
        it was created on (ProviderError when offline mode keeps the app from reaching it)."""
        return self.shared.vectors(workspace)

    def table(self, workspace: Workspace, *, create: bool = True) -> Any:
        """The workspace's passages (its stored vector size is used when the table exists: no
        probe request to a cloud embedder for it)."""
        vectors = self.vectors_for(workspace)
        name, model = workspace.vector_table, workspace.embedding_model
        dim = vectors.stored_dim(name) or self.model_dim(model, workspace)
        return vectors.table(name, model=model, dim=dim, create=create)

    # -- workspaces ---------------------------------------------------------------------------

    def create_workspace(self, name: str) -> Workspace:
        return self.records.create_workspace(name, self.new_workspace_model())

    def new_workspace_model(self) -> str:
        """The embedding model a new workspace takes (the settings'), checked before anything
        is written: UnknownModelError when it embeds nothing."""
        model = self.runtime.settings.embedding_model
        if not model_kind(model).offers(model, "embedding"):
            raise UnknownModelError(f"{model!r} is not an embedding model.")
        return model

    def workspaces(self) -> list[Workspace]:
        return self.records.workspaces()

    def workspace(self, name: str) -> Workspace:
        return self.records.workspace(name)

    def rename_workspace(self, name: str, new_name: str) -> Workspace:
        workspace = self.records.workspace(name)
        self.records.rename_workspace(workspace.id, new_name)
        return self.records.workspace_by_id(workspace.id)

    def update_retrieval(self, name: str, **changes: Any) -> Workspace:
        workspace = self.records.workspace(name)
        self.records.set_retrieval(workspace.id, replace(workspace.retrieval, **changes))
        return self.records.workspace_by_id(workspace.id)

    def update_chat(self, name: str, **changes: Any) -> Workspace:
        workspace = self.records.workspace(name)
        self.records.set_chat(workspace.id, replace(workspace.chat, **changes))
        return self.records.workspace_by_id(workspace.id)

    def delete_workspace(self, name: str, cancel: CancelToken | None = None) -> Iterator[Event]:
        """Its vectors, documents and chats go, once its writer (an ingest, here or in another
        process) is done; the files stay where they are. A shared workspace only leaves this
        computer: its passages stay on the object store for the other homes."""
        workspace = self.records.workspace(name)
        held = yield from self.writer(workspace, "delete", cancel)
        if held is None:
            yield Error(f"Deleting {name!r} was cancelled; nothing was deleted.")
            return
        with held:
            for table in self.vectors.table_names():
                if integrity.table_uid(table) == workspace.uid or table == workspace.vector_table:
                    self.vectors.drop_table(table)
            self.records.delete_workspace(workspace.id)
            forget(self.runtime.paths.home, workspace.uid)
            cache = self.runtime.paths.workflow_cache(workspace.uid)
            for part in (cache, *(cache.with_name(cache.name + s) for s in ("-wal", "-shm"))):
                part.unlink(missing_ok=True)
        yield Done({"workspace": name})

    # -- documents ----------------------------------------------------------------------------

    def documents(self, name: str, *, current: bool = False) -> list[Document]:
        """The workspace's documents. A shared workspace's are as its list was last read (quick,
        for the GUI thread: ``health``, a search and an ingest read it again), or read again
        first when ``current`` (off the GUI thread)."""
        workspace = self.records.workspace(name)
        if current:
            with contextlib.suppress(ProviderError):  # searching it says why
                self.shared.refresh(workspace)
        return self.records.documents(workspace.id)

    def remove_document(
        self, name: str, document_id: int, cancel: CancelToken | None = None
    ) -> Iterator[Event]:
        """The document's passages and record go, once the workspace's writer is done."""
        workspace = self.records.workspace(name)
        document = self.records.document(document_id)
        if document is None or document.workspace_id != workspace.id:
            raise KeyError(f"no document {document_id} in workspace {name!r}")
        held = yield from self.writer(workspace, "remove", cancel)
        if held is None:
            yield Error(f"Removing {document.title} was cancelled.")
            return
        with held:
            workspace = self.records.workspace_by_id(workspace.id)  # re-embedded meanwhile?
            try:
                vectors = self.vectors_for(workspace)
            except ProviderError as exc:  # offline, and the workspace is on object storage
                yield Error(f"{document.title} was not removed: {exc}")
                return
            with index_errors(workspace, vectors):
                self.shared.forget(workspace, [document])  # no home lists it from now on
                if vectors.has_table(workspace.vector_table):
                    vectors.delete_documents(self.table(workspace), [document_id])
            self.records.delete_documents([document_id])
        yield Done({"document": document.title})

    def ingest(
        self, name: str, paths: Sequence[Path], cancel: CancelToken, *, reindex: bool = False
    ) -> Iterator[Event]:
        """Index files and folders. ``reindex``: the given files are chunked and embedded
        again even when their content is already indexed."""
        from anyllm_desktop.services.ingestion import IngestJob

        return IngestJob(self, self.records.workspace(name), paths, cancel, reindex=reindex).run()

    def reindex(self, name: str, cancel: CancelToken) -> Iterator[Event]:
        """Chunk and embed every document of the workspace again from its file (after a
        chunking change, or to repair a lost or damaged index)."""
        from anyllm_desktop.services.ingestion import IngestJob

        return IngestJob(self, self.records.workspace(name), [], cancel, reindex=True).run()

    def health(self, name: str) -> IndexHealth:
        """Whether the workspace's index still holds the passages of its documents (a shared
        workspace's document list is read again first: what other computers added or removed)."""
        workspace = self.records.workspace(name)
        with contextlib.suppress(ProviderError):  # the health says why it cannot be reached
            self.shared.refresh(workspace)
        return IndexHealth.of(self, workspace)

    def cloud_embedding_terms(self, name: str, model_id: str) -> str | None:
        return reembedding.cloud_embedding_terms(self, name, model_id)

    def reembed(
        self, name: str, model_id: str, cancel: CancelToken, *, agreed: bool = False
    ) -> Iterator[Event]:
        """Switch a workspace to another embedding model (services/reembedding.py)."""
        return reembedding.reembed(self, name, model_id, cancel, agreed=agreed)

    # -- search -------------------------------------------------------------------------------

    def search(
        self, name: str, query: str, *, k: int | None = None, mode: str | None = None
    ) -> list[SearchResult]:
        """The passages that answer ``query`` best (services/retriever.py)."""
        return self.retriever.search(self.records.workspace(name), query, k=k, mode=mode)
