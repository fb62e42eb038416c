"""Settings, in tabs: Model, Providers, Embedding, Privacy, Appearance, Storage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.settings import THEMES, Settings
from anyllm_desktop.workers.backend import Backend


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


class SettingsDialog(QDialog):
    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.settings = backend.runtime.settings
        self.setWindowTitle("Settings")
        self.resize(560, 440)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._model_tab(), "Model")
        self.tabs.addTab(self._providers_tab(), "Providers")
        self.tabs.addTab(self._embedding_tab(), "Embedding")
        self.tabs.addTab(self._privacy_tab(), "Privacy")
        self.tabs.addTab(self._appearance_tab(), "Appearance")
        self.tabs.addTab(self._storage_tab(), "Storage")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    def _model_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.model = QComboBox()
        self.model.setAccessibleName("Local chat model")
        for model in self.backend.chat_models():
            label = f"{model.name} · {model.quantization} · {model.size / 2**20:,.0f} MB"
            self.model.addItem(label, model.id)
        index = self.model.findData(self.settings.chat_model)
        self.model.setCurrentIndex(max(index, 0))
        self.context = self._spin(256, 1_048_576, self.settings.context_size, "Context size")
        self.context.setSingleStep(1024)
        self.threads = self._spin(0, 512, self.settings.threads, "Threads")
        self.threads.setSpecialValueText("automatic")
        self.gpu_layers = self._spin(-1, 10_000, self.settings.gpu_layers, "GPU layers")
        self.gpu_layers.setSpecialValueText("all")
        self.flash = QCheckBox("Flash attention")
        self.flash.setChecked(self.settings.flash_attention)
        self.provider = QComboBox()
        self.provider.setAccessibleName("Default provider")
        self.provider.addItem("Local (llama.cpp, on this computer)", "local")
        self.provider.setCurrentIndex(
            max(self.provider.findData(self.settings.default_provider), 0)
        )
        form.addRow("Chat model", self.model)
        form.addRow("Context size (tokens)", self.context)
        form.addRow("Threads", self.threads)
        form.addRow("GPU layers", self.gpu_layers)
        form.addRow("", self.flash)
        form.addRow("Answers by default", self.provider)
        hint = QLabel("GPU layers need a GPU build of llama.cpp; 0 runs on the CPU only.")
        hint.setWordWrap(True)
        form.addRow(hint)
        return tab

    def _providers_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        text = QLabel(
            "<p>Answers come from the local model on this computer.</p><p>Cloud providers "
            "(OpenAI, Anthropic, Gemini, Azure OpenAI and OpenAI-compatible servers) will be "
            "configured here, with their keys kept in the system keyring.</p>"
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        layout.addStretch(1)
        return tab

    def _embedding_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        model = self.backend.runtime.embedding_model()
        form.addRow("Embedding model", QLabel(f"{model.name} ({model.dim} dimensions)"))
        note = QLabel(
            "New workspaces use this model. Chunk size and overlap are set per workspace "
            "(Workspace settings); changing them re-indexes that workspace's documents."
        )
        note.setWordWrap(True)
        form.addRow(note)
        return tab

    def _privacy_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.offline = QCheckBox("Offline mode: no cloud provider, no download")
        self.offline.setAccessibleName("Offline mode")
        self.offline.setChecked(self.settings.offline_mode)
        text = QLabel(
            "<p>With offline mode on, nothing leaves this computer: documents, questions and "
            "answers stay in the data folder, and no network connection is made.</p>"
            "<p>Turning it off allows model downloads you start from the model manager. "
            "Nothing is sent anywhere without your action; there is no telemetry.</p>"
        )
        text.setWordWrap(True)
        layout.addWidget(self.offline)
        layout.addWidget(text)
        layout.addStretch(1)
        return tab

    def _appearance_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.theme = QComboBox()
        self.theme.setAccessibleName("Theme")
        for theme in THEMES:
            self.theme.addItem(theme.capitalize(), theme)
        self.theme.setCurrentIndex(max(self.theme.findData(self.settings.theme), 0))
        self.font_size = self._spin(6, 48, self.settings.font_size, "Font size")
        form.addRow("Theme", self.theme)
        form.addRow("Font size", self.font_size)
        return tab

    def _storage_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        home = self.backend.runtime.paths.home
        form.addRow("Data folder", QLabel(str(home)))
        form.addRow("Disk usage", QLabel(f"{_folder_size(home) / 2**20:,.1f} MB"))
        open_button = QPushButton("Open the folder")
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(home))))
        form.addRow("", open_button)
        return tab

    def _spin(self, low: int, high: int, value: int, name: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setAccessibleName(name)
        return spin

    def chosen(self) -> Settings:
        return replace(
            self.settings,
            chat_model=str(self.model.currentData()),
            context_size=self.context.value(),
            threads=self.threads.value(),
            gpu_layers=self.gpu_layers.value(),
            flash_attention=self.flash.isChecked(),
            default_provider=str(self.provider.currentData()),
            offline_mode=self.offline.isChecked(),
            theme=str(self.theme.currentData()),
            font_size=self.font_size.value(),
        )
