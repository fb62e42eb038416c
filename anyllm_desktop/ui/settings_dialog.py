"""Settings, in tabs: Model, Providers, Embedding, Privacy, Appearance, Storage."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.core.settings import THEMES, Settings
from anyllm_desktop.ui.api_server_tab import ApiServerTab
from anyllm_desktop.ui.form_fields import int_field
from anyllm_desktop.ui.provider_dialog import ProviderDialog
from anyllm_desktop.workers.backend import Backend


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
        self.tabs.addTab(ApiServerTab(backend), "API server")
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
        self.context = int_field(256, 1_048_576, self.settings.context_size, "Context size")
        self.context.setSingleStep(1024)
        self.threads = int_field(0, 512, self.settings.threads, "Threads")
        self.threads.setSpecialValueText("automatic")
        self.gpu_layers = int_field(-1, 10_000, self.settings.gpu_layers, "GPU layers")
        self.gpu_layers.setSpecialValueText("all")
        self.flash = QCheckBox("Flash attention")
        self.flash.setChecked(self.settings.flash_attention)
        self.provider = QComboBox()
        self.provider.setAccessibleName("Default provider")
        # Filled, with the providers, by _show_providers (the Providers tab).
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
        note = QLabel(
            "Cloud providers answer only when you pick them (here as the default, or per "
            "workspace) and offline mode is off. Keys are kept in the system keyring."
        )
        note.setWordWrap(True)
        self.provider_table = QTreeWidget()
        self.provider_table.setAccessibleName("Providers")
        self.provider_table.setRootIsDecorated(False)
        self.provider_table.setHeaderLabels(["Name", "Kind", "Model", "Address", "Key"])
        buttons = QHBoxLayout()
        for text, action in (
            ("Add…", self._add_provider),
            ("Edit…", self._edit_provider),
            ("Remove", self._remove_provider),
            ("Test connection", self._test_provider),
        ):
            button = QPushButton(text)
            button.setAccessibleName(text.rstrip("…"))
            button.clicked.connect(action)
            buttons.addWidget(button)
        self.provider_status = QLabel()
        self.provider_status.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.provider_table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.provider_status)
        self._show_providers()
        return tab

    def _show_providers(self) -> None:
        self.rows = self.backend.providers()
        self.provider_table.clear()
        for row in self.rows:
            where = row["base_url"] or "this computer"
            if row["local"] and row["base_url"]:
                where = f"on this computer, {where}"
            self.provider_table.addTopLevelItem(
                QTreeWidgetItem([row["name"], row["kind"], row["model"], where, row["key"]])
            )
        chosen = self.provider.currentData() or self.settings.default_provider
        self.provider.clear()
        self.provider.addItem("Local (llama.cpp, on this computer)", "local")
        for row in self.rows[1:]:
            place = "on this computer" if row["local"] else "cloud"
            self.provider.addItem(f"{row['name']} ({row['kind']}, {place})", row["name"])
        self.provider.setCurrentIndex(max(self.provider.findData(chosen), 0))

    def _selected_provider(self) -> dict[str, Any] | None:
        index = self.provider_table.indexOfTopLevelItem(self.provider_table.currentItem())
        return self.rows[index] if index > 0 else None  # row 0 is the local model

    def _add_provider(self) -> None:
        self._open_provider(None)

    def _edit_provider(self) -> None:
        if (row := self._selected_provider()) is not None:
            self._open_provider(row)

    def _open_provider(self, row: dict[str, Any] | None) -> ProviderDialog:
        dialog = ProviderDialog(self.backend, row, self)
        dialog.accepted.connect(lambda: self._provider_saved(dialog))
        dialog.open()
        return dialog

    def _provider_saved(self, dialog: ProviderDialog) -> None:
        self._show_providers()
        self.provider_status.setText(dialog.notice or f"Saved {dialog.name.text()}.")

    def _remove_provider(self) -> None:
        if (row := self._selected_provider()) is not None:
            self.backend.remove_provider(row["name"])
            self._show_providers()

    def _test_provider(self) -> None:
        if (row := self._selected_provider()) is None:
            return
        self.provider_status.setText(f"Testing {row['name']}…")
        worker = self.backend.test_provider(row["name"])
        worker.event.connect(self._on_test)

    def _on_test(self, event: Event) -> None:
        if isinstance(event, Done):
            result = event.result
            self.provider_status.setText(
                f"Connected: {result['model']} answered {result['reply']!r} in "
                f"{result['seconds']} s."
            )
        elif isinstance(event, Error):
            self.provider_status.setText(event.message)

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
            "<p>Turning it off allows model downloads you start and cloud providers you choose. "
            "The first time a workspace's passages would go to a cloud provider, you are asked "
            "first; workspaces can be locked to local models and can have personal data "
            "removed before sending (Workspace settings). There is no telemetry.</p>"
        )
        text.setWordWrap(True)
        log_button = QPushButton("Outbound log…")
        log_button.setAccessibleName("Outbound log")
        log_button.clicked.connect(self._show_outbound_log)
        layout.addWidget(self.offline)
        layout.addWidget(text)
        layout.addWidget(log_button)
        layout.addStretch(1)
        return tab

    def _show_outbound_log(self) -> None:
        OutboundLogDialog(self.backend.outbound_log(), self).open()

    def _appearance_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.theme = QComboBox()
        self.theme.setAccessibleName("Theme")
        for theme in THEMES:
            self.theme.addItem(theme.capitalize(), theme)
        self.theme.setCurrentIndex(max(self.theme.findData(self.settings.theme), 0))
        self.font_size = int_field(6, 48, self.settings.font_size, "Font size")
        form.addRow("Theme", self.theme)
        form.addRow("Font size", self.font_size)
        return tab

    def _storage_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        home = self.backend.runtime.paths.home
        form.addRow("Data folder", QLabel(str(home)))
        self.disk_usage = QLabel("measuring…")
        form.addRow("Disk usage", self.disk_usage)
        # A bound method: the connection ends with the dialog if it closes first.
        self.backend.measure_disk_usage().event.connect(self._show_disk_usage)
        open_button = QPushButton("Open the folder")
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(home))))
        form.addRow("", open_button)
        return tab

    def _show_disk_usage(self, event: Event) -> None:
        if isinstance(event, Done):
            self.disk_usage.setText(f"{event.result / 2**20:,.1f} MB")

    def chosen(self) -> Settings:
        return replace(
            self.backend.runtime.settings,  # current: providers may have changed meanwhile
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


class OutboundLogDialog(QDialog):
    """What went to cloud providers: when, to whom, how many tokens, what was removed."""

    def __init__(self, entries: list[dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Outbound log")
        self.resize(760, 420)
        self.table = QTreeWidget()
        self.table.setAccessibleName("Requests sent to cloud providers")
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(
            [
                "Time",
                "Sent",
                "Provider",
                "Model",
                "Host",
                "Workspace",
                "Tokens in/out",
                "Removed",
                "OK",
            ]
        )
        for entry in entries:
            removed = ", ".join(f"{n} {k}" for k, n in entry.get("redactions", {}).items())
            sent = "prompt"
            if entry.get("kind") == "embeddings":
                sent = f"{entry.get('texts', 0)} texts to embed"
            self.table.addTopLevelItem(QTreeWidgetItem([
                entry["time"], sent, entry["provider"], entry["model"], entry["host"],
                entry.get("workspace", ""),
                f"{entry['prompt_tokens']}/{entry['completion_tokens']}", removed or "—",
                "yes" if entry["ok"] else "failed",
            ]))  # fmt: skip
        layout = QVBoxLayout(self)
        if entries:
            layout.addWidget(self.table, 1)
        else:
            layout.addWidget(QLabel("Nothing has been sent to a cloud provider."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
