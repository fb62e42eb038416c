"""The model manager: local models with size, quantization, context length and a RAM-fit hint;
import a .gguf (copy or link), download one from a link with progress and cancel, delete; and
the LoRA adapters under their base models (ui/adapter_list.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.ui.adapter_list import AdapterList
from anyllm_desktop.workers.backend import Backend
from anyllm_desktop.workers.generator_worker import GeneratorWorker

if TYPE_CHECKING:
    from anyllm_desktop.workers.models_and_providers import LocalModel


class ModelManager(QDialog):
    #: A model was imported or downloaded (its LocalModel).
    model_added = Signal(object)

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.worker: GeneratorWorker | None = None
        self.models: list[LocalModel] = []
        self.setWindowTitle("Models")
        self.resize(860, 720)
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Models on this computer")
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(["Model", "Size", "Quantization", "Context", "This computer"])
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        for column in (1, 2, 3, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(QLabel("<b>Models on this computer</b> (drop a .gguf here to import it)"))
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.use_button = QPushButton("Use for chat")
        self.use_button.clicked.connect(self._use)
        self.import_button = QPushButton("Import .gguf…")
        self.import_button.clicked.connect(lambda: self._import(link=False))
        self.link_button = QPushButton("Link in place…")
        self.link_button.setToolTip("Use the file where it is, without copying it")
        self.link_button.clicked.connect(lambda: self._import(link=True))
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete)
        for button in (self.use_button, self.import_button, self.link_button, self.delete_button):
            button.setAccessibleName(button.text().rstrip("…"))
            row.addWidget(button)
        layout.addLayout(row)
        self.adapters = AdapterList(backend)
        layout.addWidget(self.adapters, 1)

        layout.addWidget(QLabel("<b>Download</b> — a link to a .gguf file, or a suggestion:"))
        download_row = QHBoxLayout()
        self.curated = QComboBox()
        self.curated.setAccessibleName("Suggested models")
        self.curated.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.curated.setMinimumContentsLength(24)
        self.curated.addItem("Suggestions…", "")
        for model in backend.curated_models():
            self.curated.addItem(f"{model.name} · {model.size_mb:,} MB · {model.license}",
                                 model.url)  # fmt: skip
        self.curated.currentIndexChanged.connect(
            lambda: self.url.setText(self.curated.currentData() or self.url.text())
        )
        self.url = QLineEdit()
        self.url.setAccessibleName("Download link")
        self.url.setPlaceholderText("https://huggingface.co/…/resolve/main/model.gguf")
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self._download)
        download_row.addWidget(self.curated, 1)
        download_row.addWidget(self.url, 2)
        download_row.addWidget(self.download_button)
        layout.addLayout(download_row)
        job_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Model transfer progress")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        job_row.addWidget(self.progress, 1)
        job_row.addWidget(self.cancel_button)
        layout.addLayout(job_row)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        if backend.runtime.settings.offline_mode:
            self.download_button.setEnabled(False)
            self.status.setText("Offline mode is on: downloads are off (Settings → Privacy).")
        self._set_busy(False)
        self.refresh()

    def refresh(self) -> None:
        self.models = self.backend.chat_models()
        current = self.backend.runtime.settings.chat_model
        self.tree.clear()
        for model in self.models:
            name = model.name + ("  (in use)" if model.id == current else "")
            name += "  · embedded" if model.embedded else ""
            context = f"{model.context_length:,}" if model.context_length else "?"
            item = QTreeWidgetItem([name, f"{model.size / 2**20:,.0f} MB", model.quantization,
                                    context, self.backend.memory_hint(model.size)])  # fmt: skip
            item.setToolTip(0, str(model.path))
            self.tree.addTopLevelItem(item)

    def _selected(self) -> LocalModel | None:
        index = self.tree.indexOfTopLevelItem(self.tree.currentItem())
        return self.models[index] if 0 <= index < len(self.models) else None

    def _use(self) -> None:
        from dataclasses import replace

        model = self._selected()
        if model is not None:
            settings = self.backend.runtime.settings
            self.backend.save_settings(replace(settings, chat_model=model.id))
            self.refresh()

    def _delete(self) -> None:
        model = self._selected()
        if model is None:
            return
        if model.embedded or model.id == self.backend.runtime.settings.chat_model:
            QMessageBox.information(self, "Delete model",
                                    "The embedded model and the model in use stay.")  # fmt: skip
            return
        if QMessageBox.question(self, "Delete model", f"Delete {model.path.name}?") == (
            QMessageBox.StandardButton.Yes
        ):
            self.backend.delete_model(model)
            self.refresh()

    def _import(self, *, link: bool) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", "", "GGUF models (*.gguf)")
        if path:
            self.import_file(Path(path), link=link)

    def import_file(self, path: Path, *, link: bool = False) -> None:
        self._run(self.backend.import_model(path, link=link))

    def _download(self) -> None:
        url = self.url.text().strip()
        if url:
            self._run(self.backend.download_model(url))

    def download(self, url: str) -> None:
        """Start downloading ``url`` (a suggestion the chat offered), shown in the list."""
        index = self.curated.findData(url)
        if index >= 0:
            self.curated.setCurrentIndex(index)
        self.url.setText(url)
        if self.download_button.isEnabled() and self.worker is None:
            self._download()

    def _run(self, worker: GeneratorWorker) -> None:
        self.worker = worker
        self._set_busy(True)
        worker.event.connect(self._on_event)
        worker.finished.connect(lambda: self._set_busy(False))

    def _cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.import_button.setEnabled(not busy)
        self.link_button.setEnabled(not busy)
        if not busy:
            self.worker = None

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.progress.setRange(0, max(event.total, 0) // 1024)
            self.progress.setValue(event.done // 1024)
            self.status.setText(f"{event.message}: {event.done / 2**20:,.0f} MB")
        elif isinstance(event, Done):
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.status.setText(f"Added {event.result.name}.")
            self.refresh()
            self.model_added.emit(event.result)
        elif isinstance(event, Error):
            self.status.setText(event.message)

    def dragEnterEvent(self, event: object) -> None:
        mime = event.mimeData()  # type: ignore[attr-defined]
        if mime.hasUrls() and any(u.toLocalFile().endswith(".gguf") for u in mime.urls()):
            event.acceptProposedAction()  # type: ignore[attr-defined]

    def dropEvent(self, event: object) -> None:
        for url in event.mimeData().urls():  # type: ignore[attr-defined]
            if url.toLocalFile().endswith(".gguf") and self.worker is None:
                self.import_file(Path(url.toLocalFile()))
                break
