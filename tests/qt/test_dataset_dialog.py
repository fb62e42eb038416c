"""The dataset dialog on a real kept dataset: rows shown with held-out ones marked, a cell edit,
an added and a deleted row, duplicates removed with the count said, import of a file whose bad
rows are named by row number and reason (read off the GUI thread), export, and saving through
the service, which keeps the edit."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pytestqt.qtbot import QtBot

from anyllm_desktop.core.datasets import Dataset, Example, Turn
from anyllm_desktop.core.paths import AppPaths
from anyllm_desktop.services.datasets import DatasetStore
from anyllm_desktop.ui.dataset_dialog import HELD_OUT, DatasetDialog, open_datasets
from anyllm_desktop.workers.datasets import DatasetEditing
from tests.qt.helpers import ready_window


def _pairs(count: int) -> list[Example]:
    return [Example((Turn("user", f"Question {i}?"), Turn("assistant", f"Answer {i}.")), "f.csv",
                    i + 1) for i in range(count)]  # fmt: skip


def test_show_edit_dedupe_import_export_and_save(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    paths = AppPaths(anyllm_home)
    DatasetStore(paths).save("facts", Dataset(_pairs(10)), ["f.csv"], held_out=0.2)
    dialog = DatasetDialog(DatasetEditing(paths), "facts")
    qtbot.addWidget(dialog)
    table = dialog.table
    assert table.rowCount() == 10
    used = [table.item(r, 3).text() for r in range(10)]
    assert used.count(HELD_OUT) == 2
    assert "8 for training, 2 held out" in dialog.summary.text()

    table.item(0, 1).setText("A corrected answer.")
    dialog.add_row()
    assert table.rowCount() == 11
    table.item(10, 0).setText("question 1?")  # a duplicate of row 2, case aside
    table.item(10, 1).setText("answer  1.")
    dialog.deduplicate()
    assert table.rowCount() == 10
    assert "Removed 1 duplicate" in dialog.status.text()
    table.selectRow(9)
    dialog.delete_rows()
    assert table.rowCount() == 9

    bad = tmp_path / "more.jsonl"
    lines = [{"messages": [{"role": "user", "content": "New?"},
                           {"role": "assistant", "content": "Yes."}]},
             {"messages": [{"role": "user", "content": "No answer"}]}]  # fmt: skip
    bad.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    worker = dialog.import_file(bad)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        pass
    qtbot.waitUntil(lambda: table.rowCount() == 10)
    assert "more.jsonl row 2" in dialog.status.text()
    assert "no assistant turn" in dialog.status.text()

    out = tmp_path / "out.csv"
    dialog.export_to(out, "csv")
    assert "A corrected answer." in out.read_text(encoding="utf-8")

    dialog.save()
    stored = DatasetStore(paths).load("facts")
    assert len(stored.examples) == 10
    assert "A corrected answer." in {e.answer for e in stored.examples}
    assert len(stored.held_out) == 2
    if os.environ.get("ANYLLM_SCREENSHOT"):
        dialog.show()
        dialog.grab().save(os.environ["ANYLLM_SCREENSHOT"])


def test_tools_datasets_opens_the_kept_dataset(qtbot: QtBot, anyllm_home: Path) -> None:
    window = ready_window(qtbot, anyllm_home)
    DatasetStore(window.backend.runtime.paths).save("facts", Dataset(_pairs(6)), ["f.csv"])
    dialog = open_datasets(window)
    qtbot.addWidget(dialog)
    assert dialog.name_edit.text() == "facts"
    assert dialog.table.rowCount() == 6
    assert "5 for training, 1 held out" in dialog.summary.text()


def test_saving_in_the_dataset_dialog_updates_the_fine_tune_window(
    qtbot: QtBot, anyllm_home: Path
) -> None:
    from anyllm_desktop.ui.training_dialog import TrainingDialog

    window = ready_window(qtbot, anyllm_home)
    DatasetStore(window.backend.runtime.paths).save("facts", Dataset(_pairs(6)), ["f.csv"])
    training = TrainingDialog(window.backend, None, window)
    qtbot.addWidget(training)
    assert training.data_combo.currentText().startswith("facts · 5 for training, 1 held out")
    training.edit_button.click()
    dialog = training.findChild(DatasetDialog)
    assert dialog is not None
    dialog.name_edit.setText("more-facts")  # kept as a second dataset, with 10 rows
    dialog.show_rows(_pairs(10), set())
    dialog.save()
    assert dialog.status.text().startswith("Saved"), dialog.status.text()
    names = [training.data_combo.itemText(i) for i in range(training.data_combo.count())]
    assert any(n.startswith("more-facts · ") for n in names) and len(names) == 2
    assert training.data_combo.currentData() == ("dataset", "more-facts")  # the one just saved
