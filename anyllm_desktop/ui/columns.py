"""The window's three columns. Growing, the conversation takes the room; shrinking, the side
columns give theirs first (down to their minimum), so the chat stays readable in a small
window (a plain QSplitter shrinks the stretching column first)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QWidget

#: The chat column's index: the columns are (sidebar, conversation, documents).
CHAT = 1


class Columns(QSplitter):
    def __init__(self, *columns: QWidget) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        for column in columns:
            self.addWidget(column)
        self.setStretchFactor(CHAT, 1)
        self.setCollapsible(CHAT, False)

    def resizeEvent(self, event: QResizeEvent) -> None:
        before = self.sizes()
        super().resizeEvent(event)
        shrink = event.oldSize().width() - event.size().width()
        if shrink <= 0 or event.oldSize().width() <= 0 or sum(before) <= 0:
            return
        sizes = list(before)
        for index in (0, 2):  # the side columns give first, each down to its minimum
            column = self.widget(index)
            floor = max(column.minimumWidth(), column.minimumSizeHint().width())
            give = min(shrink, max(sizes[index] - floor, 0))
            sizes[index] -= give
            shrink -= give
        sizes[CHAT] = max(sizes[CHAT] - shrink, 0)
        self.setSizes(sizes)
