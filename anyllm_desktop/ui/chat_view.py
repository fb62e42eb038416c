"""The conversation: the messages (ui/message_widget.py) top to bottom, the open answer streamed
smoothly, find in the chat; and the question box.

Tokens are collected as they arrive and the open answer is re-rendered at most ~30 times a
second (``REPAINT_MS``), so a fast model never floods the GUI thread with layout work.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.ui.message_widget import MessageWidget

REPAINT_MS = 33


class ChatView(QScrollArea):
    """Messages top to bottom; the open answer streams into the last one."""

    citation_clicked = Signal(dict)
    regenerate_requested = Signal()
    edit_requested = Signal(int, str)
    #: (answer's message id, 1 good / -1 bad / 0 none)
    rating_requested = Signal(int, int)
    #: The answer whose right text the user wants to write (its message id).
    correction_requested = Signal(int)
    #: (message id, -1 or 1): show the earlier or later version of that answer.
    version_requested = Signal(int, int)
    #: A quick action on a message's selected text: (action id, text).
    quick_action_requested = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("ChatView")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName("Conversation")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        container = QWidget()
        container.setObjectName("ChatContainer")
        self._layout = QVBoxLayout(container)
        self._layout.setContentsMargins(16, 12, 16, 12)
        self._layout.setSpacing(10)
        self._layout.addStretch(1)
        self.setWidget(container)
        self._messages: list[MessageWidget] = []
        self._streaming: MessageWidget | None = None
        self._pending = ""
        self._dirty = False
        self._repaint = QTimer(self)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._flush)
        self.verticalScrollBar().rangeChanged.connect(self._follow)
        self._at_bottom = True
        self.verticalScrollBar().valueChanged.connect(self._remember_position)

    @property
    def messages(self) -> tuple[MessageWidget, ...]:
        """The messages shown, top to bottom."""
        return tuple(self._messages)

    def clear(self) -> None:
        self._repaint.stop()
        self._streaming = None
        self.remove_from(0)

    def remove_from(self, index: int) -> list[MessageWidget]:
        """Take the messages from ``index`` on off the view (negative: from the end); they are
        returned, already scheduled for deletion (their texts stay readable until the event
        loop runs)."""
        removed = self._messages[index:]
        del self._messages[index:]
        for widget in removed:
            widget.deleteLater()
        return removed

    def index_of(self, message_id: int) -> int | None:
        return next((i for i, m in enumerate(self._messages) if m.message_id == message_id), None)

    def add_message(
        self,
        role: str,
        text: str,
        *,
        message_id: int | None = None,
        sources: list[dict[str, Any]] | None = None,
        cited: set[int] | None = None,
    ) -> MessageWidget:
        widget = MessageWidget(role, text, message_id)
        widget.copy_requested.connect(lambda t: QGuiApplication.clipboard().setText(t))
        widget.citation_clicked.connect(self.citation_clicked)
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.edit_requested.connect(self.edit_requested)
        widget.quick_action_requested.connect(self.quick_action_requested)
        if role == "assistant":
            widget.version_requested.connect(
                lambda step: (
                    widget.message_id is not None
                    and self.version_requested.emit(widget.message_id, step)
                )
            )
            widget.rating_requested.connect(
                lambda value: (
                    widget.message_id is not None
                    and self.rating_requested.emit(widget.message_id, value)
                )
            )
            widget.correction_requested.connect(
                lambda: (
                    widget.message_id is not None
                    and self.correction_requested.emit(widget.message_id)
                )
            )
        if sources:
            widget.set_sources(sources, cited)
        self._layout.insertWidget(self._layout.count() - 1, widget)
        self._messages.append(widget)
        self._at_bottom = True
        return widget

    def restyle(self) -> None:
        for widget in self.messages:
            widget.restyle()

    def find_next(self, text: str) -> bool:
        """Select the next occurrence of ``text`` after the current one, wrapping around, and
        scroll to it."""
        if not text or not self.messages:
            return False
        start = next(
            (i for i, m in enumerate(self.messages) if m.body.textCursor().hasSelection()), 0
        )
        order = self.messages[start:] + self.messages[:start]
        for offset, widget in enumerate(order):
            if offset > 0:
                widget.body.moveCursor(QTextCursor.MoveOperation.Start)
            if widget.body.find(text):
                for other in self.messages:
                    if other is not widget:
                        other.body.moveCursor(QTextCursor.MoveOperation.Start)
                rect = widget.body.cursorRect()
                self.ensureVisible(0, widget.y() + widget.body.y() + rect.y(), 0, 60)
                return True
        order[0].body.moveCursor(QTextCursor.MoveOperation.Start)
        return order[0].body.find(text)

    def find_status(self, text: str) -> tuple[int, int]:
        """Which occurrence of ``text`` is selected (1-based; 0: none) and how many there are
        (case-insensitive, as :meth:`find_next` finds them)."""
        wanted, current, total = text.casefold(), 0, 0
        for widget in self._messages if wanted else ():
            plain, starts, at = widget.body.toPlainText().casefold(), [], 0
            while (at := plain.find(wanted, at)) >= 0:
                starts.append(at)
                at += len(wanted)
            cursor = widget.body.textCursor()
            if cursor.hasSelection():
                current = total + 1 + sum(start < cursor.selectionStart() for start in starts)
            total += len(starts)
        return current, total

    # -- streaming ------------------------------------------------------------------------------

    def start_answer(self) -> MessageWidget:
        self._streaming = self.add_message("assistant", "")
        self._streaming.set_status("Searching your documents…")
        self._pending = ""
        self._repaint.start()
        return self._streaming

    def append_token(self, text: str) -> None:
        self._pending += text
        self._dirty = True

    def _flush(self) -> None:
        if self._dirty and self._streaming is not None:
            self._dirty = False
            self._streaming.set_text(self._pending)

    def finish_answer(self) -> MessageWidget | None:
        self._repaint.stop()
        self._dirty = True
        self._flush()
        widget, self._streaming = self._streaming, None
        return widget

    @property
    def streaming(self) -> MessageWidget | None:
        return self._streaming

    def _remember_position(self, value: int) -> None:
        self._at_bottom = value >= self.verticalScrollBar().maximum() - 40

    def _follow(self, _minimum: int, maximum: int) -> None:
        if self._at_bottom:
            self.verticalScrollBar().setValue(maximum)


class Composer(QWidget):
    """Enter sends, Shift+Enter starts a new line; the button turns into Stop while answering."""

    send_requested = Signal(str)
    stop_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Composer")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 12)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("ComposerEditor")
        self.editor.setPlaceholderText(
            "Ask about your documents…  (Enter sends, Shift+Enter: new line)"
        )
        self.editor.setAccessibleName("Question")
        self.editor.setFixedHeight(72)
        self.editor.setTabChangesFocus(True)  # Tab moves on to Send (a question needs no tabs)
        self.editor.installEventFilter(self)
        self.button = QPushButton("Send")
        self.button.setObjectName("SendButton")
        self.button.setAccessibleName("Send")
        self.button.setMinimumWidth(84)
        self.button.clicked.connect(self._on_button)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.button)
        self._busy = False

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.button.setText("Stop" if busy else "Send")
        self.button.setAccessibleName("Stop" if busy else "Send")
        self.button.setProperty("stop", busy)
        self.button.style().unpolish(self.button)
        self.button.style().polish(self.button)

    def _on_button(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self._send()

    def _send(self) -> None:
        text = self.editor.toPlainText().strip()
        if text and not self._busy:
            self.editor.clear()
            self.send_requested.emit(text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.editor and isinstance(event, QKeyEvent):
            enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            if event.type() == QEvent.Type.KeyPress and enter and not shift:
                self._send()
                return True
        return super().eventFilter(watched, event)
