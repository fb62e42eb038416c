"""The small things a new user trips over (issue "answers you can trust", item 6), each on the
real widgets: Tab leaves the question box, the find bar counts and closes, Copy says so, the
dark theme dims disabled buttons and shows Stop plainly, the Models dialog closes, a document
no program opens says so, and a small window takes room from the side columns first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.ui import passage_dialog
from anyllm_desktop.ui.chat_view import Composer
from anyllm_desktop.ui.columns import Columns
from anyllm_desktop.ui.conversation import ConversationPanel
from anyllm_desktop.ui.message_widget import COPIED_MS
from anyllm_desktop.ui.passage_dialog import PassageDialog
from anyllm_desktop.ui.theme import apply_theme


@pytest.fixture
def dark() -> Iterator[None]:
    apply_theme("dark", 10)
    yield
    apply_theme("system", 10)


def test_tab_leaves_the_question_box(qtbot: QtBot) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.show()
    composer.editor.setFocus()
    qtbot.waitUntil(composer.editor.hasFocus)
    qtbot.keyClick(composer.editor, Qt.Key.Key_Tab)
    assert composer.editor.toPlainText() == "" and not composer.editor.hasFocus()


def test_the_find_bar_counts_matches_and_closes(qtbot: QtBot) -> None:
    panel = ConversationPanel(lambda state: state)
    qtbot.addWidget(panel)
    panel.show()
    panel.chat_view.add_message("user", "How do I configure apt?")
    panel.chat_view.add_message("assistant", "Apt reads /etc/apt/sources.list; apt is the tool.")
    panel.show_find()
    panel.find_bar.setText("apt")
    assert panel.find_count.text() == "1 of 4"
    qtbot.keyClick(panel.find_bar, Qt.Key.Key_Return)
    assert panel.find_count.text() == "2 of 4"
    panel.find_bar.setText("dpkg")
    assert panel.find_count.text() == "No matches"
    assert panel.close_find() and not panel.find_row.isVisible()
    assert not panel.close_find()  # closed already: Esc goes on to stop an answer


def test_copy_says_copied_for_a_moment(qtbot: QtBot) -> None:
    panel = ConversationPanel(lambda state: state)
    qtbot.addWidget(panel)
    message = panel.chat_view.add_message("assistant", "Use R CMD INSTALL.")
    message.copy_button.click()
    assert QApplication.clipboard().text() == "Use R CMD INSTALL."
    assert message.copy_button.text() == "Copied ✓"
    qtbot.waitUntil(lambda: message.copy_button.text() == "Copy", timeout=COPIED_MS + 2000)


def test_dark_theme_dims_disabled_buttons_and_stop_stands_out(qtbot: QtBot, dark: None) -> None:
    palette = QApplication.palette()
    enabled = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    assert enabled.lightness() - disabled.lightness() > 80
    from anyllm_desktop.ui.style import STYLE_SHEET

    host = QWidget()
    host.setStyleSheet(STYLE_SHEET)
    composer = Composer()
    composer.setParent(host)
    qtbot.addWidget(host)
    host.show()
    composer.set_busy(True)
    image = composer.button.grab().toImage()
    inside = QColor(image.pixel(8, image.height() // 2))
    assert inside.red() > 140 and inside.green() < 60  # a red button with white text


def test_a_document_no_program_opens_says_so(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The Models dialog's Close: tests/qt/test_settings_and_models.py.)"""
    note = tmp_path / "notes.xyz"
    note.write_text("Some notes.")
    passage = Passage(n=1, document="notes", path=str(note), page=None, section="",
                      text="Some notes.")  # fmt: skip
    dialog = PassageDialog(passage.to_dict())
    qtbot.addWidget(dialog)
    warned: list[str] = []
    monkeypatch.setattr(passage_dialog.QDesktopServices, "openUrl", lambda _url: False)
    monkeypatch.setattr(passage_dialog.QMessageBox, "warning",
                        lambda _parent, _title, text: warned.append(text))  # fmt: skip
    dialog.open_button.click()
    assert warned and "notes.xyz" in warned[0] and str(note) in warned[0]
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None and buttons.button(QDialogButtonBox.StandardButton.Close)


def test_a_smaller_window_takes_room_from_the_side_columns_first(qtbot: QtBot) -> None:
    sides = [QWidget(), QWidget(), QWidget()]
    for widget in sides:
        widget.setMinimumWidth(150)
    columns = Columns(*sides)
    qtbot.addWidget(columns)
    columns.resize(1280, 600)
    columns.show()
    columns.setSizes([270, 640, 370])
    before = columns.sizes()
    columns.resize(1000, 600)
    qtbot.waitUntil(lambda: columns.width() == 1000)
    sizes = columns.sizes()
    assert abs(sizes[1] - before[1]) <= 2, (before, sizes)  # (the splitter rounds)
    assert 150 <= sizes[0] < before[0] and 150 <= sizes[2] < before[2], (before, sizes)
    columns.resize(1300, 600)  # growing: the chat takes the room
    qtbot.waitUntil(lambda: columns.width() == 1300)
    assert columns.sizes()[1] > before[1] + 250 and columns.sizes()[0] == sizes[0]
