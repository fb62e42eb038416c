"""The user's verdict on an answer: ✓ Good, ✗ Wrong and "Correct…" in each answer's header.
Both are kept with the message; answers rated good and corrected ones become training examples
(`anyllm dataset build -w NAME --chats`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog, QWidget

if TYPE_CHECKING:
    from anyllm_desktop.ui.chat_view import ChatView
    from anyllm_desktop.ui.message_widget import MessageWidget
    from anyllm_desktop.workers.backend import Backend


class AnswerFeedback:
    def __init__(self, backend: Backend, chat_view: ChatView, parent: QWidget) -> None:
        self.backend, self.chat_view, self._parent = backend, chat_view, parent
        chat_view.rating_requested.connect(self.rate)
        chat_view.correction_requested.connect(self.correct)

    def rate(self, message_id: int, rating: int) -> None:
        widget = self._widget(message_id)
        if widget is None:
            return
        message = self.backend.rate_answer(message_id, rating, widget.correction)
        widget.set_feedback(message.rating, message.correction)

    def correct(self, message_id: int) -> None:
        """Ask for the right answer (the answer, or the last correction, to start from); an
        empty one takes the correction back."""
        widget = self._widget(message_id)
        if widget is None:
            return
        text, ok = QInputDialog.getMultiLineText(
            self._parent, "Correct this answer",
            "The right answer (kept as a training example; empty to remove the correction):",
            widget.correction or widget.text,
        )  # fmt: skip
        if not ok:
            return
        rating = 1 if widget.good_button.isChecked() else -1 if widget.bad_button.isChecked() else 0
        message = self.backend.rate_answer(message_id, rating, text)
        widget.set_feedback(message.rating, message.correction)

    def _widget(self, message_id: int) -> MessageWidget | None:
        index = self.chat_view.index_of(message_id)
        return self.chat_view.messages[index] if index is not None else None
