from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from anyllm_desktop.models.catalog import ModelFile, ModelSpec
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.ui.main_window import MainWindow
from anyllm_desktop.workers.generator_worker import still_running
from tests.conftest import BIN_DIR


def _window(qtbot: QtBot, runtime: Runtime) -> MainWindow:
    window = MainWindow(runtime)
    qtbot.addWidget(window)
    window.show()
    return window


def test_window_shows_then_warm_up_reports_ready(qtbot: QtBot, anyllm_home: Path) -> None:
    window = _window(qtbot, Runtime.open(anyllm_home))
    assert window.windowTitle() == "anyllm-desktop"
    assert window.status.network_label.text() == "● Offline"
    assert "SmolLM2" in window.status.model_label.text()
    window.start_warm_up()
    qtbot.waitUntil(lambda: "Ready." in window.conversation.welcome.text(), timeout=60_000)
    assert window.composer.isEnabled()
    # Then the chat model loads, with progress, off the GUI thread.
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Ready", timeout=60_000)
    assert window.conversation.notice.isHidden()
    assert not window.status.progress.isVisible()
    window.close()


def test_closing_before_start_up_is_delivered_starts_nothing(
    qtbot: QtBot, anyllm_home: Path
) -> None:
    """The window closes after the library opened but before that news reached the GUI
    thread: the model load that would follow must not start on the closed model host (it
    used to wait forever, and the process aborted at exit with a running thread)."""
    window = _window(qtbot, Runtime.open(anyllm_home))
    startup = window.backend.start()
    assert startup.wait(120_000)  # ended; its "finished" is still queued for the GUI thread
    window.close()
    qtbot.wait(200)  # deliver it now
    assert still_running() == []
    with pytest.raises(RuntimeError, match="closed"):
        window.backend.chat.host.run(lambda provider: provider.model)  # type: ignore[union-attr]


def test_a_corrupt_settings_file_is_reported_not_fatal(qtbot: QtBot, anyllm_home: Path) -> None:
    anyllm_home.mkdir(parents=True)
    (anyllm_home / "settings.json").write_text("{{{ definitely not json")
    window = _window(qtbot, Runtime.open(anyllm_home))
    assert window.conversation.notice.isVisible()
    assert "could not be read" in window.conversation.notice.text()
    backups = list(anyllm_home.glob("settings.corrupt-*.json"))
    assert len(backups) == 1 and backups[0].name in window.conversation.notice.text()


def test_a_damaged_model_shows_which_file_and_how_to_fix(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "model.gguf"
    broken.write_bytes(b"not a model")
    spec = ModelSpec(
        id="test:broken",
        name="Broken Model",
        kind="chat",
        files=(ModelFile(broken, 999, "0" * 64, source="a test"),),
        license="MIT",
        fix_hint="download it again",
    )
    runtime = Runtime.open(anyllm_home)
    monkeypatch.setattr(runtime, "chat_model", lambda: spec)
    window = _window(qtbot, runtime)
    window.start_warm_up()
    qtbot.waitUntil(window.conversation.notice.isVisible, timeout=30_000)
    text = window.conversation.notice.text()
    assert "model.gguf" in text and "damaged" in text and "download it again" in text


def test_the_installed_entry_point_opens_the_window(
    child_env: dict[str, str], anyllm_home: Path
) -> None:
    done = subprocess.run(
        [str(BIN_DIR / "anyllm-desktop"), "--quit-after-start"],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "window shown" in done.stdout
    module = subprocess.run(
        [sys.executable, "-m", "anyllm_desktop", "--version"],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert module.stdout.startswith("anyllm-desktop ")
