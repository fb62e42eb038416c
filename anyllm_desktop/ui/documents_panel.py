"""A workspace's documents (file, status, passages; sortable; title, path and date in the
tooltip) and its indexing log (:class:`IngestLog`: per-file results with readable errors,
cancel, retry)."""

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
    QMenu,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from anyllm_desktop.core.events import Event
from anyllm_desktop.core.workspace import Document
from anyllm_desktop.ui.ingest_log import IngestLog
from anyllm_desktop.ui.quick_action_menu import add_quick_actions

_STATUS_TEXT = {"indexed": "Indexed", "indexing": "Indexing…", "failed": "Failed"}
_SORT_KEY = Qt.ItemDataRole.UserRole + 1


class _Row(QTreeWidgetItem):
    """Sorts by the value, not the text (12 passages after 9; names without case)."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else 0
        mine, theirs = self.data(column, _SORT_KEY), other.data(column, _SORT_KEY)
        if mine is None or theirs is None:
            return super().__lt__(other)
        return bool(mine < theirs)


def _row(document: Document) -> _Row:
    name = Path(document.path).name
    status = _STATUS_TEXT.get(document.status, document.status)
    item = _Row([name, status, str(document.chunks)])
    for column, key in enumerate((name.casefold(), status, document.chunks)):
        item.setData(column, _SORT_KEY, key)
    title = document.title if document.title and document.title != name else None
    added = time.strftime("added %Y-%m-%d %H:%M", time.localtime(document.added_at))
    item.setToolTip(0, "\n".join(filter(None, [title, document.path, added])))
    if document.error:
        item.setToolTip(1, document.error)
    item.setData(0, Qt.ItemDataRole.UserRole, document.id)
    return item


class DocumentsPanel(QFrame):
    add_paths_requested = Signal(list)
    remove_requested = Signal(object)  # Document
    reindex_requested = Signal(object)  # Document
    cancel_requested = Signal()
    retry_requested = Signal(list)  # paths
    #: The Workflows panel, over these documents (file names; None: the workflow's choice).
    workflow_requested = Signal(object)
    #: A quick action over one whole document: (action id, the document's file name).
    quick_action_requested = Signal(str, str)

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
        workflows = QPushButton("Workflows…")
        workflows.setToolTip("Run a workflow (a sentiment table, extracted fields, …) over the "
                             "selected documents, or all of them")  # fmt: skip
        workflows.clicked.connect(lambda: self.workflow_requested.emit(self.selected_names()))
        buttons.addWidget(add_files)
        buttons.addWidget(add_folder)
        buttons.addWidget(workflows)
        layout.addLayout(buttons)
        self.hint = QLabel("Drop files or folders anywhere on the window to add them.")
        self.hint.setObjectName("EmptyHint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)

        self.tree = QTreeWidget()
        self.tree.setObjectName("DocumentList")
        self.tree.setAccessibleName("Documents")
        # The file's name needs the room: its title, path and date are in the tooltip.
        self.tree.setHeaderLabels(["Document", "Status", "Passages"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keeps the extension
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree, 2)

        self._logs_area = QVBoxLayout()
        layout.addLayout(self._logs_area, 1)
        self._logs: dict[str, IngestLog] = {}
        self._workspace: str | None = None
        self._documents: list[Document] = []

    # -- documents ------------------------------------------------------------------------------

    def show_documents(self, workspace: str | None, documents: list[Document]) -> None:
        """The table lists files by name (the title a parser found, e.g. "1 Introduction",
        is in the tooltip), sorted by the column the user chose (name first)."""
        if workspace != self._workspace:
            for name, log in self._logs.items():
                log.setVisible(name == workspace)
        self._workspace = workspace
        self._documents = documents
        self.title.setText(f"Documents — {workspace}" if workspace else "Documents")
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for document in documents:
            self.tree.addTopLevelItem(_row(document))
        self.tree.setSortingEnabled(True)
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
        menu.addSeparator()
        name = Path(document.path).name
        add_quick_actions(menu, lambda action: self.quick_action_requested.emit(action, name),
                          f"Quick action on {name}")  # fmt: skip
        menu.addAction("Run a workflow on the selected…",
                       lambda: self.workflow_requested.emit(self.selected_names()))  # fmt: skip
        menu.exec(self.tree.viewport().mapToGlobal(position))  # type: ignore[arg-type]

    def selected_names(self) -> list[str] | None:
        """The selected documents' file names (None when none is selected: all of them)."""
        return [item.text(0) for item in self.tree.selectedItems()] or None

    def pick_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add documents")
        if files:
            self.add_paths_requested.emit([Path(f) for f in files])

    def pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of documents")
        if folder:
            self.add_paths_requested.emit([Path(folder)])

    # -- the indexing logs, one per workspace -------------------------------------------------

    def log(self, workspace: str) -> IngestLog:
        """``workspace``'s indexing log (made on first use, shown while it is the current)."""
        if workspace not in self._logs:
            log = self._logs[workspace] = IngestLog()
            log.cancel_requested.connect(self.cancel_requested)
            log.retry_requested.connect(self.retry_requested)
            log.hide()
            self._logs_area.addWidget(log)
        return self._logs[workspace]

    @property
    def current_log(self) -> IngestLog | None:
        return self._logs.get(self._workspace or "")

    def job_started(self, workspace: str) -> None:
        log = self.log(workspace)
        log.start()
        log.setVisible(workspace == self._workspace)

    def on_event(self, workspace: str, event: Event) -> None:
        log = self.log(workspace)
        log.on_event(event)
        log.setVisible(workspace == self._workspace)
