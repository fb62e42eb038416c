"""The documents panel as a new user reads it: file names (not a parser's "Title 1"), sorted by
what a column holds; each workspace's indexing log only in its own panel; a cancel said as a
cancel, not "finished" with files "skipped"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from anyllm_desktop.core.events import Done, FileResult, Progress
from anyllm_desktop.core.workspace import Document
from anyllm_desktop.ui.documents_panel import DocumentsPanel


def _document(number: int, path: str, title: str, chunks: int, status: str = "indexed"
              ) -> Document:  # fmt: skip
    return Document(number, 1, f"h{number}", path, title, "pdf", 10, status, None, chunks, 1,
                    1_700_000_000.0 + number, None)  # fmt: skip


def test_files_are_listed_by_name_and_sorted_by_value(qtbot: QtBot) -> None:
    panel = DocumentsPanel()
    qtbot.addWidget(panel)
    panel.show_documents("Papers", [
        _document(1, "/d/zeta.pdf", "Title 1", 9),
        _document(2, "/d/Alpha.pdf", "1 Introduction", 12),
        _document(3, "/d/beta.docx", "", 100),
    ])  # fmt: skip
    tree = panel.tree
    names = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert names == ["Alpha.pdf", "beta.docx", "zeta.pdf"]  # by name, case aside
    assert "1 Introduction" in tree.topLevelItem(0).toolTip(0)  # the parser's title: tooltip
    assert "/d/Alpha.pdf" in tree.topLevelItem(0).toolTip(0)
    tree.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    passages = [tree.topLevelItem(i).text(2) for i in range(tree.topLevelItemCount())]
    assert passages == ["9", "12", "100"]  # numbers, not text ("100" < "12" < "9")


def test_each_workspace_shows_only_its_own_indexing_log(qtbot: QtBot) -> None:
    panel = DocumentsPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.show_documents("Papers", [])
    panel.job_started("Notes")  # indexing into another workspace than the one shown
    panel.on_event("Notes", Progress("embed", 5, 40, "Embedding passages · file 1 of 2"))
    assert panel.current_log is None and panel.log("Notes").isHidden()
    panel.show_documents("Notes", [])
    log = panel.current_log
    assert log is panel.log("Notes") and not log.isHidden()
    assert log.label.text().startswith("Embedding passages · file 1 of 2")
    panel.show_documents("Papers", [])
    assert log.isHidden()


def test_a_cancel_is_reported_as_a_cancel(qtbot: QtBot) -> None:
    panel = DocumentsPanel()
    qtbot.addWidget(panel)
    panel.show_documents("Papers", [])
    panel.job_started("Papers")
    panel.on_event("Papers", Progress("embed", 30, 120, "Embedding passages"))
    results = [
        FileResult("/d/a.pdf", "indexed", "a", 12),
        FileResult("/d/b.pdf", "cancelled", "b", reason="cancelled while embedding"),
        FileResult("/d/c.pdf", "cancelled", "c", reason="cancelled before it was read"),
    ]
    for result in results:
        panel.on_event("Papers", result)
    panel.on_event("Papers", Done(results))
    log = panel.log("Papers")
    assert log.label.text() == "Cancelled: 1 indexed, 2 not indexed."
    assert log.progress.value() == 30 and log.progress.maximum() == 120  # where it stopped
    panel.job_started("Papers")
    panel.on_event("Papers", Done([FileResult("/d/a.pdf", "duplicate", "a")]))
    assert log.label.text() == "Done: 0 indexed, 1 already in."
    assert log.progress.value() == log.progress.maximum()
