"""Settings → API server: serve the workspaces to other programs (OpenAI-compatible), on this
computer only by default; the address to give them, and the key, shown once when it is made."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from anyllm_desktop.ui.form_fields import int_field
from anyllm_desktop.workers.api_server import api_server_of
from anyllm_desktop.workers.backend import Backend

_ONCE = "Copy it now: it is kept in the keyring and not shown again."


class ApiServerTab(QWidget):
    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.server = api_server_of(backend)
        settings = backend.runtime.settings
        self.host = settings.api_server_host
        self.enabled = QCheckBox("Serve workspaces and local models to other programs")
        self.enabled.setAccessibleName("API server on")
        self.enabled.setChecked(bool(self.server.address) or self.server.busy)
        self.port = int_field(1, 65_535, settings.api_server_port, "API server port")
        self.address = QLineEdit()
        self.address.setReadOnly(True)
        self.address.setAccessibleName("API server address")
        self.key = QLineEdit()
        self.key.setReadOnly(True)
        self.key.setAccessibleName("API key")
        self.key.setPlaceholderText("kept in the keyring; a new key is shown here once")
        self.rotate = QPushButton("Make a new key")
        self.status = QLabel()
        self.status.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("", self.enabled)
        form.addRow("Port", self.port)
        form.addRow("Address", self.address)
        form.addRow("API key", self.key)
        form.addRow("", self.rotate)
        form.addRow(self.status)
        hint = QLabel("Other programs use it as an OpenAI-compatible server: a workspace is the "
                      "model workspace:NAME, answering from its documents with citations. "
                      "`anyllm serve` runs the same server without the window.")  # fmt: skip
        hint.setWordWrap(True)
        form.addRow(hint)
        self.enabled.toggled.connect(self._toggle)
        self.rotate.clicked.connect(self._rotate)
        self.server.address_changed.connect(self._show_address)
        self.server.failed.connect(self._failed)
        self._show_address(self.server.address)

    def _show_address(self, address: str) -> None:
        self.address.setText(address or "not running")
        self.port.setEnabled(not address and not self.server.busy)
        warning = self.server.warning(self.host, self.port.value())
        if address:
            self.status.setText(warning or "Listening on this computer only (loopback).")

    def _failed(self, message: str) -> None:
        self.status.setText(f"The API server did not start: {message}")
        self.enabled.setChecked(False)

    def _save(self, enabled: bool) -> None:
        settings = self.backend.runtime.settings
        self.backend.save_settings(
            replace(settings, api_server_enabled=enabled, api_server_port=self.port.value())
        )

    def _toggle(self, on: bool) -> None:
        self._save(on)
        if not on:
            self.server.stop()
            return
        if (key := self.server.key_to_show()) is not None:
            self.key.setText(key)
            self.status.setText(f"A key was made for the API server. {_ONCE}")
        self.port.setEnabled(False)
        self.address.setText("starting…")
        self.server.start(self.host, self.port.value())

    def _rotate(self) -> None:
        self.key.setText(self.server.rotate_key())
        self.status.setText(f"New API key; the old one no longer works. {_ONCE}")
