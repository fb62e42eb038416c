"""The chat widgets on their own (no model, no library): composer keys, throttled streaming,
sources and citation links, find."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from pytestqt.qtbot import QtBot

from anyllm_desktop.ui.chat_view import REPAINT_MS, ChatView, Composer

SOURCE = {
    "n": 1,
    "document": "Guide",
    "path": "/docs/guide.pdf",
    "page": 12,
    "section": "Install",
    "text": "Run the installer.",
    "score": 0.8,
    "sheet": "",
}


def test_enter_sends_and_shift_enter_adds_a_line(qtbot: QtBot) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    sent: list[str] = []
    composer.send_requested.connect(sent.append)
    qtbot.keyClicks(composer.editor, "first line")
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.editor, "second line")
    assert not sent
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    assert sent == ["first line\nsecond line"] and composer.editor.toPlainText() == ""
    composer.set_busy(True)
    stops: list[bool] = []
    composer.stop_requested.connect(lambda: stops.append(True))
    composer.button.click()
    assert stops == [True] and composer.button.text() == "Stop"


def test_tokens_repaint_throttled_and_citations_open_their_passage(qtbot: QtBot) -> None:
    view = ChatView()
    qtbot.addWidget(view)
    view.show()
    widget = view.start_answer()
    widget.set_sources([SOURCE])
    for piece in ["Run ", "the ", "installer ", "[1]."]:
        view.append_token(piece)
    assert widget.text == ""  # not repainted per token
    qtbot.wait(REPAINT_MS * 3)
    assert widget.text == "Run the installer [1]."
    assert 'href="cite:1"' in widget.body.toHtml()
    assert "Guide, page 12" in widget.sources_label.text()
    opened: list[dict] = []
    view.citation_clicked.connect(opened.append)
    widget.body.anchorClicked.emit(QUrl("cite:1"))
    widget.sources_label.linkActivated.emit("source:1")
    assert opened == [{**SOURCE, "highlights": []}] * 2  # (no evidence from this passage)
    assert view.finish_answer() is widget and view.streaming is None


def test_find_walks_through_the_messages(qtbot: QtBot) -> None:
    view = ChatView()
    qtbot.addWidget(view)
    view.show()
    view.add_message("user", "Where is the apt configuration?")
    view.add_message("assistant", "The apt configuration lives in /etc/apt [1].")
    assert view.find_next("apt configuration")
    assert view.messages[0].body.textCursor().selectedText() == "apt configuration"
    assert view.find_next("apt configuration")
    assert view.messages[1].body.textCursor().selectedText() == "apt configuration"
    assert not view.find_next("nowhere to be found")


def test_a_cited_pdf_page_is_shown_in_the_app(qtbot: QtBot) -> None:
    from anyllm_desktop.ui.passage_dialog import PassageDialog
    from tests.e2e.conftest import DATA

    pdf = {**SOURCE, "path": str(DATA / "reportlab-userguide.pdf"), "page": 3}
    dialog = PassageDialog(pdf)
    qtbot.addWidget(dialog)
    assert dialog.page_view is not None
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=10_000)
    assert dialog.page_view.pixmap().width() == 720
    assert (
        dialog.page_label.text().startswith("Page 3 of ") and "(cited)" in dialog.page_label.text()
    )
    dialog.next_button.click()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=10_000)
    assert (
        dialog.page_label.text().startswith("Page 4 of ")
        and "cited" not in dialog.page_label.text()
    )

    text_only = PassageDialog({**SOURCE, "path": str(DATA / "debian-faq-archives.html")})
    qtbot.addWidget(text_only)
    assert text_only.page_view is None and text_only.open_button.isEnabled()


def test_the_context_indicator_says_how_full_the_window_was_and_what_was_left_out() -> None:
    from anyllm_desktop.ui.answer_controller import context_use

    short, detail = context_use({"prompt_tokens": 1200, "completion_tokens": 104,
                                 "context_size": 8192, "passages_left_out": 2})  # fmt: skip
    assert short == "1,304 / 8,192 tokens (some left out)"
    assert "prompt used 1,200 (15%)" in detail and "2 passages did not fit" in detail
    assert context_use({}) == ("", "")  # an answer from before the indicator
