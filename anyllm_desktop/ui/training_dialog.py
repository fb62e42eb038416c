"""Fine-tune: train a LoRA adapter for a local model on a dataset, on this computer. Choose the
base model and the examples (a kept dataset or a file), the adapter's name and a few settings,
start it (a job: the jobs view lists it too), watch the loss per step, cancel (the progress is
kept: starting it again with the same choices continues), and read the result: the loss before
and after on the training and held-out examples, and answers side by side."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event, Progress, TrainingStep
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.ui.dataset_dialog import DatasetDialog
from anyllm_desktop.ui.loss_plot import LossPlot
from anyllm_desktop.workers.datasets import DatasetEditing
from anyllm_desktop.workers.training import TRAINING_DEFAULTS, AdapterCard

if TYPE_CHECKING:
    from anyllm_desktop.ui.main_window import MainWindow
    from anyllm_desktop.workers.backend import Backend

DATA_FILES = "Training examples (*.jsonl *.json *.csv)"
SIDE_BY_SIDE = ("Question", "Expected answer", "Base model's answer", "With the adapter")
#: Characters of an answer a cell shows (its tooltip has all): rows stay a few lines high.
CELL = 140


#: LoraSettings' batch size and max length (tests/qt/test_training_dialog.py checks them).
SIZE_DEFAULTS = {"batch_size": 4, "max_length": 512}


def time_left(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 90:
        return f"about {max(seconds, 1):.0f} s left"
    return f"about {seconds / 60:.0f} min left"


def _loss(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and math.isfinite(value) else "–"


class TrainingDialog(QDialog):
    #: "Use in this workspace" chose the adapter (its model id ``BASE+ID``).
    adapter_used = Signal(str)

    def __init__(self, backend: Backend, workspace: str | None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.backend, self.workspace = backend, workspace
        self.job: JobRecord | None = None
        self.card: AdapterCard | None = None
        self.last_step = 0
        self.setWindowTitle("Fine-tune a model")
        self.resize(980, 820)
        layout = QVBoxLayout(self)
        intro = QLabel("Teach a local model from your examples: a small LoRA adapter is "
                       "trained on this computer (nothing leaves it) and measured before and "
                       "after.")  # fmt: skip
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self._choices())
        row = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Training progress")
        row.addWidget(self.start_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        layout.addLayout(row)
        self.state = QLabel("Choose a model and examples, then start.")
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.state)
        self.plot = LossPlot()
        layout.addWidget(self.plot, 1)
        layout.addWidget(self._results(), 2)
        jobs = backend.jobs
        if jobs is not None:
            jobs.event.connect(self._on_job_event)
            jobs.finished.connect(self._on_job_finished)
        self._enable()

    def _choices(self) -> QGroupBox:
        box = QGroupBox("What to train")
        form = QFormLayout(box)
        self.base_combo = QComboBox()
        self.base_combo.setAccessibleName("Base model")
        for label, model_id in self.backend.training_bases():
            self.base_combo.addItem(label, model_id)
        form.addRow("Base model:", self.base_combo)
        data_row = QHBoxLayout()
        self.data_combo = QComboBox()
        self.data_combo.setAccessibleName("Training examples")
        self.list_datasets()
        self.open_button = QPushButton("Open file…")
        self.open_button.setToolTip("OpenAI chat JSONL, Alpaca or ShareGPT JSON, or a CSV of "
                                    "prompt and response columns")  # fmt: skip
        self.open_button.clicked.connect(self._pick_file)
        data_row.addWidget(self.data_combo, 1)
        data_row.addWidget(self.open_button)
        self.edit_button = QPushButton("Edit dataset…")
        self.edit_button.setToolTip("Show the rows, which are held out, edit, import or export")
        self.edit_button.clicked.connect(self._edit_dataset)
        data_row.addWidget(self.edit_button)
        form.addRow("Examples:", data_row)
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Adapter name")
        self.name_edit.setPlaceholderText("named after the examples")
        form.addRow("Adapter name:", self.name_edit)
        self.rank = QSpinBox()
        self.rank.setRange(1, 128)
        self.rank.setValue(TRAINING_DEFAULTS["rank"])
        self.rank.setToolTip("Size of the adapter: higher learns more and needs more memory")
        # Twice the rank (the usual pairing) until the user sets another.
        self.alpha = QDoubleSpinBox(minimum=0.5, maximum=1024.0, singleStep=1.0,
                                    value=2.0 * self.rank.value())  # fmt: skip
        self.alpha.setDecimals(1)
        self.alpha.setToolTip("Scale of the adapter's change: twice the rank unless you set it")
        self._alpha_follows_rank = True
        self.alpha.valueChanged.connect(self._alpha_changed)
        self.rank.valueChanged.connect(self._rank_changed)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100)
        self.epochs.setValue(TRAINING_DEFAULTS["epochs"])
        self.epochs.setToolTip("How many times each example is seen")
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(0.00001, 1.0)
        self.learning_rate.setSingleStep(0.0005)
        self.learning_rate.setValue(TRAINING_DEFAULTS["learning_rate"])
        self.learning_rate.setToolTip("How far each step moves; lower it if the loss jumps up")
        self.batch_size = QSpinBox(minimum=1, maximum=64, value=SIZE_DEFAULTS["batch_size"])
        self.batch_size.setToolTip("Examples per step: more uses more memory")
        self.max_length = QSpinBox(minimum=32, maximum=8192, singleStep=64,
                                   value=SIZE_DEFAULTS["max_length"])  # fmt: skip
        self.max_length.setToolTip("Longest example in tokens; longer ones are cut")
        self.held_out = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.05, value=0.1)
        self.held_out.setToolTip("Share of a file's rows kept out of training to measure the "
                                 "adapter (a kept dataset keeps its own split)")  # fmt: skip
        settings = QHBoxLayout()
        for label, field in (("Rank", self.rank), ("Alpha", self.alpha), ("Epochs", self.epochs),
                             ("Learning rate", self.learning_rate), ("Batch", self.batch_size),
                             ("Max tokens", self.max_length),
                             ("Held out", self.held_out)):  # fmt: skip
            field.setAccessibleName(label)
            settings.addWidget(QLabel(f"{label}:"))
            settings.addWidget(field)
        settings.addStretch(1)
        form.addRow("Settings:", settings)
        return box

    def _results(self) -> QGroupBox:
        box = QGroupBox("Result")
        layout = QVBoxLayout(box)
        self.numbers = QLabel("The losses before and after, and answers side by side, appear "
                              "here when the run ends (lower loss is better).")  # fmt: skip
        self.numbers.setWordWrap(True)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.numbers)
        self.table = QTableWidget(0, len(SIDE_BY_SIDE))
        self.table.setAccessibleName("Answers before and after")
        self.table.setHorizontalHeaderLabels(SIDE_BY_SIDE)
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.use_button = QPushButton("Use in this workspace")
        self.use_button.setToolTip("Answer this workspace's chats with the model and the adapter")
        self.use_button.clicked.connect(self.use_in_workspace)
        row.addStretch(1)
        row.addWidget(self.use_button)
        layout.addLayout(row)
        return box

    # -- choices -------------------------------------------------------------------------------

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Training examples", "", DATA_FILES)
        if path:
            self.use_file(Path(path))

    def use_file(self, path: Path) -> None:
        """Train on the examples in ``path`` (any import format; split here)."""
        index = self.data_combo.findData(("data", str(path)))
        if index < 0:
            self.data_combo.addItem(f"{path.name} (file)", ("data", str(path)))
            index = self.data_combo.count() - 1
        self.data_combo.setCurrentIndex(index)
        self.data_combo.setToolTip(str(path))
        self._enable()

    def _rank_changed(self, rank: int) -> None:
        if self._alpha_follows_rank:
            self.alpha.setValue(2.0 * rank)

    def _alpha_changed(self, alpha: float) -> None:
        self._alpha_follows_rank = alpha == 2.0 * self.rank.value()

    def params(self) -> dict[str, Any]:
        """The job's parameters as chosen."""
        kind, value = self.data_combo.currentData()
        settings = {"rank": self.rank.value(), "alpha": self.alpha.value(),
                    "epochs": self.epochs.value(),
                    "learning_rate": self.learning_rate.value(),
                    "batch_size": self.batch_size.value(),
                    "max_length": self.max_length.value()}  # fmt: skip
        params = {"base": self.base_combo.currentData(), kind: value, "settings": settings}
        if kind == "data":
            params["held_out"] = self.held_out.value()
        if self.name_edit.text().strip():
            params["name"] = self.name_edit.text().strip()
        return params

    # -- the run ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self.job is not None or not self._can_start():
            return
        self.card, self.last_step = None, 0
        self.plot.clear()
        self.table.setRowCount(0)
        self.numbers.setText("Running: the numbers and answers appear when the run ends.")
        self.progress.setRange(0, 0)
        self.state.setText("Starting: reading the model and the examples…")
        self.job = self.backend.start_training(self.params())
        self._enable()

    def cancel(self) -> None:
        if self.job is not None and self.backend.jobs is not None:
            self.backend.jobs.cancel(self.job.id)
            self.state.setText("Cancelling after the current step…")

    def _on_job_event(self, job: JobRecord, event: Event) -> None:
        if self.job is None or job.id != self.job.id:
            return
        if isinstance(event, TrainingStep):
            self.plot.add(event.step, event.total, event.loss)
            self.last_step = event.step
        elif isinstance(event, Progress) and event.stage == "train":
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
            step = self.plot.points[-1][1] if self.plot.points else float("nan")
            parts = [f"step {event.done} of {event.total}", f"loss {_loss(step)}",
                     time_left(event.eta_s)]  # fmt: skip
            self.state.setText(" · ".join(p for p in parts if p))
        elif isinstance(event, Progress):
            self.progress.setRange(0, 0)
            self.state.setText(event.message[:1].upper() + event.message[1:] + "…")
        elif isinstance(event, Error):
            self.state.setText(event.message)
            self.numbers.setText("No adapter was made.")
        elif isinstance(event, Done) and isinstance(event.result, AdapterCard):
            self.show_card(event.result)

    def _on_job_finished(self, job: JobRecord) -> None:
        if self.job is None or job.id != self.job.id:
            return
        self.job = None
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if job.state == "done" else 0)
        if job.state == "cancelled":
            at = f" at step {self.last_step}" if self.last_step else ""
            self.state.setText(f"Cancelled{at}. The progress is kept: Start training with the "
                               "same choices continues from there.")  # fmt: skip
            self.numbers.setText("No adapter yet.")
        elif job.state == "done" and self.card is not None:
            self.state.setText(f"Done: the adapter “{self.card.name}” is kept (Tools → Models "
                               "lists it under its base model).")  # fmt: skip
        self._enable()

    def show_card(self, card: AdapterCard) -> None:
        """The adapter's numbers and its answers side by side."""
        self.card = card
        results = card.results
        lines = [f"<b>{card.name}</b> for {card.base_name} · {results.get('steps', '?')} steps "
                 f"on {card.dataset.get('train', '?')} examples (held out: "
                 f"{card.dataset.get('held_out', '?')})",
                 f"Loss on the training examples: {_loss(results.get('train_loss_before'))} → "
                 f"{_loss(results.get('train_loss_after'))}",
                 f"Loss on the held-out examples (not trained on): "
                 f"{_loss(results.get('held_out_loss_before'))} → "
                 f"{_loss(results.get('held_out_loss_after'))}",
                 "Lower is better; the held-out loss says whether it learned more than the "
                 "examples by heart."]  # fmt: skip
        lines += [f"Note: {note}" for note in results.get("notes", [])[:5]]
        self.numbers.setText("<br>".join(lines))
        rows = results.get("side_by_side", [])
        self.table.setRowCount(len(rows))
        for number, row in enumerate(rows):
            for column, key in enumerate(("question", "expected", "before", "after")):
                text = str(row.get(key, "")).strip()
                item = QTableWidgetItem(text if len(text) <= CELL else text[: CELL - 1] + "…")
                item.setToolTip(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                self.table.setItem(number, column, item)
        self._enable()

    def use_in_workspace(self) -> None:
        if self.card is None or self.workspace is None:
            return
        model_id = self.backend.adapter_model_id(self.card)
        self.backend.update_chat_settings(self.workspace, provider="local", model=model_id)
        self.state.setText(f"{self.workspace} now answers with {self.card.base_name} and "
                           f"the adapter “{self.card.name}”.")  # fmt: skip
        self.adapter_used.emit(model_id)

    def list_datasets(self, chosen: str = "") -> None:
        """The kept datasets (with their counts) before any files opened; ``chosen`` (a
        dataset's name) becomes the current one."""
        current = ("dataset", chosen) if chosen else tuple(self.data_combo.currentData() or ())
        files = [(self.data_combo.itemText(i), self.data_combo.itemData(i))
                 for i in range(self.data_combo.count())
                 if self.data_combo.itemData(i)[0] == "data"]  # fmt: skip
        self.data_combo.clear()
        for card in self.backend.datasets():
            train, held = card.counts.get("train", 0), card.counts.get("held_out", 0)
            self.data_combo.addItem(f"{card.name} · {train} for training, {held} held out "
                                    "(kept dataset)", ("dataset", card.name))  # fmt: skip
        for text, data in files:
            self.data_combo.addItem(text, data)
        shown = [tuple(self.data_combo.itemData(i)) for i in range(self.data_combo.count())]
        self.data_combo.setCurrentIndex(shown.index(tuple(current)) if current in shown else 0)

    def _edit_dataset(self) -> None:
        kind, value = self.data_combo.currentData() or ("", "")
        editing = DatasetEditing(self.backend.runtime.paths)
        dialog = DatasetDialog(editing, value if kind == "dataset" else "", self)
        dialog.saved.connect(self.list_datasets)  # new counts, or a new dataset, chosen
        dialog.show()

    def _can_start(self) -> bool:
        return self.base_combo.currentIndex() >= 0 and self.data_combo.currentIndex() >= 0

    def _enable(self) -> None:
        running = self.job is not None
        self.start_button.setEnabled(not running and self._can_start())
        self.cancel_button.setEnabled(running)
        for field in (self.base_combo, self.data_combo, self.open_button, self.name_edit,
                      self.rank, self.alpha, self.epochs, self.learning_rate, self.batch_size,
                      self.max_length, self.held_out):  # fmt: skip
            field.setEnabled(not running)
        self.use_button.setEnabled(self.card is not None and self.workspace is not None)
        if self.workspace is None:
            self.use_button.setToolTip("Open a workspace first")


def open_training(window: MainWindow) -> TrainingDialog | None:
    """Tools → Fine-tune…: the dialog for the shown workspace (its "Use" sets the chat model)."""
    if not window.backend.is_ready:
        window.conversation.show_notice("The library is still opening; try again in a moment.")
        return None
    dialog = TrainingDialog(window.backend, window.session.workspace, window)
    dialog.adapter_used.connect(lambda _model: window.model_picker.refresh())
    dialog.show()
    return dialog
