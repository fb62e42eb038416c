"""The model manager's adapters: each LoRA adapter under the base model it was made for (name,
when it was made, its held-out loss before → after), delete one, import one made elsewhere (a
.gguf, checked against the base chosen for it off the GUI thread)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.workers.training import AdapterCard

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Backend
    from anyllm_desktop.workers.generator_worker import GeneratorWorker

UNKNOWN_BASE = "Base model not known (imported without one)"


def held_out(card: AdapterCard) -> str:
    """ "2.913 → 1.204" from the card's numbers; "not measured" for an imported adapter."""
    before = card.results.get("held_out_loss_before")
    after = card.results.get("held_out_loss_after")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (before, after)):
        return "not measured"
    return f"{before:.3f} → {after:.3f}"


class AdapterList(QWidget):
    #: An adapter was imported or deleted.
    changed = Signal()

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.worker: GeneratorWorker | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Adapters</b> (fine-tuned with Tools → Fine-tune…, or "
                                "imported), under their base model:"))  # fmt: skip
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Adapters")
        self.tree.setHeaderLabels(["Adapter", "Made", "Held-out loss before → after", "Source"])
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.delete_button = QPushButton("Delete adapter")
        self.delete_button.clicked.connect(self._delete)
        self.base_combo = QComboBox()
        self.base_combo.setAccessibleName("Base model for an imported adapter")
        for label, model_id in backend.training_bases():
            self.base_combo.addItem(label, model_id)
        self.import_button = QPushButton("Import adapter…")
        self.import_button.setToolTip("A GGUF LoRA adapter made for the base model chosen beside")
        self.import_button.clicked.connect(self._import)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        row.addWidget(QLabel("Import for:"))
        row.addWidget(self.base_combo)
        row.addWidget(self.import_button)
        layout.addLayout(row)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.refresh()

    def refresh(self) -> None:
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        bases = {model_id: label for label, model_id in self.backend.training_bases()}
        for card in self.backend.adapters():
            base = bases.get(card.base_model) or card.base_name or card.base_model or UNKNOWN_BASE
            if base not in groups:
                groups[base] = QTreeWidgetItem([base, "", "", ""])
                self.tree.addTopLevelItem(groups[base])
            made = time.strftime("%Y-%m-%d %H:%M", time.localtime(card.created))
            item = QTreeWidgetItem([card.name, made, held_out(card), card.source])
            item.setData(0, Qt.ItemDataRole.UserRole, card.id)
            item.setToolTip(0, f"{card.id} · use it as {self.backend.adapter_model_id(card)}")
            groups[base].addChild(item)
        self.tree.expandAll()
        if not groups:
            self.status.setText("No adapters yet.")

    def names(self) -> dict[str, list[str]]:
        """Base model → its adapters' names, as listed."""
        found: dict[str, list[str]] = {}
        for index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(index)
            found[group.text(0)] = [group.child(i).text(0) for i in range(group.childCount())]
        return found

    def select(self, adapter_id: str) -> bool:
        for index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(index)
            for i in range(group.childCount()):
                if group.child(i).data(0, Qt.ItemDataRole.UserRole) == adapter_id:
                    self.tree.setCurrentItem(group.child(i))
                    return True
        return False

    def _delete(self) -> None:
        item = self.tree.currentItem()
        adapter_id: Any = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if not adapter_id:
            self.status.setText("Choose an adapter in the list to delete it.")
            return
        name = item.text(0)
        asked = (f"Delete the adapter “{name}”? A workspace that answers with it goes back to "
                 "the default model.")  # fmt: skip
        if QMessageBox.question(self, "Delete adapter", asked) != QMessageBox.StandardButton.Yes:
            return
        try:
            reset = self.backend.delete_adapter(adapter_id)
        except (KeyError, OSError) as exc:
            self.status.setText(f"“{name}” cannot be deleted: {exc}")
            return
        self.refresh()
        moved = f" Back on the default model: {', '.join(reset)}." if reset else ""
        self.status.setText(f"Deleted “{name}”.{moved}")
        self.changed.emit()

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a LoRA adapter", "",
                                              "GGUF adapters (*.gguf)")  # fmt: skip
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Keep ``path`` as an adapter of the base chosen in the combo (checked off the GUI
        thread); the list shows it, or the status says why not."""
        base = self.base_combo.currentData()
        if self.worker is not None or not base:
            return
        self.status.setText(f"Checking {path.name} against {self.base_combo.currentText()}…")
        self.import_button.setEnabled(False)
        self.worker = self.backend.import_adapter(path, base)
        self.worker.event.connect(self._on_event)
        self.worker.finished.connect(self._imported)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Done):
            self.status.setText(f"Imported “{event.result.name}”.")
            self.refresh()
            self.changed.emit()
        elif isinstance(event, Error):
            self.status.setText(event.message)

    def _imported(self) -> None:
        self.worker = None
        self.import_button.setEnabled(True)
