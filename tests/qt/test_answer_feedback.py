"""✓ Good, ✗ Wrong and Correct… in an answer's header: each click is kept with the message in
the real library database and shown on the answer (the correction under it)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QInputDialog, QWidget
from pytestqt.qtbot import QtBot

from anyllm_desktop.store.records import Records
from anyllm_desktop.store.threads import Threads
from anyllm_desktop.ui.answer_feedback import AnswerFeedback
from anyllm_desktop.ui.conversation import ConversationPanel


def test_rating_and_correcting_an_answer_is_kept_and_shown(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "library.sqlite3"
    Records(database).create_workspace("R", "embedded:minilm")
    threads = Threads(database)
    threads.create(1, "a chat")
    threads.add_message(1, "user", "Which file lists apt's sources?")
    answer = threads.add_message(1, "assistant", "apt.conf")
    # The backend's rate_answer is the store's rate (workers/backend.py).
    backend = SimpleNamespace(rate_answer=threads.rate)
    panel = ConversationPanel(lambda state: state)
    qtbot.addWidget(panel)
    parent = QWidget()
    qtbot.addWidget(parent)
    feedback = AnswerFeedback(backend, panel.chat_view, parent)  # type: ignore[arg-type]
    panel.chat_view.add_message("user", "Which file lists apt's sources?")
    widget = panel.chat_view.add_message("assistant", "apt.conf", message_id=answer.id)

    widget.bad_button.click()
    assert threads.messages(1)[1].rating == -1 and widget.bad_button.isChecked()
    widget.good_button.click()  # the other verdict replaces it
    assert threads.messages(1)[1].rating == 1
    assert widget.good_button.isChecked() and not widget.bad_button.isChecked()
    widget.good_button.click()  # pressed again: taken back
    assert threads.messages(1)[1].rating == 0 and not widget.good_button.isChecked()

    asked: list[str] = []

    def answer_with(parent: QWidget, title: str, label: str, text: str) -> tuple[str, bool]:
        asked.append(text)
        return "/etc/apt/sources.list", True

    monkeypatch.setattr(QInputDialog, "getMultiLineText", answer_with)
    widget.correct_button.click()
    assert asked == ["apt.conf"]  # it starts from the answer
    kept = threads.messages(1)[1]
    assert (kept.rating, kept.correction) == (1, "/etc/apt/sources.list")
    assert widget.correction_label.text() == "Your correction: /etc/apt/sources.list"
    assert not widget.correction_label.isHidden() and widget.good_button.isChecked()
    widget.correct_button.click()
    assert asked[-1] == "/etc/apt/sources.list"  # then from the correction
    assert feedback.chat_view is panel.chat_view  # (kept alive to here: Qt holds its slots weakly)
