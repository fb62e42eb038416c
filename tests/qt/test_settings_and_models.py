"""Settings, workspace settings and the model manager through their dialogs, offscreen, with
the real library (no model answers here)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox
from pytestqt.qtbot import QtBot

from tests.qt.helpers import ready_window

pytestmark = pytest.mark.e2e


def _header_only_gguf(path: Path, name: str) -> Path:
    """A valid GGUF header (no tensors): enough for the manager to read and import."""

    def text(value: str) -> bytes:
        return struct.pack("<Q", len(value.encode())) + value.encode()

    pairs = [("general.architecture", "llama"), ("general.name", name)]
    body = b"".join(text(k) + struct.pack("<I", 8) + text(v) for k, v in pairs)
    body += text("llama.context_length") + struct.pack("<I", 4) + struct.pack("<I", 4096)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs) + 1) + body)
    return path


def test_settings_round_trip_and_apply_without_restart(qtbot: QtBot, anyllm_home: Path) -> None:
    window = ready_window(qtbot, anyllm_home)
    dialog = window.open_settings()
    assert dialog is not None
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == [
        "Model", "Providers", "Embedding", "Privacy", "Appearance", "Storage", "API server"
    ]  # fmt: skip
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.font_size.setValue(13)
    dialog.threads.setValue(1)
    dialog.offline.setChecked(False)
    dialog.done(QDialog.DialogCode.Accepted)
    stored = json.loads((anyllm_home / "settings.json").read_text())
    assert (stored["theme"], stored["font_size"], stored["threads"]) == ("dark", 13, 1)
    assert stored["offline_mode"] is False
    assert window.status.network_label.text() == "● Online"
    # Dark at once, no restart.
    qtbot.waitUntil(lambda: window.palette().window().color().lightness() < 80, timeout=5_000)
    # A changed engine setting reloads the model, with progress, off the GUI thread.
    qtbot.waitUntil(lambda: window.backend.chat.host.provider.threads == 1, timeout=60_000)
    again = window.open_settings()
    assert again is not None
    assert again.theme.currentData() == "dark" and again.font_size.value() == 13
    assert not again.offline.isChecked()
    again.reject()
    window.close()


def test_workspace_settings_round_trip(qtbot: QtBot, anyllm_home: Path) -> None:
    window = ready_window(qtbot, anyllm_home)
    window.backend.create_workspace("Notes")
    window.navigator.select_workspace("Notes")
    dialog = window.workspace_actions.open_workspace_settings()
    assert dialog is not None
    assert dialog.embedder.currentData() == window.backend.workspace("Notes").embedding_model
    assert dialog.embedder_changed() is None and not dialog.chunking_changed()
    dialog.mode.setCurrentIndex(dialog.mode.findData("query"))
    dialog.system_prompt.setPlainText("Answer in French. Today is {date}.")
    dialog.temperature.setValue(0.7)
    dialog.top_k.setValue(6)
    dialog.threshold.setValue(0.35)
    dialog.history.setValue(3)
    dialog.refusal.setText("Rien dans vos documents.")
    dialog.done(QDialog.DialogCode.Accepted)
    workspace = window.backend.workspace("Notes")
    assert workspace.chat.mode == "query" and workspace.chat.temperature == 0.7
    assert workspace.chat.system_prompt.startswith("Answer in French")
    assert workspace.chat.history_turns == 3
    assert workspace.chat.refusal_message == "Rien dans vos documents."
    assert (workspace.retrieval.top_k, workspace.retrieval.similarity_threshold) == (6, 0.35)
    window.close()


def test_model_manager_lists_imports_links_and_deletes(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    window = ready_window(qtbot, anyllm_home)
    manager = window.open_model_manager()
    assert manager is not None
    first = manager.tree.topLevelItem(0)
    assert "SmolLM2" in first.text(0) and "in use" in first.text(0)
    assert first.text(2) == "Q4_1" and first.text(3) == "8,192" and first.text(4)
    assert not manager.download_button.isEnabled()  # offline mode: no downloads

    source = _header_only_gguf(tmp_path / "tiny-test.Q8_0.gguf", "Tiny Test")
    manager.import_file(source)
    qtbot.waitUntil(lambda: manager.worker is None, timeout=30_000)
    names = [manager.tree.topLevelItem(i).text(0) for i in range(manager.tree.topLevelItemCount())]
    assert "Tiny Test" in names, manager.status.text()
    assert (anyllm_home / "models" / "tiny-test.Q8_0.gguf").is_file()
    row = names.index("Tiny Test")
    assert manager.tree.topLevelItem(row).text(3) == "4,096"

    not_a_model = tmp_path / "notes.gguf"
    not_a_model.write_text("hello")
    manager.import_file(not_a_model)
    qtbot.waitUntil(lambda: manager.worker is None, timeout=30_000)
    assert "notes.gguf cannot be imported" in manager.status.text()

    linked = _header_only_gguf(tmp_path / "linked.gguf", "Linked")
    manager.import_file(linked, link=True)
    qtbot.waitUntil(lambda: manager.worker is None, timeout=30_000)
    assert (anyllm_home / "models" / "linked.gguf").is_symlink()
    buttons = manager.findChild(QDialogButtonBox)  # the dialog closes like any other
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Close).click()
    assert not manager.isVisible()

    row = [m.name for m in manager.models].index("Tiny Test")
    manager.backend.delete_model(manager.models[row])
    manager.refresh()
    assert not (anyllm_home / "models" / "tiny-test.Q8_0.gguf").exists()
    assert source.exists()  # the original stays where it was
    manager.reject()
    window.close()
