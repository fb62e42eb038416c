"""The window offers the ways out: a workspace whose passages were lost gets *Re-index now*, a
library whose database was lost offers the copy; deleting a workspace while it indexes waits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.ui import startup_view
from tests.qt.helpers import ready_window

DATA = Path(__file__).parent.parent / "data"


def _library_with_a_document(home: Path) -> None:
    library = Library(Runtime.open(home))
    try:
        library.create_workspace("Docs")
        list(library.ingest("Docs", [DATA / "nodejs-string-decoder.md"], CancelToken()))
        table = library.workspace("Docs").vector_table
    finally:
        library.close()
    return table  # type: ignore[return-value]


def test_lost_passages_show_a_bar_that_re_indexes(qtbot: QtBot, anyllm_home: Path) -> None:
    table = _library_with_a_document(anyllm_home)
    shutil.rmtree(anyllm_home / "workspaces" / "lancedb" / f"{table}.lance")
    window = ready_window(qtbot, anyllm_home)
    window.navigator.select_workspace("Docs")
    qtbot.waitUntil(lambda: window.conversation.repair_bar.isVisible(), timeout=60_000)
    assert "lost their passages" in window.conversation.repair_bar.text.text()
    qtbot.mouseClick(window.conversation.repair_bar.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.backend.ingest_worker is None, timeout=120_000)
    assert not window.conversation.repair_bar.isVisible()
    library = window.backend.library
    assert library is not None and library.health("Docs").ok
    assert library.search("Docs", "decode bytes", k=1)
    window.close()


def test_a_lost_database_offers_its_copy(
    qtbot: QtBot, anyllm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _library_with_a_document(anyllm_home)
    (anyllm_home / "library.sqlite3").unlink()
    asked: list[str] = []
    monkeypatch.setattr(
        startup_view, "ask_how_to_repair", lambda _w, text: asked.append(text) or True
    )
    window = ready_window(qtbot, anyllm_home)  # ready after the copy was put back
    assert asked and "does not belong to the indexes" in asked[0]
    assert [w.name for w, _ in window.backend.workspaces()] == ["Docs"]
    notice = window.conversation.notice
    qtbot.waitUntil(lambda: "Restored library.sqlite3" in notice.text(), timeout=10_000)
    window.close()


def test_deleting_a_workspace_while_it_indexes_cancels_and_deletes(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    window = ready_window(qtbot, anyllm_home)
    window.backend.create_workspace("Busy")
    files = []
    for number in range(6):
        files.append(tmp_path / f"note{number}.md")
        shutil.copy(DATA / "nodejs-string-decoder.md", files[-1])
        files[-1].write_text(files[-1].read_text() + f"\n\nCopy {number}.\n")
    window.backend.ingest("Busy", files)
    job = window.backend.delete_workspace("Busy")
    jobs = window.backend.jobs
    assert jobs is not None
    qtbot.waitUntil(lambda: not jobs.active(), timeout=120_000)
    states = {j.kind: j.state for j in jobs.records() if j.id <= job.id}
    assert states == {"model-load": "done", "ingest": "cancelled", "delete": "done"}
    library = window.backend.library
    assert library is not None
    assert library.workspaces() == [] and library.vectors.table_names() == set()
    window.close()
