"""Quick actions and prompt templates in the real window with the real embedded model: a
passage's selected text summarized (streaming into its window, copied with its citation),
Classify into two labels, a document's Sentiment from the documents panel as a workflow job
(its row with the citation, kept as a run), "/summarize some text" in the composer, and an
unknown "/nope" naming the templates there are; the prompt library's dialog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from anyllm_desktop.core.events import Done, Error, Token
from anyllm_desktop.core.prompt_library import PromptLibrary
from anyllm_desktop.ui.main_window import MainWindow
from anyllm_desktop.ui.passage_dialog import PassageDialog
from anyllm_desktop.ui.prompt_library_dialog import PromptLibraryDialog
from anyllm_desktop.ui.quick_action_view import QuickActionView
from tests.qt.helpers import answer_message_boxes, ready_window
from tests.replay_server import Replay

REVIEW = ("# Blender review\n\nI love this blender. It is quiet, the soups are wonderful and "
          "it was easy to clean. Great value.\n")  # fmt: skip
PASSAGE = ("The river flooded the old mill in March. The town repaired the mill with money "
           "from a local fair, and it reopened in June as a museum about bread.")  # fmt: skip


def _window_with_document(qtbot: QtBot, home: Path, folder: Path) -> MainWindow:
    folder.mkdir()
    (folder / "review.md").write_text(REVIEW, encoding="utf-8")
    window = ready_window(qtbot, home)
    window.backend.create_workspace("Notes")
    window.navigator.select_workspace("Notes")
    window.workspace_actions.add_documents([folder / "review.md"])
    qtbot.waitUntil(lambda: window.backend.ingest_worker is None
                    and len(window.documents._documents) == 1, timeout=120_000)  # fmt: skip
    return window


def _finished(qtbot: QtBot, view: QuickActionView) -> None:
    qtbot.waitUntil(lambda: view.worker is None and view.job is None, timeout=120_000)


def test_quick_actions_on_a_passage_a_text_and_a_document(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    window = _window_with_document(qtbot, anyllm_home, tmp_path / "docs")
    source = {"n": 1, "document": "mill.pdf", "path": str(tmp_path / "mill.pdf"), "page": 4,
              "section": "History", "text": PASSAGE}  # fmt: skip
    window.show_passage(source)
    dialog = window.findChild(PassageDialog)
    assert dialog is not None
    cursor = dialog.text.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(len(PASSAGE), QTextCursor.MoveMode.KeepAnchor)
    dialog.text.setTextCursor(cursor)
    assert dialog.selected_text() == PASSAGE
    dialog.quick_action_requested.emit("summarize", dialog.selected_text(), source)
    view = window.quick.views[-1]
    assert view.worker is not None
    seen: list[object] = []
    view.worker.event.connect(lambda event: seen.append(type(event)))
    _finished(qtbot, view)
    assert Error not in seen, view.state.text()
    assert Token in seen and seen.index(Token) < seen.index(Done), "the answer streams"
    assert view.result is not None and view.result.text.strip()
    assert view.body.toPlainText().strip()
    assert "mill.pdf, page 4 — History" in view.where.text()
    view.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert view.result.text.strip() in copied and "Source: mill.pdf, page 4" in copied
    assert view.copy_button.text() == "Copied ✓"
    saved = tmp_path / "summary.md"
    assert view.save(saved) and view.result.text.strip() in saved.read_text(encoding="utf-8")

    labels = ("kitchen appliance", "weather report")
    view = window.quick.on_text("classify", REVIEW, params={"labels": labels})
    assert view is not None
    _finished(qtbot, view)
    assert view.result is not None and view.result.value in labels

    window.documents.quick_action_requested.emit("sentiment", "review.md")
    view = window.quick.views[-1]
    assert view.job is not None and view.stop_button.text() == "Cancel"
    _finished(qtbot, view)
    qtbot.waitUntil(lambda: view.run_result is not None, timeout=10_000)
    table = view.results.table
    assert table.results.rowCount() == 1
    assert table.cell(0, 0) == "review.md"
    assert table.cell(0, 1) in ("positive", "neutral", "negative")
    assert table.cell(0, 2) == "review.md, Blender review"  # the row's citation: its section
    assert [r.name for r in window.backend.workflow_runs("Notes")] == ["Sentiment of review.md"]


def test_slash_commands_run_a_template_or_name_the_templates_there_are(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    window = _window_with_document(qtbot, anyllm_home, tmp_path / "docs")
    before = len(window.chat_view.messages)
    window.composer.editor.setPlainText(f"/summarize {PASSAGE}")
    window.composer.button.click()
    view = window.quick.views[-1]
    assert view.windowTitle().startswith("/summarize")
    _finished(qtbot, view)
    assert view.result is not None and view.result.text.strip()
    assert len(window.chat_view.messages) == before, "a template is no chat question"

    window.composer.editor.setPlainText("/nope this")
    window.composer.button.click()
    notice = window.conversation.notice.text()
    assert "There is no prompt template /nope" in notice
    assert "/summarize, /translate, /keypoints" in notice
    assert window.composer.editor.toPlainText() == "/nope this"
    assert len(window.quick.views) == 1


def test_prompt_library_dialog_adds_edits_and_deletes_templates(
    qtbot: QtBot, anyllm_home: Path
) -> None:
    library = PromptLibrary(anyllm_home / "prompts.json")
    dialog = PromptLibraryDialog(library)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 3 and dialog.name.isReadOnly()  # /summarize stays its name
    dialog.new_button.click()
    dialog.name.setText("/ELI5")
    dialog.prompt.setPlainText("Explain to a child in {{language}}:\n{{text}}")
    assert dialog.save()
    assert dialog.list.currentItem().text() == "/eli5"
    assert "Run it as: /eli5 LANGUAGE [text, or the last answer]" in dialog.state.text()
    dialog.name.setText("bad name")
    assert not dialog.save() and "cannot be a template's name" in dialog.state.text()
    dialog.name.setText("eli5")
    dialog.delete_button.click()
    assert library.get("eli5") is None and dialog.list.count() == 3


def test_a_cloud_answering_model_needs_the_agreement_and_gets_redacted_text(
    qtbot: QtBot, anyllm_home: Path, monkeypatch: pytest.MonkeyPatch, server: Replay
) -> None:
    from tests.e2e.test_workflow_cloud import answer, use_replay_provider

    window = ready_window(qtbot, anyllm_home)
    use_replay_provider(window.backend.runtime, server, monkeypatch)
    window.backend.create_workspace("Cloudy")
    window.backend.update_chat_settings("Cloudy", provider="replay", redact_personal_data=True)
    window.navigator.select_workspace("Cloudy")
    text = "Write to ada.lovelace@example.com about the mill's reopening in June."
    asked: list[str] = []

    answer_message_boxes(monkeypatch, QMessageBox.StandardButton.No, asked)
    assert window.quick.on_text("summarize", text, params={}) is None
    assert "sends the text to replay (cloud.test)" in asked[0] and "Personal data" in asked[0]
    assert server.requests == [] and "Nothing was sent." in window.conversation.notice.text()

    answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Yes, asked)
    server.replies = [answer("The mill reopens in June.")]
    view = window.quick.on_text("summarize", text, params={})
    assert view is not None
    _finished(qtbot, view)
    assert view.result is not None and view.result.text == "The mill reopens in June."
    assert "replay" in window.backend.workspace("Cloudy").chat.cloud_consent
    sent = json.dumps(server.requests[0]["body"])
    assert "reopening in June" in sent and "ada.lovelace@example.com" not in sent
    log = (anyllm_home / "logs" / "outbound.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(log) == 1 and json.loads(log[0])["provider"] == "replay"
    server.replies = [answer("Again.")]
    again = window.quick.on_text("summarize", text, params={})  # agreed once: not asked again
    assert again is not None and len(asked) == 2
    _finished(qtbot, again)
