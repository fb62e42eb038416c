"""A workspace's documents (status, passages, date) and the progress of an indexing job:
per-file results with readable errors, cancel, retry."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from anyllm_desktop.core.events import Done, Error, Event, FileResult, Progress
from anyllm_desktop.core.filenames import path_from_stored
from anyllm_desktop.core.workspace import Document

_STATUS_TEXT = {"indexed": "Indexed", "indexing": "Indexing…", "failed": "Failed"}
_RESULT_MARK = {"indexed": "✓", "duplicate": "=", "failed": "✗", "cancelled": "–"}


class DocumentsPanel(QFrame):
    add_paths_requested = Signal(list)
    remove_requested = Signal(object)  # Document
    reindex_requested = Signal(object)  # Document
    cancel_requested = Signal()
    retry_requested = Signal(list)  # paths

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("DocumentsPanel")
        layout = QVBoxLayout(self)
        self.title = QLabel("Documents")
        self.title.setObjectName("SidebarTitle")
        layout.addWidget(self.title)
        buttons = QHBoxLayout()
        add_files = QPushButton("Add files…")
        add_files.setAccessibleName("Add files")
        add_files.clicked.connect(self.pick_files)
        add_folder = QPushButton("Add folder…")
        add_folder.setAccessibleName("Add folder")
        add_folder.clicked.connect(self.pick_folder)
        buttons.addWidget(add_files)
        buttons.addWidget(add_folder)
        layout.addLayout(buttons)
        self.hint = QLabel("Drop files or folders anywhere on the window to add them.")
        self.hint.setObjectName("EmptyHint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)

        self.tree = QTreeWidget()
        self.tree.setObjectName("DocumentList")
        self.tree.setAccessibleName("Documents")
        self.tree.setHeaderLabels(["Document", "Status", "Passages", "Added"])
        self.tree.setRootIsDecorated(False)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree, 2)

        self.job = QFrame()
        self.job.setObjectName("IngestJob")
        job_layout = QVBoxLayout(self.job)
        job_layout.setContentsMargins(0, 6, 0, 0)
        top = QHBoxLayout()
        self.job_label = QLabel()
        self.job_label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel indexing")
        self.cancel_button.clicked.connect(self.cancel_requested)
        top.addWidget(self.job_label, 1)
        top.addWidget(self.cancel_button)
        self.job_progress = QProgressBar()
        self.job_progress.setAccessibleName("Indexing progress")
        self.results = QListWidget()
        self.results.setObjectName("IngestResults")
        self.results.setAccessibleName("Indexing results")
        self.results.setWordWrap(True)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.retry_button = QPushButton("Retry failed")
        self.retry_button.setAccessibleName("Retry failed files")
        self.retry_button.clicked.connect(self._retry)
        self.retry_button.hide()
        job_layout.addLayout(top)
        job_layout.addWidget(self.job_progress)
        job_layout.addWidget(self.results, 1)
        job_layout.addWidget(self.retry_button)
        layout.addWidget(self.job, 1)
        self.job.hide()
        self._documents: list[Document] = []
        self._failed: list[str] = []

    # -- documents ------------------------------------------------------------------------------

    def show_documents(self, workspace: str | None, documents: list[Document]) -> None:
        self._documents = documents
        self.title.setText(f"Documents — {workspace}" if workspace else "Documents")
        self.tree.clear()
        for document in documents:
            status = _STATUS_TEXT.get(document.status, document.status)
            added = time.strftime("%Y-%m-%d", time.localtime(document.added_at))
            item = QTreeWidgetItem([document.title or Path(document.path).name, status,
                                    str(document.chunks), added])  # fmt: skip
            item.setToolTip(0, document.path)
            if document.error:
                item.setToolTip(1, document.error)
            item.setData(0, Qt.ItemDataRole.UserRole, document.id)
            self.tree.addTopLevelItem(item)
        self.hint.setVisible(not documents)

    def _document_at(self, item: QTreeWidgetItem) -> Document | None:
        wanted = item.data(0, Qt.ItemDataRole.UserRole)
        return next((d for d in self._documents if d.id == wanted), None)

    def _menu(self, position: object) -> None:
        item = self.tree.itemAt(position)  # type: ignore[arg-type]
        document = self._document_at(item) if item is not None else None
        if document is None:
            return
        menu = QMenu(self)
        menu.addAction("Re-index", lambda: self.reindex_requested.emit(document))
        menu.addAction("Remove", lambda: self.remove_requested.emit(document))
        menu.exec(self.tree.viewport().mapToGlobal(position))  # type: ignore[arg-type]

    def pick_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add documents")
        if files:
            self.add_paths_requested.emit([Path(f) for f in files])

    def pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of documents")
        if folder:
            self.add_paths_requested.emit([Path(folder)])

    # -- the indexing job ---------------------------------------------------------------------

    def job_started(self) -> None:
        self.results.clear()
        self._failed = []
        self.retry_button.hide()
        self.cancel_button.setEnabled(True)
        self.job_label.setText("Starting…")
        self.job_progress.setRange(0, 0)
        self.job.show()

    def on_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.job_progress.setRange(0, max(event.total, 1))
            self.job_progress.setValue(event.done)
            eta = f" · about {event.eta_s:.0f} s left" if event.eta_s else ""
            self.job_label.setText(f"{event.message}{eta}")
        elif isinstance(event, FileResult):
            mark = _RESULT_MARK.get(event.status, "?")
            name = Path(event.path).name
            if event.status == "indexed":
                text = f"{mark} {name} — {event.chunks} passages"
            else:
                text = f"{mark} {name} — {event.reason or event.status}"
            item = QListWidgetItem(text)
            item.setToolTip(f"{event.path}\n{event.reason or event.status}")
            item.setData(Qt.ItemDataRole.UserRole, event.status)
            self.results.addItem(item)
            self.results.scrollToBottom()
            if event.status == "failed":
                self._failed.append(event.path)
        elif isinstance(event, Done) and isinstance(event.result, dict):  # a re-embedding
            self._finish(f"Done: {event.result['passages']} passages embedded with "
                         f"{event.result['model']}.")  # fmt: skip
        elif isinstance(event, Done):
            results = event.result or []
            indexed = sum(r.status == "indexed" for r in results)
            failed = sum(r.status == "failed" for r in results)
            self._finish(
                f"Done: {indexed} indexed, {failed} failed, {len(results) - indexed - failed} "
                "skipped"
            )
        elif isinstance(event, Error):
            self._finish(event.message)

    def _finish(self, message: str) -> None:
        self.job_progress.setRange(0, 1)
        self.job_progress.setValue(1)
        self.job_label.setText(message)
        self.cancel_button.setEnabled(False)
        self.retry_button.setVisible(bool(self._failed))

    def _retry(self) -> None:
        if self._failed:
            self.retry_requested.emit([path_from_stored(p) for p in self._failed])
