"""Workspaces whose passages live on object storage (S3-compatible, LanceDB Cloud), shared by
every home (machine) that points at the same place.

Where a workspace lives is chosen when it is created (store/locations.py). A home that
creates one at a place another home already uses joins it: it takes the workspace's uid,
passage table and embedding model from the list kept beside the passages
(store/shared_manifest.py). A shared workspace's documents are known everywhere by
:func:`document_key` (its content hash, as a negative number: this home's own documents keep
their numbering), which is the id its passages carry and its document row's id in every home.
Each home's rows for it are a cache of the shared list, refreshed when it is searched or
listed (at most every ``REFRESH_S`` seconds).

Connections go only where the user put the workspace: in offline mode a store on another host
is refused (``outbound.store_refusal``), and each connection is in the outbound log.
"""

from __future__ import annotations

import socket
import time
import uuid
from typing import TYPE_CHECKING

from anyllm_desktop.core.workspace import Document, Workspace
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.providers.model_ids import UnknownModelError
from anyllm_desktop.services.index_health import index_errors
from anyllm_desktop.services.outbound import store_refusal
from anyllm_desktop.store.locations import (
    SEEN_AFTER,
    StoreLocation,
    location_of,
    remember,
    secret_name,
)
from anyllm_desktop.store.records import table_name
from anyllm_desktop.store.secrets import SecretStore
from anyllm_desktop.store.shared_manifest import (
    SharedDocument,
    SharedManifest,
    SharedWorkspace,
    doc_key,
)
from anyllm_desktop.store.vectors import VectorStore

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library

#: Seconds between two readings of a shared workspace's document list.
REFRESH_S = SEEN_AFTER.total_seconds()


def document_key(content_hash: str) -> int:
    """A shared workspace's document id in every home (negative: never one of a home's own)."""
    return -1 - doc_key(content_hash)


class SharedStores:
    """One library's connections to its workspaces' object stores."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._locations: dict[str, StoreLocation] = {}
        self._stores: dict[str, VectorStore] = {}
        self._refreshed: dict[str, float] = {}

    def location(self, workspace: Workspace) -> StoreLocation:
        if workspace.uid not in self._locations:
            home = self.library.runtime.paths.home
            self._locations[workspace.uid] = location_of(home, workspace.uid)
        return self._locations[workspace.uid]

    def is_shared(self, workspace: Workspace) -> bool:
        return self.location(workspace).remote

    def vectors(self, workspace: Workspace) -> VectorStore:
        """The store holding the workspace's passages: this computer's, or its object store
        (ProviderError when offline mode keeps the app from reaching it)."""
        where = self.location(workspace)
        if not where.remote:
            return self.library.vectors
        if workspace.uid not in self._stores:
            runtime = self.library.runtime
            if refused := store_refusal(where, workspace.name, runtime.settings.offline_mode):
                raise ProviderError(refused)
            secret = SecretStore(runtime.paths.home).get(secret_name(workspace.uid))
            self.library.outbound_log.record_store(where, workspace.name, "open")
            self._stores[workspace.uid] = VectorStore.at(where, secret)
        return self._stores[workspace.uid]

    def key(self, workspace: Workspace, content_hash: str) -> int | None:
        """The id a new document of ``workspace`` takes: its shared key, or None (the next of
        this home's own) for a workspace on this computer."""
        return document_key(content_hash) if self.is_shared(workspace) else None

    def publish(self, workspace: Workspace, document: Document, passages: int) -> None:
        """After its passages are written, before it is marked indexed here: every home can
        list it from now on."""
        if not self.is_shared(workspace):
            return
        shared = SharedDocument(
            content_hash=document.content_hash, title=document.title, path=document.path,
            kind=document.kind, pages=document.pages or 0, passages=passages,
            added_at=document.added_at, added_by=socket.gethostname(),
        )  # fmt: skip
        SharedManifest(self.vectors(workspace)).publish(shared)

    def forget(self, workspace: Workspace, documents: list[Document]) -> None:
        """Documents removed (or replaced by a newer version): off the shared list first, so
        no home lists a document whose passages are going."""
        if not self.is_shared(workspace):
            return
        manifest = SharedManifest(self.vectors(workspace))
        for document in documents:
            manifest.forget(document.content_hash)

    def refresh(self, workspace: Workspace, *, force: bool = False) -> None:
        """Bring this home's document rows of a shared workspace up to the shared list: the
        documents other homes added appear (indexed), those they removed go. Rows this home
        is still writing are left alone."""
        if not self.is_shared(workspace):
            return
        now = time.monotonic()
        if not force and now - self._refreshed.get(workspace.uid, -REFRESH_S) < REFRESH_S:
            return
        store = self.vectors(workspace)
        with index_errors(workspace, store):
            listed = SharedManifest(store).documents()
        shared = {document_key(d.content_hash): d for d in listed}
        records = self.library.records
        here = {d.id: d for d in records.documents(workspace.id)}
        changed = False
        for key, document in shared.items():
            row = here.get(key)
            if row is None or (row.status == "indexed" and row.chunks != document.passages):
                records.keep_shared_document(workspace.id, key, document)
                changed = True
        gone = [d.id for d in here.values()
                if d.status == "indexed" and d.id < 0 and d.id not in shared]  # fmt: skip
        records.delete_documents(gone)
        if changed or gone:  # opened again at its newest version: their passages are in it
            store.forget(workspace.vector_table)
        self._refreshed[workspace.uid] = now


def create_workspace_at(
    library: Library, name: str, location: StoreLocation, secret: str | None
) -> Workspace:
    """A workspace whose passages live at ``location`` (joined, when another home created one
    there: its uid, passage table and embedding model are taken). ValueError with the reason
    when offline mode refuses the store, the store cannot be reached, or the name is taken."""
    runtime = library.runtime
    if refused := store_refusal(location, name, runtime.settings.offline_mode):
        raise ValueError(refused)
    try:
        model = library.new_workspace_model()
    except UnknownModelError as exc:
        raise ValueError(exc.args[0]) from exc
    library.outbound_log.record_store(location, name, "open")
    uid = uuid.uuid4().hex
    proposed = SharedWorkspace(uid, table_name(uid, 1), model)
    try:
        claimed = SharedManifest(VectorStore.at(location, secret)).claim(proposed)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ValueError(f"Could not reach {location.uri} at {location.host}: {exc}. Check the "
                         "endpoint, region, bucket and keys.") from exc  # fmt: skip
    workspace = library.records.create_workspace(
        name, claimed.embedding_model, uid=claimed.uid, vector_table=claimed.vector_table
    )
    remember(runtime.paths.home, workspace.uid, location, secret)
    library.shared.refresh(workspace, force=True)
    return workspace
