"""One workspace's answering and retrieval settings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.ui.form_fields import int_field, real_field

_MODES = (("chat", "Chat: documents plus the model's own knowledge"),
          ("query", "Query: documents only, refuse when nothing matches"))  # fmt: skip


class WorkspaceSettingsDialog(QDialog):
    def __init__(
        self,
        workspace: Workspace,
        providers: dict[str, bool],
        embedders: list[tuple[str, str]],
        parent: QWidget | None = None,
        location: str = "",
    ) -> None:
        """``location``: where a shared workspace keeps its index ("" for this computer)."""
        super().__init__(parent)
        self.workspace = workspace
        chat, retrieval = workspace.chat, workspace.retrieval
        self.setWindowTitle(f"Workspace settings — {workspace.name}")
        self.resize(640, 700)
        form = QFormLayout()
        self.mode = QComboBox()
        self.mode.setAccessibleName("Chat mode")
        for value, label in _MODES:
            self.mode.addItem(label, value)
        self.mode.setCurrentIndex(max(self.mode.findData(chat.mode), 0))
        self.system_prompt = QPlainTextEdit(chat.system_prompt)
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setMinimumHeight(110)
        self.temperature = real_field(0.0, 2.0, chat.temperature, "Temperature", 0.05)
        self.top_k = int_field(1, 100, retrieval.top_k, "Passages per answer")
        self.threshold = real_field(0.0, 1.0, retrieval.similarity_threshold,
                                    "Similarity threshold", 0.05)  # fmt: skip
        self.history = int_field(0, 100, chat.history_turns, "History length")
        self.max_tokens = int_field(16, 32768, chat.max_answer_tokens, "Answer length")
        self.refusal = QLineEdit(chat.refusal_message)
        self.refusal.setAccessibleName("Refusal message")
        self.provider = QComboBox()
        self.provider.setAccessibleName("Answered by")
        self.provider.addItem("The app's default provider", "")
        for name, here in providers.items():
            label = ("Local model (on this computer)" if name == "local"
                     else f"{name} ({'on this computer' if here else 'cloud'})")  # fmt: skip
            self.provider.addItem(label, name)
        self.provider.setCurrentIndex(max(self.provider.findData(chat.provider), 0))
        self.model = QLineEdit(chat.model)
        self.model.setAccessibleName("Cloud model")
        self.model.setPlaceholderText("the provider's default model")
        self.local_only = QCheckBox("Local only: never send this workspace's documents to a cloud")
        self.local_only.setChecked(chat.local_only)
        self.redact = QCheckBox(
            "Remove e-mail addresses, phone numbers, IBANs and card numbers before sending"
        )
        self.redact.setChecked(chat.redact_personal_data)
        self.embedder = QComboBox()
        self.embedder.setAccessibleName("Embedding model")
        for model_id, label in embedders:
            self.embedder.addItem(label, model_id)
        if self.embedder.findData(workspace.embedding_model) < 0:  # its provider was removed
            self.embedder.addItem(f"{workspace.embedding_model} (no longer offered)",
                                  workspace.embedding_model)  # fmt: skip
        self.embedder.setCurrentIndex(self.embedder.findData(workspace.embedding_model))
        if location:  # every computer sharing it embeds questions with its model
            self.embedder.setEnabled(False)
            self.embedder.setToolTip("A shared workspace keeps the model it was created with.")
        self.location = QLabel(location or "this computer")
        self.location.setAccessibleName("Index kept at")
        self.location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chunk_tokens = int_field(32, 8192, retrieval.chunk_tokens, "Chunk size")
        self.chunk_overlap = int_field(0, 4095, retrieval.chunk_overlap, "Chunk overlap")
        form.addRow("Index kept at", self.location)
        form.addRow("Answered by", self.provider)
        form.addRow("Cloud model", self.model)
        form.addRow("", self.local_only)
        form.addRow("", self.redact)
        form.addRow("Mode", self.mode)
        form.addRow("System prompt", self.system_prompt)
        form.addRow("", QLabel("Variables: {date}, {time}, {workspace}"))
        form.addRow("Temperature", self.temperature)
        form.addRow("Passages per answer", self.top_k)
        form.addRow("Similarity threshold", self.threshold)
        form.addRow("History (question/answer pairs)", self.history)
        form.addRow("Longest answer (tokens)", self.max_tokens)
        form.addRow("Refusal message (query mode)", self.refusal)
        form.addRow("Embedding model", self.embedder)
        form.addRow("Chunk size (tokens)", self.chunk_tokens)
        form.addRow("Chunk overlap (tokens)", self.chunk_overlap)
        self.reindex_warning = QLabel(
            "Changing the embedding model re-embeds this workspace's passages; changing the "
            "chunk size or overlap re-indexes its documents. Both ask first."
        )
        self.reindex_warning.setWordWrap(True)
        self.reindex_warning.setObjectName("EmptyHint")
        form.addRow(self.reindex_warning)
        self.error = QLabel()
        self.error.setObjectName("MessageStatus")
        self.error.setProperty("error", True)
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def chat_changes(self) -> dict[str, object]:
        return {
            "mode": self.mode.currentData(),
            "system_prompt": self.system_prompt.toPlainText(),
            "temperature": self.temperature.value(),
            "history_turns": self.history.value(),
            "max_answer_tokens": self.max_tokens.value(),
            "refusal_message": self.refusal.text(),
            "provider": self.provider.currentData(),
            "model": self.model.text().strip(),
            "local_only": self.local_only.isChecked(),
            "redact_personal_data": self.redact.isChecked(),
        }

    def retrieval_changes(self) -> dict[str, object]:
        return {
            "top_k": self.top_k.value(),
            "similarity_threshold": self.threshold.value(),
            "chunk_tokens": self.chunk_tokens.value(),
            "chunk_overlap": self.chunk_overlap.value(),
        }

    def embedder_changed(self) -> str | None:
        """The newly chosen embedding model, if it differs from the workspace's."""
        chosen = self.embedder.currentData()
        return str(chosen) if chosen and chosen != self.workspace.embedding_model else None

    def chunking_changed(self) -> bool:
        retrieval = self.workspace.retrieval
        return (self.chunk_tokens.value(), self.chunk_overlap.value()) != (
            retrieval.chunk_tokens,
            retrieval.chunk_overlap,
        )

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
