"""The desktop app end to end, offscreen: real files dropped with a QDropEvent, the real
embedder and LanceDB, the bundled GGUF answering."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from anyllm_desktop.core.events import Token
from anyllm_desktop.ui.main_window import MainWindow
from tests.e2e.conftest import DATA
from tests.qt.helpers import drop_files, ready_window

pytestmark = pytest.mark.e2e

FAQ = DATA / "debian-faq-archives.html"


def _wait_answer(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.answers.worker is None, timeout=240_000)


def test_drop_index_ask_stream_sources_and_stop(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    window = ready_window(qtbot, anyllm_home)
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"\x00\x01 definitely not a zip" * 40)
    assert drop_files(window, [FAQ, broken])
    log = window.documents.current_log
    assert log is not None and log.isVisible()
    qtbot.waitUntil(lambda: window.backend.ingest_worker is None, timeout=240_000)

    # The good file is indexed, the bad one listed as failed; the results say why, by name.
    documents = window.documents.tree
    rows = {documents.topLevelItem(i).text(1) for i in range(documents.topLevelItemCount())}
    assert rows == {"Indexed", "Failed"}
    results = [log.results.item(i).text() for i in range(log.results.count())]
    assert any(r.startswith("✓ debian-faq-archives.html") for r in results), results
    failed = next(r for r in results if "broken.docx" in r)
    assert failed.startswith("✗") and len(failed) > len("✗ broken.docx — ") + 5
    assert log.retry_button.isVisible()
    assert window.sidebar.tree.topLevelItem(0).text(1) == "2 documents, 1 failed"  # as listed

    # Ask: Enter sends, the answer streams, sources are listed under it.
    tokens: list[str] = []
    window.composer.editor.setPlainText("What is the codename of the unstable distribution?")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    assert window.answers.worker is not None and window.composer.button.text() == "Stop"
    window.answers.worker.event.connect(
        lambda e: tokens.append(e.text) if isinstance(e, Token) else None
    )
    _wait_answer(qtbot, window)
    answer = window.chat_view.messages[-1]
    assert answer.role == "assistant" and answer.text.strip()
    assert "".join(tokens) in answer.text
    assert answer.sources_label.isVisible()
    assert "debian-faq-archives" in answer.sources_label.text().lower() or answer.sources
    assert "tokens/s" in window.status.speed_label.text()
    assert window.session.thread_id is not None
    thread_items = window.sidebar.tree.topLevelItem(0).childCount()
    assert thread_items == 1

    # Stop mid-answer: the partial answer stays, marked as stopped.
    window.composer.editor.setPlainText("Explain the Debian release cycle in detail.")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    worker = window.answers.worker
    assert worker is not None
    worker.event.connect(lambda e: window.answers.stop() if isinstance(e, Token) else None)
    _wait_answer(qtbot, window)
    stopped = window.chat_view.messages[-1]
    assert "Stopped" in stopped.status.text()
    assert window.composer.button.text() == "Send"

    # The thread reloads from the store as shown.
    window.navigator.select_thread(window.session.workspace or "", window.session.thread_id)
    assert [m.role for m in window.chat_view.messages] == ["user", "assistant"] * 2
    window.close()
