"""Workspaces and their threads, with document counts; create, rename, delete, export."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
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

from anyllm_desktop.core.conversation import ThreadInfo
from anyllm_desktop.core.workspace import Workspace

_KIND = Qt.ItemDataRole.UserRole
_KEY = Qt.ItemDataRole.UserRole + 1


def describe_tally(tally: dict[str, int]) -> str:
    """ "3 documents", "4 documents, 1 failed": every row of the documents table counts."""
    total = sum(tally.values())
    words = f"{total} document" + ("" if total == 1 else "s")
    for status, word in (("indexing", "indexing"), ("failed", "failed")):
        if tally.get(status):
            words += f", {tally[status]} {word}"
    return words


class Sidebar(QFrame):
    workspace_selected = Signal(str)
    thread_selected = Signal(str, int)
    new_workspace_requested = Signal()
    new_thread_requested = Signal()
    rename_workspace_requested = Signal(str)
    delete_workspace_requested = Signal(str)
    rename_thread_requested = Signal(int)
    delete_thread_requested = Signal(int)
    export_thread_requested = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Sidebar")
        layout = QVBoxLayout(self)
        title = QLabel("Workspaces")
        title.setObjectName("SidebarTitle")
        self.tree = QTreeWidget()
        self.tree.setObjectName("WorkspaceList")
        self.tree.setHeaderHidden(True)
        # The name gives way, not the count: "ReportLab guide  2 documents".
        self.tree.setColumnCount(2)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setAccessibleName("Workspaces and chats")
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.currentItemChanged.connect(self._on_current)
        self.empty_hint = QLabel("No workspaces yet. Create one, or drop files on the window.")
        self.empty_hint.setObjectName("EmptyHint")
        self.empty_hint.setWordWrap(True)
        buttons = QHBoxLayout()
        self.new_workspace_button = QPushButton("+ Workspace")
        self.new_workspace_button.setAccessibleName("New workspace")
        self.new_workspace_button.clicked.connect(self.new_workspace_requested)
        self.new_thread_button = QPushButton("+ Chat")
        self.new_thread_button.setAccessibleName("New chat")
        self.new_thread_button.setToolTip("New chat in this workspace (Ctrl+N)")
        self.new_thread_button.clicked.connect(self.new_thread_requested)
        buttons.addWidget(self.new_workspace_button)
        buttons.addWidget(self.new_thread_button)
        layout.addWidget(title)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._updating = False

    def populate(
        self,
        workspaces: list[tuple[Workspace, dict[str, int]]],
        threads: dict[str, list[ThreadInfo]],
        current: tuple[str | None, int | None],
    ) -> None:
        """Rebuild the tree; keep ``current`` (workspace, thread) selected."""
        self._updating = True
        self.tree.clear()
        select: QTreeWidgetItem | None = None
        for workspace, tally in workspaces:
            count = describe_tally(tally)
            item = QTreeWidgetItem([workspace.name, count])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setData(0, _KIND, "workspace")
            item.setData(0, _KEY, workspace.name)
            item.setToolTip(0, f"{workspace.name}: {count}")
            item.setToolTip(1, f"{workspace.name}: {count}")
            self.tree.addTopLevelItem(item)
            for thread in threads.get(workspace.name, []):
                child = QTreeWidgetItem([thread.title or "New chat"])
                child.setData(0, _KIND, "thread")
                child.setData(0, _KEY, thread.id)
                child.setToolTip(0, thread.title)
                item.addChild(child)
                child.setFirstColumnSpanned(True)  # a chat's title has the whole width
                if current == (workspace.name, thread.id):
                    select = child
            item.setExpanded(True)
            if current[0] == workspace.name and current[1] is None:
                select = item
        self._shade_counts()
        self.empty_hint.setVisible(not workspaces)
        if select is not None:
            self.tree.setCurrentItem(select)
        self._updating = False

    def changeEvent(self, event: QEvent) -> None:
        """The counts' grey follows the palette (a switch to dark mode left it dark on dark)."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._shade_counts()

    def _shade_counts(self) -> None:
        """The workspaces' document counts in the palette's quiet grey."""
        for i in range(self.tree.topLevelItemCount()):
            self.tree.topLevelItem(i).setForeground(1, self.palette().placeholderText())

    def _on_current(self, item: QTreeWidgetItem | None, _previous: object) -> None:
        if self._updating or item is None:
            return
        if item.data(0, _KIND) == "workspace":
            self.workspace_selected.emit(item.data(0, _KEY))
        else:
            parent = item.parent()
            self.thread_selected.emit(parent.data(0, _KEY), int(item.data(0, _KEY)))

    def _menu(self, position: object) -> None:
        item = self.tree.itemAt(position)  # type: ignore[arg-type]
        if item is None:
            return
        menu = QMenu(self)
        key = item.data(0, _KEY)
        if item.data(0, _KIND) == "workspace":
            menu.addAction("Rename…", lambda: self.rename_workspace_requested.emit(key))
            menu.addAction("Delete…", lambda: self.delete_workspace_requested.emit(key))
        else:
            menu.addAction("Rename…", lambda: self.rename_thread_requested.emit(int(key)))
            menu.addAction("Export…", lambda: self.export_thread_requested.emit(int(key)))
            menu.addAction("Delete…", lambda: self.delete_thread_requested.emit(int(key)))
        menu.exec(self.tree.viewport().mapToGlobal(position))  # type: ignore[arg-type]
