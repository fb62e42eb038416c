"""Show and edit a kept dataset: one row per example (prompt, response, where it came from, and
whether it is trained on or held out to measure the adapter). Edit a cell, add or delete rows,
remove duplicates, choose the held-out share, import a file (its bad rows listed by row number
and reason) and export. Saving goes through the service, which de-duplicates and splits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)  # fmt: skip

from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.workers.datasets import (
    EXPORT_FORMATS,
    DatasetEditing,
    DatasetError,
    Example,
    Turn,
    export,
    held_out_rows,
    remove_duplicates,
)  # fmt: skip
from anyllm_desktop.workers.generator_worker import GeneratorWorker

if TYPE_CHECKING:
    from anyllm_desktop.ui.main_window import MainWindow

COLUMNS = ("Prompt (the question)", "Response (the answer to learn)", "Source", "Used for")
TRAIN, HELD_OUT = "training", "held out (measures the adapter)"
_HELD_COLOUR = QColor(255, 236, 179)


class DatasetDialog(QDialog):
    """Edits the rows in memory; nothing is kept until "Save"."""

    #: A dataset was kept (its name): lists of datasets read them again.
    saved = Signal(str)

    def __init__(self, editing: DatasetEditing, name: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Dataset")
        self.resize(900, 520)
        self.editing = editing
        self.examples: list[Example] = []
        self.worker: GeneratorWorker | None = None
        self.name_edit = QLineEdit(name, placeholderText="name, e.g. product-faq")
        self.share = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.05, value=0.1)
        self.share.setToolTip("The share of rows kept out of training to compare the model "
                              "before and after")  # fmt: skip
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 300)
        self.table.setColumnWidth(1, 300)
        self.summary = QLabel()
        self.status = QLabel(wordWrap=True)
        self.export_format = QComboBox()
        for label, fmt, suffix in EXPORT_FORMATS:
            self.export_format.addItem(label, (fmt, suffix))
        top = QHBoxLayout()
        top.addWidget(QLabel("Dataset name:"))
        top.addWidget(self.name_edit, 1)
        top.addWidget(QLabel("Held-out share (0–0.5):"))
        top.addWidget(self.share)
        buttons = QHBoxLayout()
        for text, slot in (("Add row", self.add_row), ("Delete selected rows", self.delete_rows),
                           ("Remove duplicates", self.deduplicate),
                           ("Split again at this share", self.resplit),
                           ("Import file…", self.choose_import),
                           ("Export…", self.choose_export), ("Save", self.save)):  # fmt: skip
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.insertWidget(5, self.export_format)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        if name:
            examples, held, share = editing.rows(name)
            self.share.setValue(share)
            self.show_rows(examples, held)

    def show_rows(self, examples: list[Example], held: set[int]) -> None:
        self.examples = list(examples)
        self.table.setRowCount(0)
        for index, example in enumerate(self.examples):
            self.table.insertRow(index)
            used = HELD_OUT if index in held else TRAIN
            for column, text in enumerate((example.prompt, example.answer, _where(example), used)):
                item = QTableWidgetItem(text)
                if index in held:
                    item.setBackground(QBrush(_HELD_COLOUR))
                self.table.setItem(index, column, item)
        self.summary.setText(f"{len(self.examples)} rows: {len(self.examples) - len(held)} for "
                             f"training, {len(held)} held out (shaded)")  # fmt: skip

    def current_examples(self) -> list[Example]:
        """The rows as the table shows them (edited cells included)."""
        rows = []
        for index, example in enumerate(self.examples):
            prompt, answer = (self.table.item(index, c).text() for c in (0, 1))
            if prompt != example.prompt or answer != example.answer:
                turns = [*example.messages[:-2], Turn("user", prompt), Turn("assistant", answer)]
                example = Example(tuple(turns), example.source, example.row)
            rows.append(example)
        return rows

    def _refresh(self, examples: list[Example]) -> None:
        self.show_rows(examples, held_out_rows(examples, self.share.value()))

    def add_row(self) -> None:
        new = Example((Turn("user", "New question"), Turn("assistant", "Its answer")), "added")
        self._refresh([*self.current_examples(), new])

    def delete_rows(self) -> None:
        gone = {index.row() for index in self.table.selectedIndexes()}
        self._refresh([e for i, e in enumerate(self.current_examples()) if i not in gone])
        self.status.setText(f"Deleted {len(gone)} row{'s' if len(gone) != 1 else ''}.")

    def deduplicate(self) -> None:
        kept, removed = remove_duplicates(self.current_examples())
        self._refresh(kept)
        self.status.setText(f"Removed {removed} duplicate{'s' if removed != 1 else ''} (same "
                            "question and answer, ignoring case and spacing).")  # fmt: skip

    def resplit(self) -> None:
        self._refresh(self.current_examples())

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import examples", "",
                                              "Datasets (*.jsonl *.json *.csv)")  # fmt: skip
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> GeneratorWorker:
        self.status.setText(f"Reading {path.name}…")
        self.worker = self.editing.read_file(path)
        self.worker.event.connect(self._on_import)
        self.worker.start()
        return self.worker

    def _on_import(self, event: Event) -> None:
        if isinstance(event, Error):
            self.status.setText(event.message)
        elif isinstance(event, Done):
            dataset = event.result
            self._refresh([*self.current_examples(), *dataset.examples])
            lines = [f"Imported {len(dataset.examples)} rows."]
            if dataset.problems:
                lines.append(f"Skipped {len(dataset.problems)} rows:")
                lines += [str(p) for p in dataset.problems[:20]]
            self.status.setText("\n".join(lines))

    def choose_export(self) -> None:
        fmt, suffix = self.export_format.currentData()
        name = f"{self.name_edit.text() or 'dataset'}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, "Export examples", name)
        if path:
            self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        try:
            export(self.current_examples(), path, fmt)
        except (DatasetError, OSError) as exc:
            self.status.setText(f"Not exported to {path.name}: {exc}")
            return
        self.status.setText(f"Exported {len(self.examples)} rows to {path}.")

    def save(self) -> None:
        name = self.name_edit.text().strip()
        try:
            card = self.editing.save(name, self.current_examples(), self.share.value())
        except (DatasetError, OSError) as exc:
            self.status.setText(f"Not saved: {exc}")
            return
        examples, held, _ = self.editing.rows(name)
        self.show_rows(examples, held)
        self.status.setText(f"Saved {name!r}: {card.counts['train']} for training, "
                            f"{card.counts['held_out']} held out.")  # fmt: skip
        self.saved.emit(name)


def _where(example: Example) -> str:
    return f"{example.source} row {example.row}" if example.row else example.source


def open_datasets(window: MainWindow, name: str = "") -> DatasetDialog:
    """Tools → Datasets… (and the training window's "Edit dataset…"): ``name``, or the first
    kept dataset, or an empty one to fill by import."""
    editing = DatasetEditing(window.backend.runtime.paths)
    dialog = DatasetDialog(editing, name or next(iter(editing.names()), ""), window)
    dialog.show()
    return dialog
