"""The conversation: message bubbles with Markdown, copy buttons and sources, streamed smoothly.

Tokens are collected as they arrive and the open answer is re-rendered at most ~30 times a
second (``REPAINT_MS``), so a fast model never floods the GUI thread with layout work.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QTextCursor, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.ui.evidence_html import evidence_html, mark_missing, unsupported_html
from anyllm_desktop.ui.markdown_view import markdown_to_html, plain_to_html

REPAINT_MS = 33
#: How long a message's Copy button says "Copied ✓".
COPIED_MS = 1500


def _where(source: dict[str, Any]) -> str:
    passage = Passage.from_dict(source)
    section = f" — {passage.section}" if passage.section else ""
    return f"{passage.place}{section}"


class MessageWidget(QFrame):
    """One message. Assistant messages render Markdown, link [n] to their passages and list
    their sources underneath."""

    citation_clicked = Signal(dict)
    copy_requested = Signal(str)
    regenerate_requested = Signal()
    edit_requested = Signal(int, str)
    #: -1: the earlier version of this answer, 1: the later one.
    version_requested = Signal(int)

    def __init__(self, role: str, text: str = "", message_id: int | None = None) -> None:
        super().__init__()
        self.role = role
        self.text = text
        self.message_id = message_id
        self.sources: list[dict[str, Any]] = []
        self.cited: set[int] = set()
        self.evidence: list[dict[str, Any]] = []
        self.unsupported: list[dict[str, Any]] = []
        self.setObjectName("UserMessage" if role == "user" else "AssistantMessage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        header = QHBoxLayout()
        self.title = QLabel("You" if role == "user" else "Assistant")
        self.title.setObjectName("MessageTitle")
        # Never wider than the view: a long model name is cut, not scrolled.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        header.addWidget(self.title)
        header.addStretch(1)
        self.copy_button = self._tool("Copy", "Copy this message")
        self.copy_button.clicked.connect(self._copy)
        header.addWidget(self.copy_button)
        if role == "user":
            self.edit_button = self._tool("Edit", "Edit this question and send it again")
            self.edit_button.clicked.connect(self._edit)
            header.addWidget(self.edit_button)
        else:
            self.previous_version = self._tool("‹", "The earlier answer")
            self.previous_version.clicked.connect(lambda: self.version_requested.emit(-1))
            self.version_label = QLabel()
            self.version_label.setAccessibleName("Answer version")
            self.next_version = self._tool("›", "The later answer")
            self.next_version.clicked.connect(lambda: self.version_requested.emit(1))
            for widget in (self.previous_version, self.version_label, self.next_version):
                header.addWidget(widget)
                widget.hide()
            self.regenerate_button = self._tool("Regenerate", "Answer this question again")
            self.regenerate_button.clicked.connect(self.regenerate_requested)
            header.addWidget(self.regenerate_button)
        layout.addLayout(header)

        self.body = QTextBrowser()
        self.body.setObjectName("MessageBody")
        self.body.setOpenLinks(False)
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.body.setAccessibleName("Your question" if role == "user" else "Answer")
        self.body.anchorClicked.connect(self._on_anchor)
        self.body.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        layout.addWidget(self.body)

        self.checks_label = self._rich_label("Checks")  # what no passage backs
        self.evidence_label = self._rich_label("Evidence")
        layout.addWidget(self.checks_label)
        layout.addWidget(self.evidence_label)
        self.sources_label = QLabel()
        self.sources_label.setObjectName("Sources")
        self.sources_label.setWordWrap(True)
        self.sources_label.setTextFormat(Qt.TextFormat.RichText)
        self.sources_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.sources_label.linkActivated.connect(self._on_source_link)
        self.sources_label.hide()
        layout.addWidget(self.sources_label)
        self.status = QLabel()
        self.status.setObjectName("MessageStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        layout.addWidget(self.status)
        self.set_text(text)

    def _copy(self) -> None:
        """Copied, and it says so for a moment."""
        self.copy_requested.emit(self.text)
        self.copy_button.setText("Copied ✓")
        QTimer.singleShot(COPIED_MS, self.copy_button, lambda: self.copy_button.setText("Copy"))

    def _rich_label(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        label.setOpenExternalLinks(False)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        label.linkActivated.connect(self._on_source_link)
        label.hide()
        return label

    def _tool(self, text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setAutoRaise(True)
        return button

    def set_text(self, text: str) -> None:
        self.text = text
        if self.role == "user":
            self.body.setHtml(plain_to_html(text))
        else:
            valid = {int(s["n"]) for s in self.sources}
            rendered = markdown_to_html(text, link_citations=valid)
            self.body.setHtml(mark_missing(rendered, self.unsupported))

    def set_sources(self, sources: list[dict[str, Any]], cited: set[int] | None = None) -> None:
        self.sources = sources
        self.cited = cited or set()
        if not sources:
            self.sources_label.hide()
            return
        cited = cited or set()
        lines = []
        for source in sources:
            n = int(source["n"])
            mark = "<b>" if n in cited else ""
            end = "</b>" if n in cited else ""
            lines.append(f"{mark}<a href='source:{n}'>[{n}]</a> {_where(source)}{end}")
        self.sources_label.setText("<b>Sources</b><br>" + "<br>".join(lines))
        self.sources_label.show()
        self.set_text(self.text)

    def set_versions(self, shown: int, count: int) -> None:
        """ "‹ 2/3 ›": which of the kept answers to this question is shown (1-based)."""
        for widget in (self.previous_version, self.version_label, self.next_version):
            widget.setVisible(count > 1)
        self.version_label.setText(f"{shown}/{count}")
        self.previous_version.setEnabled(shown > 1)
        self.next_version.setEnabled(shown < count)

    def set_checks(self, evidence: list[dict[str, Any]],
                   unsupported: list[dict[str, Any]]) -> None:  # fmt: skip
        """The evidence quoted under the answer, and what no passage backs, marked in it."""
        self.evidence, self.unsupported = evidence, unsupported
        for label, text in ((self.evidence_label, evidence_html(evidence)),
                            (self.checks_label, unsupported_html(unsupported))):  # fmt: skip
            label.clear()
            label.setText(text)
            label.setVisible(bool(text))
        self.set_text(self.text)

    def restyle(self) -> None:
        """Render again, after a theme change: rich text keeps the link colours of the palette
        it was laid out with (and QLabel skips setting the same text again)."""
        self.sources_label.clear()
        self.set_sources(self.sources, self.cited)
        self.set_checks(self.evidence, self.unsupported)

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setProperty("error", error)
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _fit_height(self) -> None:
        height = int(self.body.document().size().height()) + 6
        self.body.setFixedHeight(max(height, 24))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.body.document().setTextWidth(self.body.viewport().width())
        self._fit_height()

    def _passage(self, n: int) -> dict[str, Any] | None:
        """Passage ``n`` with the evidence sentences it holds (``highlights``: the passage
        view marks them, on the rendered page too)."""
        source = next((s for s in self.sources if int(s["n"]) == n), None)
        if source is None:
            return None
        return {**source, "highlights": [e["text"] for e in self.evidence if e["n"] == n]}

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "cite" and (source := self._passage(int(url.path() or 0))):
            self.citation_clicked.emit(source)

    def _on_source_link(self, link: str) -> None:
        """``source:n`` (the sources list) or ``evidence:i`` (a quoted sentence)."""
        kind, _, number = link.partition(":")
        if kind == "evidence":
            if not 0 <= int(number) < len(self.evidence):
                return
            item = self.evidence[int(number)]
            source = self._passage(int(item["n"]))
            if source is not None:  # this sentence first: the view scrolls to the first
                rest = [t for t in source["highlights"] if t != item["text"]]
                self.citation_clicked.emit({**source, "highlights": [item["text"], *rest]})
        elif (source := self._passage(int(number))) is not None:
            self.citation_clicked.emit(source)

    def _edit(self) -> None:
        if self.message_id is not None:
            self.edit_requested.emit(self.message_id, self.text)


class ChatView(QScrollArea):
    """Messages top to bottom; the open answer streams into the last one."""

    citation_clicked = Signal(dict)
    regenerate_requested = Signal()
    edit_requested = Signal(int, str)
    #: (message id, -1 or 1): show the earlier or later version of that answer.
    version_requested = Signal(int, int)

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
        if role == "assistant":
            widget.version_requested.connect(
                lambda step: (
                    widget.message_id is not None
                    and self.version_requested.emit(widget.message_id, step)
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
