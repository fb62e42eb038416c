"""The Workflows panel in the real window with the real embedded model: the built-in
sentiment table run over two documents as a job, its table (file names, labels, sorting, a
citation per cell, the passage on double-click), exports openpyxl reads, a bad file's line and
field, the documents panel's selection, and the run listed again after the panel reopens."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from anyllm_desktop.ui.passage_dialog import PassageDialog
from anyllm_desktop.ui.workflows_panel import WorkflowsPanel
from tests.qt.helpers import answer_message_boxes, ready_window
from tests.replay_server import Replay

LABELS = ("positive", "neutral", "negative")
DOCS = {"good.md": "# Great blender\n\nI love it. The soup is wonderful.\n",
        "bad.txt": "Broken on arrival, nobody answered. Awful service.\n"}  # fmt: skip
BAD = """\
version: 1
id: bad-flow
name: Bad flow
steps:
  - name: each
    kind: map
    steps:
      - name: mood
        kind: clasify
        labels: [a, b]
"""


def _save_as(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def test_run_sentiment_table_read_sort_export_and_reopen(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import load_workbook

    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    window = ready_window(qtbot, anyllm_home)
    window.backend.create_workspace("Reviews")
    window.navigator.select_workspace("Reviews")
    window.workspace_actions.add_documents([folder / name for name in DOCS])
    qtbot.waitUntil(lambda: window.backend.ingest_worker is None
                    and len(window.documents._documents) == 2, timeout=120_000)  # fmt: skip

    window.documents.tree.topLevelItem(1).setSelected(True)  # sorted by name: good.md
    opened: list[WorkflowsPanel] = []
    window.documents.workflow_requested.connect(
        lambda names: opened.append(window.open_workflows(names))
    )
    window.documents.workflow_requested.emit(window.documents.selected_names())
    assert opened[0].checked_documents() == ["good.md"]
    opened[0].close()

    panel = window.open_workflows()
    assert panel is not None and panel.isVisible()
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    assert not panel.open_file(bad)
    assert "bad.yaml line 9, steps[0].steps[0].kind: unknown kind 'clasify'" in (
        panel.problems.text()
    )
    assert not panel.run_button.isEnabled()

    panel.workflow_combo.setCurrentIndex(
        panel.workflow_combo.findText("Sentiment of each document")
    )
    assert panel.spec is not None and panel.spec.id == "sentiment-table"
    assert panel.checked_documents() == ["bad.txt", "good.md"] and panel.problems.text() == ""
    combo = panel.model_combo("sentiment")
    assert combo.currentData() == "local"
    combo.setCurrentIndex(combo.findData("embedded"))
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert panel.job is not None and panel.job.params["models"] == {"sentiment": "embedded"}
    assert panel.cancel_button.isEnabled() and not panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: panel.job is None, timeout=120_000)
    assert panel.state.text().startswith("Done: 2 rows"), panel.state.text()

    table = panel.table
    assert table.results.headers == ["Document", "Sentiment", "Source", "State"]
    assert table.proxy.rowCount() == 2
    rows = {table.cell(r, 0): table.cell(r, 1) for r in range(2)}
    assert set(rows) == {"good.md", "bad.txt"} and set(rows.values()) <= set(LABELS)
    header = table.horizontalHeader()  # a click on the header sorts, a second reverses
    at = QPoint(header.sectionPosition(0) + 10, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=at)
    first = [table.cell(r, 0) for r in range(2)]
    assert first in (["bad.txt", "good.md"], ["good.md", "bad.txt"])
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert [table.cell(r, 0) for r in range(2)] == first[::-1]
    table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert [table.cell(r, 0) for r in range(2)] == ["bad.txt", "good.md"]
    tip = table.proxy.data(table.proxy.index(1, 1), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("good.md, Great blender")

    table.doubleClicked.emit(table.proxy.index(1, 1))
    qtbot.waitUntil(lambda: panel.results.passage is not None and panel.results.passage.isVisible(),
                    timeout=30_000)  # fmt: skip
    assert isinstance(panel.results.passage, PassageDialog)
    assert "The soup is wonderful." in panel.results.passage.text.toPlainText()
    panel.results.passage.done(0)

    xlsx, csv_path = tmp_path / "out.xlsx", tmp_path / "out"
    _save_as(monkeypatch, xlsx)
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    sheet = load_workbook(xlsx).active
    got = list(sheet.iter_rows(values_only=True))
    assert got[0] == ("document", "sentiment", "source", "status", "reason")
    assert {r[0]: r[1] for r in got[1:]} == rows
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(csv_path), "CSV (*.csv)"))  # fmt: skip
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    with (tmp_path / "out.csv").open(encoding="utf-8") as handle:
        assert {r[0]: r[1] for r in list(csv.reader(handle))[1:]} == rows
    panel.close()

    again = window.open_workflows()
    assert again is not None and again.runs.count() == 1
    assert again.runs.item(0).text().endswith("· Sentiment of each document · 2 rows")
    assert "sentiment: SmolLM2-135M-Instruct.Q4_1.gguf" in again.runs.item(0).toolTip()
    assert again.table.proxy.rowCount() == 2 and again.export_button.isEnabled()  # the newest
    assert {again.table.cell(r, 0): again.table.cell(r, 1) for r in range(2)} == rows
    again.close()
    window.close()


def test_cancel_stops_the_run_and_keeps_it_as_cancelled(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "good.md").write_text(DOCS["good.md"], encoding="utf-8")
    window = ready_window(qtbot, anyllm_home)
    window.backend.create_workspace("Reviews")
    window.navigator.select_workspace("Reviews")
    window.workspace_actions.add_documents([tmp_path / "good.md"])
    qtbot.waitUntil(lambda: window.backend.ingest_worker is None
                    and len(window.documents._documents) == 1, timeout=120_000)  # fmt: skip
    panel = window.open_workflows()
    assert panel is not None
    panel.workflow_combo.setCurrentIndex(
        panel.workflow_combo.findText("Sentiment of each document")
    )
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert panel.state.text().startswith("Cancelled"), panel.state.text()
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.runs.count() == 1 and panel.runs.item(0).text().endswith("· cancelled")
    assert panel.table.proxy.rowCount() == 0 and not panel.export_button.isEnabled()
    panel.close()
    window.close()


def test_a_cloud_step_asks_before_anything_is_sent(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    server: Replay,
) -> None:  # fmt: skip

    from PySide6.QtWidgets import QMessageBox

    from tests.e2e.test_workflow_cloud import FLOW, answer, use_replay_provider

    window = ready_window(qtbot, anyllm_home)
    use_replay_provider(window.backend.runtime, server, monkeypatch)
    window.backend.create_workspace("Invoices")
    window.navigator.select_workspace("Invoices")
    invoice = tmp_path / "invoice.md"
    invoice.write_text("# Invoice A-17\n\nTotal: 120 EUR.\n", encoding="utf-8")
    window.workspace_actions.add_documents([invoice])
    qtbot.waitUntil(lambda: window.backend.ingest_worker is None
                    and len(window.documents._documents) == 1, timeout=120_000)  # fmt: skip
    flow = tmp_path / "cloud.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    panel = window.open_workflows()
    assert panel is not None and panel.open_file(flow)

    asked: list[str] = []

    answer_message_boxes(monkeypatch, QMessageBox.StandardButton.No, asked)
    panel.run()
    assert "fields: document text of 1 document(s) to replay (cloud.test)" in asked[0]
    assert panel.job is None and panel.state.text() == "Not run: nothing was sent."
    assert server.requests == []

    server.replies = [answer('{"number": "A-17", "total": 120}'), answer('{"answer": "neutral"}')]
    answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Yes, asked)
    panel.run()
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert len(server.requests) == 2 and panel.state.text().startswith("Done: 1 rows")
    assert "replay" in window.backend.workspace("Invoices").chat.cloud_consent
    panel.run()  # agreed once: not asked again
    assert len(asked) == 2
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
