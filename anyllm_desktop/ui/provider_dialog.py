"""Add or edit a cloud provider: kind (with the usual address filled in), base URL, API key
(kept in the keyring; never shown again), default model picked from the provider's own list,
the embedding model offered to workspaces, and a connection test."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.workers.backend import Backend
from anyllm_desktop.workers.generator_worker import GeneratorWorker


class ProviderDialog(QDialog):
    def __init__(
        self, backend: Backend, existing: dict[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.backend = backend
        self.existing = existing
        self.worker: GeneratorWorker | None = None
        #: Where the key went, when that is not the system keyring (shown by the caller).
        self.notice = ""
        self.kinds = backend.provider_kinds()
        self.setWindowTitle("Edit provider" if existing else "Add a provider")
        self.resize(560, 300)
        form = QFormLayout()
        self.name = QLineEdit(existing["name"] if existing else "")
        self.name.setAccessibleName("Provider name")
        self.name.setReadOnly(existing is not None)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Provider kind")
        for kind, (label, *_rest) in self.kinds.items():
            self.kind.addItem(label, kind)
        if existing:
            self.kind.setCurrentIndex(self.kind.findData(existing["kind"]))
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.base_url = QLineEdit(existing.get("base_url", "") if existing else "")
        self.base_url.setAccessibleName("Base URL")
        self.api_key = QLineEdit()
        self.api_key.setAccessibleName("API key")
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        if existing and existing.get("key") == "stored":
            self.api_key.setPlaceholderText("stored in the keyring — leave empty to keep it")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setAccessibleName("Default model")
        if existing:
            self.model.setEditText(existing.get("model", ""))
        fetch = QPushButton("Fetch models")
        fetch.setAccessibleName("Fetch the provider's models")
        fetch.clicked.connect(self._fetch)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(fetch)
        self.embedding_model = QLineEdit(existing.get("embedding_model", "") if existing else "")
        self.embedding_model.setAccessibleName("Embedding model")
        self.embedding_model.setToolTip(
            "Offered to workspaces as their embedding model (Workspace settings). Empty: none."
        )
        form.addRow("Name", self.name)
        form.addRow("Kind", self.kind)
        form.addRow("Base URL", self.base_url)
        form.addRow("API key", self.api_key)
        form.addRow("Default model", model_row)
        form.addRow("Embedding model", self.embedding_model)
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self._usual_embedding = ""
        self._kind_changed()

    def _kind_changed(self) -> None:
        _label, url, needs_key, embedding = self.kinds[str(self.kind.currentData())]
        self.base_url.setPlaceholderText(url or "required, e.g. http://localhost:8000/v1")
        if not self.api_key.placeholderText().startswith("stored"):
            self.api_key.setPlaceholderText("required" if needs_key else "optional")
        # The kind's usual embedding model, unless the user typed another.
        self.embedding_model.setEnabled(embedding is not None)
        typed = self.embedding_model.text().strip()
        if embedding is None:
            self.embedding_model.clear()
            self.embedding_model.setPlaceholderText("this kind has no embeddings API")
        elif not typed or typed == self._usual_embedding:
            if self.existing is None:
                self.embedding_model.setText(embedding)
            self.embedding_model.setPlaceholderText(embedding or "e.g. nomic-embed-text")
        self._usual_embedding = embedding or ""

    def _fetch(self) -> None:
        if self.worker is not None:
            return
        self.status.setText("Asking the provider for its models…")
        self.worker = self.backend.fetch_models(
            str(self.kind.currentData()),
            self.base_url.text().strip(),
            self.api_key.text(),
            stored_for=self.existing["name"] if self.existing else None,
        )
        self.worker.event.connect(self._on_models)
        self.worker.finished.connect(lambda: setattr(self, "worker", None))

    def _on_models(self, event: Event) -> None:
        if isinstance(event, Done):
            current = self.model.currentText()
            self.model.clear()
            self.model.addItems(event.result)
            self.model.setEditText(current or (event.result[0] if event.result else ""))
            self.status.setText(f"{len(event.result)} models.")
        elif isinstance(event, Error):
            self.status.setText(event.message)

    def _save(self) -> None:
        key = self.api_key.text() or (None if self.existing else "")
        try:
            notice = self.backend.save_provider(
                self.name.text().strip(), str(self.kind.currentData()),
                self.base_url.text().strip(), self.model.currentText().strip(), key,
                self.embedding_model.text().strip(),
            )  # fmt: skip
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        self.notice = notice or ""
        self.accept()
