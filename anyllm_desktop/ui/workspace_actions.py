"""What the user does to workspaces, chats and documents: create, rename, delete, export, add
and remove documents, change a workspace's settings (with the re-index and re-embed they
need, confirmed first). Each asks what it must, then hands the work to the backend (the long
parts run there as jobs) and the new selection to the session."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.core.workspace import Document
from anyllm_desktop.ui.documents_panel import DocumentsPanel
from anyllm_desktop.ui.ingest_log import outcome
from anyllm_desktop.ui.navigator import Navigator
from anyllm_desktop.ui.new_workspace_dialog import NewWorkspaceDialog
from anyllm_desktop.ui.status_bar import StatusBar
from anyllm_desktop.ui.workspace_settings_dialog import WorkspaceSettingsDialog

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Backend

DEFAULT_WORKSPACE = "My documents"


class WorkspaceActions(QObject):
    def __init__(self, backend: Backend, navigator: Navigator, documents: DocumentsPanel,
                 status: StatusBar, parent: QWidget) -> None:  # fmt: skip
        super().__init__(parent)
        self.backend = backend
        self.navigator = navigator
        self.session = navigator.session
        self.documents = documents
        self.status = status
        self._parent = parent
        #: Files dropped before the library was open (added once it is).
        self.pending: list[Path] = []
        documents.add_paths_requested.connect(self.add_documents)
        documents.retry_requested.connect(self.add_documents)
        documents.cancel_requested.connect(backend.cancel_ingest)
        documents.remove_requested.connect(self.remove_document)
        documents.reindex_requested.connect(
            lambda d: self.session.workspace and backend.reindex_document(self.session.workspace,
                                                                          d)
        )  # fmt: skip
        backend.ingest_event.connect(self._on_ingest_event)

    # -- workspaces and chats -------------------------------------------------------------------

    def new_workspace(self) -> None:
        dialog = NewWorkspaceDialog(self._parent)
        if dialog.exec() != NewWorkspaceDialog.DialogCode.Accepted:
            return
        name, location = dialog.name.text().strip(), dialog.location()
        if location.remote:
            self.status.showMessage(f"Connecting to {location.describe()}…")
        self.backend.create_workspace_at(
            name, location, dialog.secret.text() or None,
            lambda workspace: self.navigator.select_workspace(workspace.name),
            lambda reason: QMessageBox.warning(self._parent, "New workspace", reason),
        )  # fmt: skip

    def new_thread(self) -> None:
        if self.session.workspace is not None:
            self.navigator.new_chat(self.session.workspace)

    def rename_workspace(self, name: str) -> None:
        new_name, ok = QInputDialog.getText(self._parent, "Rename workspace", "Name:", text=name)
        if ok and new_name.strip() and new_name != name:
            try:
                self.backend.rename_workspace(name, new_name)
            except ValueError as exc:
                QMessageBox.warning(self._parent, "Rename workspace", str(exc))
                return
            if self.session.workspace == name:
                self.session.select(" ".join(new_name.split()), self.session.thread_id)

    def delete_workspace(self, name: str) -> None:
        if self.confirm(
            "Delete workspace",
            f"Delete the workspace “{name}” with its chats and its index? "
            "Your files on disk are not touched.",
        ):
            self.backend.delete_workspace(name)
            if self.session.workspace == name:
                self.navigator.select_workspace(None)

    def rename_thread(self, thread_id: int) -> None:
        title, ok = QInputDialog.getText(self._parent, "Rename chat", "Title:")
        if ok and title.strip():
            self.backend.rename_thread(thread_id, title.strip())

    def delete_thread(self, thread_id: int) -> None:
        if self.confirm("Delete chat", "Delete this chat?"):
            self.backend.delete_thread(thread_id)
            if self.session.thread_id == thread_id and self.session.workspace:
                self.navigator.select_workspace(self.session.workspace)

    def export_thread(self, thread_id: int) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self._parent, "Export chat", "chat.md", "Markdown (*.md);;JSON (*.json)"
        )
        if path:
            fmt = "json" if path.endswith(".json") or "JSON" in chosen else "md"
            Path(path).write_text(self.backend.export_thread(thread_id, fmt), encoding="utf-8")

    # -- documents ------------------------------------------------------------------------------

    def add_documents(self, paths: list[Path]) -> None:
        """Index ``paths`` into the current workspace (a first one is created if needed)."""
        if not self.backend.is_ready:
            self.pending += paths
            self.status.showMessage("Files will be added once the library is open…")
            return
        if self.session.workspace is None:
            existing = [w.name for w, _ in self.backend.workspaces()]
            name = (
                existing[0] if existing else self.backend.create_workspace(DEFAULT_WORKSPACE).name
            )
            self.navigator.select_workspace(name)
        assert self.session.workspace is not None
        self.documents.job_started(self.session.workspace)
        self.backend.ingest(self.session.workspace, paths)

    def remove_document(self, document: Document) -> None:
        """Asked first: its passages leave the index (the file on disk stays)."""
        workspace = self.session.workspace
        if workspace and self.confirm(
            "Remove document",
            f"Remove “{Path(document.path).name}” from “{workspace}”? Its passages leave the "
            "index; the file on disk is not touched.",
        ):
            self.backend.remove_document(workspace, document.id)

    def add_pending(self) -> None:
        """The library is open: add what was dropped before."""
        if self.pending:
            paths, self.pending = self.pending, []
            self.add_documents(paths)

    def _on_ingest_event(self, workspace: str, event: Event) -> None:
        self.documents.on_event(workspace, event)
        if isinstance(event, Progress):
            self.status.show_progress(event, f"Indexing into {workspace}: ")
        elif isinstance(event, Done) and isinstance(event.result, list):
            summary, cancelled = outcome(event.result)
            ended = "cancelled" if cancelled else "finished"
            self.status.finish(f"Indexing into {workspace} {ended}: {summary}")
        elif isinstance(event, Done):
            self.status.finish(f"Indexing into {workspace} finished")
        elif isinstance(event, Error):
            self.status.finish(f"{workspace}: {event.message}", 10000)

    # -- workspace settings -------------------------------------------------------------------

    def open_workspace_settings(self) -> WorkspaceSettingsDialog | None:
        name = self.session.workspace
        if name is None:
            return None
        dialog = WorkspaceSettingsDialog(
            self.backend.workspace(name),
            self.backend.provider_places(),
            self.backend.embedding_models(),
            self._parent,
            self.backend.workspace_location(name),
        )
        dialog.accepted.connect(lambda: self._apply_workspace_settings(dialog))
        dialog.open()
        return dialog

    def _apply_workspace_settings(self, dialog: WorkspaceSettingsDialog) -> None:
        name = dialog.workspace.name
        rechunk = dialog.chunking_changed()
        if rechunk and not self.confirm(
            "Re-index workspace",
            f"The new chunk size re-indexes all documents of “{name}”. Continue?",
        ):
            return
        try:  # both checked before either is saved (a bad overlap saved the chat settings)
            self.backend.check_workspace_settings(
                name, chat=dialog.chat_changes(), retrieval=dialog.retrieval_changes()
            )
            self.backend.update_chat_settings(name, **dialog.chat_changes())
            self.backend.update_retrieval_settings(name, **dialog.retrieval_changes())
        except ValueError as exc:
            QMessageBox.warning(self._parent, "Workspace settings", str(exc))
            return
        # Both may change: the re-embed (a new table for the new model) is queued first, the
        # re-index runs after it into that table (one writer at a time; before, the model change
        # was dropped).
        if (model := dialog.embedder_changed()) is not None:
            self._reembed(name, model)
        if rechunk:
            self.documents.job_started(name)
            self.backend.reindex_workspace(name)

    def _reembed(self, name: str, model: str) -> None:
        """Ask first: a cloud embedder is told what it will be sent and where."""
        try:
            terms = self.backend.cloud_embedding_terms(name, model)
        except RuntimeError as exc:  # offline, locked to local models, no key
            QMessageBox.warning(self._parent, "Embedding model", str(exc))
            return
        if terms is None:
            agreed = self.confirm(
                "Re-embed workspace",
                f"Embed all passages of “{name}” again with the new model? The current index "
                "keeps answering until the new one is complete.",
            )
        else:
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Send documents to a cloud embedder?",
                terms + "\n\nThe current index keeps answering until the new one is complete.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                self._parent,
            )
            box.button(QMessageBox.StandardButton.Yes).setText("Send and re-embed")
            box.button(QMessageBox.StandardButton.No).setText("Don't send")
            agreed = box.exec() == QMessageBox.StandardButton.Yes
        if agreed:
            self.documents.job_started(name)
            self.backend.reembed_workspace(name, model, agreed=terms is not None)

    def confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self._parent, title, text) == QMessageBox.StandardButton.Yes
