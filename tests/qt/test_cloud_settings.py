"""A cloud provider configured end to end in the GUI: Settings → Providers → Add (model list
fetched from a loopback server speaking the OpenAI format), offline mode off, the workspace
set to answer with it, the first-use agreement, the answer, the outbound log."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox
from pytestqt.qtbot import QtBot

from anyllm_desktop.store import secrets
from anyllm_desktop.ui.main_window import MainWindow
from anyllm_desktop.ui.settings_dialog import OutboundLogDialog
from tests.e2e.conftest import DATA
from tests.e2e.test_cloud_embeddings import _hashed_vectors
from tests.qt.helpers import ready_window
from tests.replay_server import Replay, Reply
from tests.unit.test_cloud_providers import OPENAI_STREAM

pytestmark = pytest.mark.e2e

KEY = "sk-gui-PLANTED-5e5e"


def _window_with_faq(qtbot: QtBot, home: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    """The main window with a workspace "FAQ" holding the Debian FAQ chapter, selected."""
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    window = ready_window(qtbot, home)
    window.backend.create_workspace("FAQ")
    window.backend.ingest("FAQ", [DATA / "debian-faq-archives.html"])
    qtbot.waitUntil(lambda: window.backend.ingest_worker is None, timeout=120_000)
    window.navigator.select_workspace("FAQ")
    return window


def test_a_provider_set_up_in_settings_answers_after_the_user_agrees(
    qtbot: QtBot, anyllm_home: Path, server: Replay, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = _window_with_faq(qtbot, anyllm_home, monkeypatch)
    backend = window.backend

    settings = window.open_settings()
    assert settings is not None
    settings.offline.setChecked(False)
    add = settings._open_provider(None)
    add.name.setText("replay")
    add.kind.setCurrentIndex(add.kind.findData("openai-compatible"))
    add.base_url.setText(f"{server.url}/v1")
    add.api_key.setText(KEY)
    backend.runtime.settings = settings.chosen()  # offline off takes effect on OK below
    server.replies = [Reply(chunks=[b'{"data": [{"id": "gpt-b"}, {"id": "gpt-a"}]}'])]
    add._fetch()
    qtbot.waitUntil(lambda: add.worker is None, timeout=10_000)
    assert [add.model.itemText(i) for i in range(add.model.count())] == ["gpt-a", "gpt-b"]
    add.model.setCurrentIndex(1)
    add._save()
    assert add.result() == QDialog.DialogCode.Accepted
    assert "No system keyring was found" in settings.provider_status.text()  # said plainly
    rows = [settings.provider_table.topLevelItem(i).text(0) for i in range(2)]
    assert rows == ["local", "replay"]
    assert settings.provider_table.topLevelItem(1).text(4) == "stored"
    settings.done(QDialog.DialogCode.Accepted)
    assert not backend.runtime.settings.offline_mode
    assert window.status.network_label.text() == "● Online"

    dialog = window.workspace_actions.open_workspace_settings()
    assert dialog is not None
    dialog.provider.setCurrentIndex(dialog.provider.findData("replay"))
    dialog.done(QDialog.DialogCode.Accepted)
    assert backend.workspace("FAQ").chat.provider == "replay"

    # The first question asks before anything is sent; "Send" sends it.
    def agree() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            assert "cloud.test" in box.text() and "FAQ" in box.text()
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            QTimer.singleShot(50, agree)

    server.replies = [Reply(chunks=OPENAI_STREAM)]
    QTimer.singleShot(50, agree)
    window.answers.ask("What is sid?")
    qtbot.waitUntil(lambda: window.answers.worker is None and len(server.requests) == 2,
                    timeout=30_000)  # fmt: skip
    qtbot.waitUntil(lambda: window.answers.worker is None, timeout=30_000)
    answer = window.chat_view.messages[-1]
    assert answer.text == "Sid is unstable [1]." and "replay" in answer.title.text()
    assert [m.role for m in window.chat_view.messages] == ["user", "assistant"]
    assert backend.workspace("FAQ").chat.cloud_consent == ["replay"]

    log = OutboundLogDialog(backend.outbound_log())
    qtbot.addWidget(log)
    assert log.table.topLevelItemCount() == 1
    assert log.table.topLevelItem(0).text(1) == "prompt"
    assert log.table.topLevelItem(0).text(4) == "cloud.test"
    for path in anyllm_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    window.close()


def test_a_cloud_embedder_is_chosen_for_a_workspace_after_the_user_agrees(
    qtbot: QtBot, anyllm_home: Path, server: Replay, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = _window_with_faq(qtbot, anyllm_home, monkeypatch)
    backend = window.backend
    passages = sum(d.chunks for d in backend.documents("FAQ"))

    settings = window.open_settings()
    assert settings is not None
    settings.offline.setChecked(False)
    add = settings._open_provider(None)
    add.name.setText("emb")
    add.kind.setCurrentIndex(add.kind.findData("openai"))
    assert add.embedding_model.text() == "text-embedding-3-small"  # the kind's usual one
    add.kind.setCurrentIndex(add.kind.findData("anthropic"))
    assert not add.embedding_model.isEnabled() and add.embedding_model.text() == ""
    add.kind.setCurrentIndex(add.kind.findData("openai-compatible"))
    add.base_url.setText(f"{server.url}/v1")
    add.model.setEditText("chat-x")
    add.embedding_model.setText("hashed-16")
    add._save()
    assert add.result() == QDialog.DialogCode.Accepted
    settings.done(QDialog.DialogCode.Accepted)

    dialog = window.workspace_actions.open_workspace_settings()
    assert dialog is not None
    model = "cloud:emb:hashed-16"
    assert dialog.embedder.findData(model) >= 0
    assert "cloud.test" in dialog.embedder.itemText(dialog.embedder.findData(model))
    dialog.embedder.setCurrentIndex(dialog.embedder.findData(model))

    shown: list[str] = []

    def agree() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            shown.append(box.text())
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            QTimer.singleShot(50, agree)

    server.respond = _hashed_vectors
    QTimer.singleShot(50, agree)
    dialog.done(QDialog.DialogCode.Accepted)
    assert f"all its {passages} passages to emb (cloud.test)" in shown[0]
    qtbot.waitUntil(lambda: backend.ingest_worker is None, timeout=60_000)
    assert backend.workspace("FAQ").embedding_model == model
    log = window.documents.current_log
    assert log is not None
    assert log.label.text() == f"Done: {passages} passages embedded with {model}."
    assert sum(len(r["body"]["input"]) for r in server.requests) == passages + 1  # and a probe

    log = OutboundLogDialog(backend.outbound_log())
    qtbot.addWidget(log)
    assert log.table.topLevelItem(0).text(1).endswith("texts to embed")
    window.close()
