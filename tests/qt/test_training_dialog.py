"""The training view in the real window: Tools → Fine-tune… runs a real LoRA training job on the
tiny random-weight GGUF (tests/tiny_gguf.py) through the Backend's job queue; cancelled after
its first step the job is cancelled and keeps its progress, started again it continues at
step 2; the loss plot got a point per step, the progress line named the step, and the result
shows the card's losses before → after and the answers side by side; "Use in this workspace"
sets the chat model to BASE+ID, the header's picker shows it and the workspace answers with
it; the model manager lists the adapter under its base model, deletes it, imports it back and
refuses a file that is no adapter."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from anyllm_desktop.core.events import Error, Progress, Token
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.services.training.lora import LoraSettings
from anyllm_desktop.ui.training_dialog import SIZE_DEFAULTS, TrainingDialog
from anyllm_desktop.workers.training import TRAINING_DEFAULTS
from tests.qt.helpers import ready_window
from tests.tiny_gguf import FACTS, write_facts, write_tiny_gguf


def test_the_shown_defaults_are_the_trainers() -> None:
    defaults = dataclasses.asdict(LoraSettings())
    assert {k: defaults[k] for k in TRAINING_DEFAULTS} == TRAINING_DEFAULTS
    assert {k: defaults[k] for k in SIZE_DEFAULTS} == SIZE_DEFAULTS


def test_alpha_sizes_and_held_out_share_reach_the_job(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    window = ready_window(qtbot, anyllm_home)
    data = write_facts(tmp_path)
    dialog = TrainingDialog(window.backend, None, window)
    qtbot.addWidget(dialog)
    dialog.use_file(data)
    dialog.rank.setValue(4)
    assert dialog.alpha.value() == 8.0  # twice the rank, until set
    dialog.alpha.setValue(4.0)
    dialog.rank.setValue(16)
    assert dialog.alpha.value() == 4.0  # the user's value stays
    dialog.batch_size.setValue(2)
    dialog.max_length.setValue(128)
    dialog.held_out.setValue(0.25)
    params = dialog.params()
    assert params["settings"]["batch_size"] == 2
    assert (params["settings"]["rank"], params["settings"]["alpha"]) == (16, 4.0)
    assert params["settings"]["max_length"] == 128
    assert params["held_out"] == 0.25


def test_fine_tune_cancel_resume_use_and_manage_the_adapter(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = ready_window(qtbot, anyllm_home)
    backend = window.backend
    backend.create_workspace("Facts")
    window.navigator.select_workspace("Facts")
    base = write_tiny_gguf(backend.runtime.paths.models_dir)
    data = write_facts(tmp_path)

    (action,) = [a for m in window.menuBar().actions() for a in m.menu().actions()
                 if a.text() == "Fine-tune…"]  # fmt: skip
    action.trigger()
    dialog = window.findChild(TrainingDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.rank.value() == 8 and dialog.epochs.value() == 3
    dialog.base_combo.setCurrentIndex(dialog.base_combo.findData(str(base)))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(data), ""))
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert dialog.data_combo.currentText() == "facts.jsonl (file)"
    dialog.name_edit.setText("Tiny facts")
    dialog.rank.setValue(4)
    dialog.epochs.setValue(4)  # 7 training examples, 1 held out: 2 steps an epoch
    dialog.learning_rate.setValue(0.02)
    lines: list[str] = []

    def seen(job: JobRecord, event: object) -> None:  # after the dialog's own slot
        if isinstance(event, Progress) and event.stage == "train":
            lines.append(dialog.state.text())

    assert backend.jobs is not None
    backend.jobs.event.connect(seen)

    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.job is not None and dialog.job.params["settings"]["rank"] == 4
    assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    job_id = dialog.job.id
    # Cancelled while it measures the base model: it stops after its first step (JIT takes s).
    qtbot.waitUntil(lambda: "measuring" in dialog.state.text().lower(), timeout=60_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=120_000)
    assert backend.jobs.service.store.get(job_id).state == "cancelled"
    assert [step for step, _ in dialog.plot.points] == [1]
    assert dialog.state.text().startswith("Cancelled at step 1. The progress is kept")
    assert backend.adapters() == []
    assert lines == [dialog.state.text()] or lines[0].startswith("step 1 of 8 · loss ")
    lines.clear()

    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=180_000)
    assert dialog.card is not None, dialog.state.text()
    assert [step for step, _ in dialog.plot.points] == list(range(2, 9))  # resumed at step 2
    assert lines[0].startswith("step 2 of 8 · loss ") and " left" in lines[0]
    assert lines[-1].startswith("step 8 of 8 · loss ")
    card, results = dialog.card, dialog.card.results
    assert dialog.state.text().startswith("Done: the adapter “Tiny facts” is kept")
    numbers = dialog.numbers.text()
    assert (f"training examples: {results['train_loss_before']:.3f} → "
            f"{results['train_loss_after']:.3f}") in numbers  # fmt: skip
    assert "held-out examples (not trained on): " in numbers
    assert results["train_loss_after"] < results["train_loss_before"]
    side = results["side_by_side"]
    assert dialog.table.rowCount() == len(side) > 0
    cells = [dialog.table.item(0, c) for c in range(4)]
    full = [side[0][k].strip() for k in ("question", "expected", "before", "after")]
    assert [c.toolTip() for c in cells] == full  # a long answer is cut in its cell, whole here
    assert all(len(c.text()) <= 140 and full[i].startswith(c.text().rstrip("…"))
               for i, c in enumerate(cells))  # fmt: skip
    assert side[0]["question"] in dict(FACTS)

    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    model_id = f"{base}+{card.id}"
    chat = backend.workspace("Facts").chat
    assert (chat.provider, chat.model) == ("local", model_id)
    picker = window.conversation.model_picker
    assert picker.currentData() == ("local", model_id)
    assert picker.currentText() == f"{card.base_name} + Tiny facts (on this computer)"

    # The workspace answers with base + adapter: the model host serves BASE+ID for it.
    events: list[object] = []
    worker = backend.ask("Facts", "What colour is the sky?", None)
    worker.event.connect(events.append)
    with qtbot.waitSignal(worker.finished, timeout=120_000):
        pass
    assert not [e for e in events if isinstance(e, Error)], events
    assert backend.served_model == model_id and any(isinstance(e, Token) for e in events)
    # A workflow step may ask it too; the status bar names it by base and adapter.
    assert model_id in {m for _, m in backend.step_model_choices("local")}
    assert backend.runtime.chat_model_name(model_id).endswith(" + Tiny facts")

    manager = window.open_model_manager()
    assert manager is not None
    adapters = manager.adapters
    assert adapters.names() == {"tiny random llama": ["Tiny facts"]}
    child = adapters.tree.topLevelItem(0).child(0)
    assert child.text(2) == (f"{results['held_out_loss_before']:.3f} → "
                             f"{results['held_out_loss_after']:.3f}")  # fmt: skip
    kept = tmp_path / "kept-adapter.gguf"
    shutil.copyfile(backend.runtime.paths.adapters_dir / card.id / "adapter.gguf", kept)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)  # fmt: skip
    assert adapters.select(card.id)
    qtbot.mouseClick(adapters.delete_button, Qt.MouseButton.LeftButton)
    assert adapters.names() == {} and backend.adapters() == []
    assert adapters.status.text() == "Deleted “Tiny facts”. Back on the default model: Facts."

    adapters.base_combo.setCurrentIndex(adapters.base_combo.findData(str(base)))
    adapters.import_file(base)  # a model, not an adapter
    qtbot.waitUntil(lambda: adapters.worker is None, timeout=30_000)
    assert adapters.status.text().startswith("tiny-llama.gguf cannot be imported: ")
    assert "is not a LoRA adapter" in adapters.status.text()
    adapters.import_file(kept)
    qtbot.waitUntil(lambda: adapters.worker is None, timeout=30_000)
    assert adapters.status.text() == "Imported “Tiny facts”.", adapters.status.text()
    assert adapters.names() == {"tiny random llama": ["Tiny facts"]}
    assert adapters.tree.topLevelItem(0).child(0).text(3) == "imported"
    manager.close()
    dialog.close()
