"""Fine-tune in the cloud: a configured OpenAI or OpenAI-compatible provider trains one of its
models on a dataset through its fine-tuning API. Choose the provider, its base model and the
examples, agree to send them (the agreement names the host and how many examples leave this
computer), follow the provider's progress, and use the fine-tuned model in this workspace. A job
started before (by a closed window or a command) is followed again to its end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.workers.cloud_finetune import CloudFinetuneRunner

if TYPE_CHECKING:
    from anyllm_desktop.ui.main_window import MainWindow
    from anyllm_desktop.workers.backend import Backend

DATA_FILES = "Training examples (*.jsonl *.json *.csv)"
#: Share of a file's examples kept out as the validation file (a kept dataset has its split).
HELD_OUT = 0.1


class CloudFinetuneDialog(QDialog):
    #: "Use in this workspace" chose the fine-tuned model: (provider, model).
    model_used = Signal(str, str)

    def __init__(self, backend: Backend, workspace: str | None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        assert backend.jobs is not None, "the library is not open yet"
        self.backend, self.workspace = backend, workspace
        self.runner = CloudFinetuneRunner(backend.runtime, backend.jobs, self)
        self.result: dict[str, Any] | None = None
        self._earlier = False
        self.setWindowTitle("Fine-tune in the cloud")
        self.resize(760, 620)
        layout = QVBoxLayout(self)
        intro = QLabel("A cloud provider trains one of its models on your examples. The "
                       "examples are sent to the provider: use the Fine-tune… window to train "
                       "on this computer instead.")  # fmt: skip
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(self._choices())
        row = QHBoxLayout()
        self.start_button = QPushButton("Send and start")
        self.start_button.clicked.connect(self.start)
        self.follow_button = QPushButton("Follow the job started before")
        self.follow_button.clicked.connect(self.follow)
        self.cancel_button = QPushButton("Cancel the job")
        self.cancel_button.clicked.connect(self.runner.cancel)
        for button in (self.start_button, self.follow_button, self.cancel_button):
            row.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Fine-tuning progress")
        row.addWidget(self.progress, 1)
        layout.addLayout(row)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.state)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setAccessibleName("The provider's progress")
        layout.addWidget(self.log, 1)
        result_row = QHBoxLayout()
        self.model_edit = QLineEdit()
        self.model_edit.setReadOnly(True)
        self.model_edit.setPlaceholderText("The fine-tuned model's id appears here")
        self.use_button = QPushButton("Use in this workspace")
        self.use_button.clicked.connect(self.use_in_workspace)
        result_row.addWidget(QLabel("Fine-tuned model:"))
        result_row.addWidget(self.model_edit, 1)
        result_row.addWidget(self.use_button)
        layout.addLayout(result_row)
        self.runner.progress.connect(self._on_progress)
        self.runner.failed.connect(self._on_failed)
        self.runner.succeeded.connect(self._on_succeeded)
        self.runner.ended.connect(self._on_ended)
        self._fill_models()
        self.state.setText(self._waiting_text())
        self._enable()

    def _choices(self) -> QFormLayout:
        form = QFormLayout()
        self.provider_combo = QComboBox()
        self.provider_combo.setAccessibleName("Provider")
        for provider in self.runner.providers():
            self.provider_combo.addItem(provider.name, provider)
        self.provider_combo.currentIndexChanged.connect(self._fill_models)
        form.addRow("Provider:", self.provider_combo)
        self.base_combo = QComboBox()
        self.base_combo.setEditable(True)
        self.base_combo.setAccessibleName("Base model")
        self.base_combo.setToolTip("One of the provider's models that it can fine-tune")
        self.base_combo.editTextChanged.connect(self._enable)
        form.addRow("Base model:", self.base_combo)
        data_row = QHBoxLayout()
        self.data_combo = QComboBox()
        self.data_combo.setAccessibleName("Training examples")
        for name, count in self.runner.datasets():
            self.data_combo.addItem(f"{name} · {count} examples (kept dataset)", ("dataset", name))
        self.open_button = QPushButton("Open a file…")
        self.open_button.clicked.connect(self._pick_file)
        data_row.addWidget(self.data_combo, 1)
        data_row.addWidget(self.open_button)
        form.addRow("Examples:", data_row)
        self.suffix_edit = QLineEdit()
        self.suffix_edit.setPlaceholderText("optional: a name part for the fine-tuned model")
        form.addRow("Suffix:", self.suffix_edit)
        return form

    def _fill_models(self) -> None:
        self.base_combo.clear()
        provider = self.provider_combo.currentData()
        for model in provider.models if provider is not None else []:
            self.base_combo.addItem(model)
        self._look_for_earlier()

    def _look_for_earlier(self) -> None:
        """Whether the provider has a job started before that is not known to have ended."""
        provider = self.provider_combo.currentText()
        self._earlier = bool(provider) and bool(self.runner.unfinished(provider))
        self._enable()

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Training examples", "", DATA_FILES)
        if path:
            self.use_file(Path(path))

    def use_file(self, path: Path) -> None:
        """Fine-tune on the examples in ``path`` (any import format; split here)."""
        index = self.data_combo.findData(("data", str(path)))
        if index < 0:
            self.data_combo.addItem(f"{path.name} (file)", ("data", str(path)))
            index = self.data_combo.count() - 1
        self.data_combo.setCurrentIndex(index)
        self._enable()

    def params(self) -> dict[str, Any]:
        kind, value = self.data_combo.currentData()
        model = self.base_combo.currentText().strip()
        params: dict[str, Any] = {"provider": self.provider_combo.currentText(), "model": model,
                                  kind: value}  # fmt: skip
        if kind == "data":
            params["held_out"] = HELD_OUT
        if self.suffix_edit.text().strip():
            params["suffix"] = self.suffix_edit.text().strip()
        return params

    # -- the run ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Asks to agree (host, examples) every time, then uploads and starts the job."""
        if self.runner.job is not None or not self._can_start():
            return
        params = self.params()
        terms = self.runner.terms(params)
        if not terms.agree:
            self.state.setText(terms.message)
            return
        asked = QMessageBox.question(self, "Send the training examples?",
                                     terms.message.replace(" Agree to send it first "
                                                           "(--send-to-cloud).", "")
                                     + "\n\nSend them and start the fine-tuning?")  # fmt: skip
        if asked != QMessageBox.StandardButton.Yes:
            self.state.setText("Nothing was sent.")
            return
        self._begin(f"Uploading to {params['provider']}…")
        self.runner.start(params)
        self._enable()

    def follow(self) -> None:
        provider = self.provider_combo.currentText()
        left = self.runner.unfinished(provider) if provider else []
        if self.runner.job is not None or not left:
            return
        self._begin(f"Following {left[0].remote_id} on {provider}…")
        self.runner.follow(provider, left[0].remote_id)
        self._enable()

    def _begin(self, text: str) -> None:
        self.result = None
        self.model_edit.clear()
        self.log.clear()
        self.progress.setRange(0, 0)
        self.state.setText(text)

    def _on_progress(self, message: str, done: int, total: int) -> None:
        self.log.appendPlainText(message)
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.state.setText(message)

    def _on_failed(self, message: str) -> None:
        self.state.setText(message)

    def _on_succeeded(self, result: dict[str, Any]) -> None:
        self.result = result
        self.model_edit.setText(str(result["fine_tuned_model"]))
        tokens = result.get("trained_tokens")
        self.state.setText(f"Done: {result['provider']} made {result['fine_tuned_model']}"
                           + (f" ({tokens} trained tokens)" if tokens else "")
                           + ". The chat's model picker lists it.")  # fmt: skip

    def _on_ended(self, job: JobRecord) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if job.state == "done" else 0)
        if job.state == "cancelled":
            self.state.setText("Cancelled: the provider was asked to stop the job.")
        self._look_for_earlier()

    def use_in_workspace(self) -> None:
        if self.result is None or self.workspace is None:
            return
        provider, model = str(self.result["provider"]), str(self.result["fine_tuned_model"])
        self.backend.update_chat_settings(self.workspace, provider=provider, model=model)
        self.state.setText(f"{self.workspace} now answers with {model} on {provider}.")
        self.model_used.emit(provider, model)

    def _waiting_text(self) -> str:
        if self.provider_combo.count() == 0:
            return ("No provider here can fine-tune: add an OpenAI or OpenAI-compatible "
                    "provider in Settings → Providers first.")  # fmt: skip
        return "Choose the provider, its base model and the examples, then start."

    def _can_start(self) -> bool:
        return (self.provider_combo.currentIndex() >= 0 and self.data_combo.currentIndex() >= 0
                and bool(self.base_combo.currentText().strip()))  # fmt: skip

    def _enable(self) -> None:
        if not hasattr(self, "use_button"):  # still being built
            return
        running = self.runner.job is not None
        self.start_button.setEnabled(not running and self._can_start())
        self.follow_button.setEnabled(not running and self._earlier)
        self.cancel_button.setEnabled(running)
        for field in (self.provider_combo, self.base_combo, self.data_combo, self.open_button,
                      self.suffix_edit):  # fmt: skip
            field.setEnabled(not running)
        self.use_button.setEnabled(self.result is not None and self.workspace is not None)


def open_cloud_finetune(window: MainWindow) -> CloudFinetuneDialog | None:
    """Tools → Fine-tune in the cloud…: for the shown workspace ("Use" sets its chat model)."""
    if not window.backend.is_ready:
        window.conversation.show_notice("The library is still opening; try again in a moment.")
        return None
    dialog = CloudFinetuneDialog(window.backend, window.session.workspace, window)
    dialog.model_used.connect(lambda *_: window.model_picker.refresh())
    dialog.show()
    return dialog
