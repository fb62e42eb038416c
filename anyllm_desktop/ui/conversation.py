"""The middle column: notices, the repair bar, the chat's header, the find bar, the welcome
page or the conversation, and the question box."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.ui.chat_view import ChatView, Composer
from anyllm_desktop.ui.library_repair import RepairBar
from anyllm_desktop.ui.model_picker import ElidedComboBox, ModelOffer


def welcome_html(*, offline: bool, chat_model: str, embedding_model: str, home: str,
                 state: str) -> str:  # fmt: skip
    where = (
        "Everything runs on this computer; nothing is sent anywhere."
        if offline
        else "Cloud providers are enabled in the settings."
    )
    return (
        "<h2>Chat with your own documents</h2>"
        f"<p>{where}</p>"
        "<p><b>1.</b> Drop files or folders on this window (PDF, Word, PowerPoint, Excel, "
        "e-books, web pages, Markdown, text, e-mail) — or use <i>Add files…</i>.<br>"
        "<b>2.</b> Ask a question below. Answers cite the passages they use, with page "
        "numbers; click a citation to read it.</p>"
        f"<p>Chat model: <b>{chat_model}</b> · Embedding model: <b>{embedding_model}</b></p>"
        f"<p><i>{state}</i></p>"
        f"<p style='color: gray'>Data folder: {home}</p>"
    )


class ChatHeader(QLabel):
    """ "**Workspace** · chat title", the title cut with "…" to the room there is (its tooltip
    holds it whole); a long title never widens the column."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("ChatHeader")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._workspace: str | None = None
        self._title = ""

    def show_chat(self, workspace: str | None, title: str) -> None:
        self._workspace, self._title = workspace, title
        self.setToolTip(f"{workspace} · {title}" if workspace else "")
        self._render()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._render()

    def _render(self) -> None:
        if not self._workspace:
            self.setText("")
            return
        bold = QFont(self.font())
        bold.setBold(True)
        lead = QFontMetrics(bold).horizontalAdvance(self._workspace)
        metrics = self.fontMetrics()
        room = self.contentsRect().width() - lead - metrics.horizontalAdvance(" · ")
        title = metrics.elidedText(self._title, Qt.TextElideMode.ElideRight, max(0, room))
        after = f" · {escape(title)}" if title else ""
        self.setText(f"<b>{escape(self._workspace)}</b>{after}")


class ConversationPanel(QWidget):
    def __init__(self, welcome: Callable[[str], str]) -> None:
        """``welcome`` renders the welcome page for a state line ("Ready.")."""
        super().__init__()
        self._welcome_for = welcome
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.notice = QLabel()
        self.notice.setObjectName("Notice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        self.header = ChatHeader()
        self.model_picker = ElidedComboBox()
        self.model_picker.setAccessibleName("Model answering in this workspace")
        self.model_picker.setToolTip("Who answers in this workspace: a local model or a cloud one")
        self.model_picker.setEnabled(False)
        header_row = QWidget()
        row = QHBoxLayout(header_row)
        row.setContentsMargins(0, 0, 12, 0)
        row.addWidget(self.header, 1)
        row.addWidget(self.model_picker)
        self.model_offer = ModelOffer()
        self.welcome = QLabel(welcome("Checking the bundled models…"))
        self.welcome.setObjectName("Welcome")
        self.welcome.setWordWrap(True)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.chat_view = ChatView()
        self.find_bar = QLineEdit()
        self.find_bar.setObjectName("FindBar")
        self.find_bar.setPlaceholderText("Find in this chat (Enter: next, Esc: close)")
        self.find_bar.setAccessibleName("Find in chat")
        self.find_bar.returnPressed.connect(self._find_next)
        self.find_bar.textChanged.connect(self._find_next)
        self.find_count = QLabel()
        self.find_count.setObjectName("FindCount")
        self.find_count.setAccessibleName("Matches")
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Close the find bar (Esc)")
        close.setAccessibleName("Close find")
        close.clicked.connect(self.close_find)
        self.find_row = QWidget()
        row = QHBoxLayout(self.find_row)
        row.setContentsMargins(12, 0, 12, 0)
        row.addWidget(self.find_bar, 1)
        row.addWidget(self.find_count)
        row.addWidget(close)
        self.find_row.hide()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.chat_view)
        self.composer = Composer()
        self.repair_bar = RepairBar()
        for widget in (self.notice, self.repair_bar, header_row, self.model_offer, self.find_row):
            layout.addWidget(widget)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.composer)

    def show_notice(self, text: str) -> None:
        """A non-blocking message at the top (never a modal dialog at start-up)."""
        current = self.notice.text()
        self.notice.setText(f"{current}\n{text}" if current else text)
        self.notice.show()

    def set_state(self, state: str) -> None:
        """The welcome page's state line ("Ready.", "The library needs attention.")."""
        self.welcome.setText(self._welcome_for(state))

    def show_welcome(self) -> None:
        self.pages.setCurrentWidget(self.welcome)

    def show_chat(self) -> None:
        self.pages.setCurrentWidget(self.chat_view)

    def set_header(self, workspace: str | None, title: str = "new chat") -> None:
        self.header.show_chat(workspace, title)

    def show_find(self) -> None:
        self.find_row.show()
        self.find_bar.setFocus()
        self.find_bar.selectAll()

    def close_find(self) -> bool:
        """Hide the find bar; whether it was open (Esc closes it before it stops an answer)."""
        was_open = self.find_row.isVisible()
        self.find_row.hide()
        return was_open

    def _find_next(self) -> None:
        """Select the next match and say which of how many ("2 of 5", "No matches")."""
        text = self.find_bar.text()
        self.chat_view.find_next(text)
        current, total = self.chat_view.find_status(text)
        if not text:
            self.find_count.clear()
        else:
            self.find_count.setText(f"{current} of {total}" if total else "No matches")
