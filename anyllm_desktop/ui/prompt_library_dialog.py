"""The prompt library: the saved templates (list), one edited at a time (name, description,
prompt with ``{{variables}}``), New, Save, Delete. In the chat, "/name" runs one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.prompt_library import PromptError, PromptLibrary, PromptTemplate

_HELP = ("In the chat, write <b>/name</b> to run a template. Words after the name fill its "
         "variables other than {{text}}, one word each, in order (quote a value of several "
         "words); {{text}} is the rest of the message, or the chat's last answer. Example: "
         "<i>/translate French</i> translates the last answer.")  # fmt: skip


class PromptLibraryDialog(QDialog):
    def __init__(self, library: PromptLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.setWindowTitle("Prompt library")
        self.resize(760, 480)
        self.list = QListWidget()
        self.list.setAccessibleName("Prompt templates")
        self.list.currentItemChanged.connect(self._show)
        self.name = QLineEdit()
        self.name.setAccessibleName("Template name")
        self.description = QLineEdit()
        self.description.setAccessibleName("Template description")
        self.prompt = QPlainTextEdit()
        self.prompt.setAccessibleName("Template prompt")
        self.prompt.setPlaceholderText("Summarize this text for a child:\n\n{{text}}")
        self.state = QLabel()
        self.state.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name (typed as /name)", self.name)
        form.addRow("Description", self.description)
        form.addRow("Prompt", self.prompt)
        help_label = QLabel(_HELP)
        help_label.setWordWrap(True)
        help_label.setObjectName("EmptyHint")
        self.new_button = QPushButton("New")
        self.new_button.clicked.connect(self.new)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete)
        row = QHBoxLayout()
        for button in (self.new_button, self.save_button, self.delete_button):
            row.addWidget(button)
        row.addStretch(1)
        right = QVBoxLayout()
        right.addLayout(form, 1)
        right.addWidget(self.state)
        right.addLayout(row)
        top = QHBoxLayout()
        top.addWidget(self.list, 1)
        top.addLayout(right, 2)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addWidget(help_label)
        layout.addWidget(close)
        self._editing: str | None = None
        self.refresh()

    def refresh(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        try:
            templates = self.library.templates()
        except PromptError as exc:
            self.state.setText(str(exc))
            templates = []
        for template in templates:
            builtin = " (built-in)" if self.library.is_builtin(template.name) else ""
            item = QListWidgetItem(f"/{template.name}{builtin}")
            item.setData(Qt.ItemDataRole.UserRole, template)
            item.setToolTip(f"{template.description}\n{template.usage()}")
            self.list.addItem(item)
        self.list.blockSignals(False)
        names = [t.name for t in templates]
        self.list.setCurrentRow(names.index(select) if select in names else 0)

    def _show(self, item: QListWidgetItem | None) -> None:
        template: PromptTemplate | None = item.data(Qt.ItemDataRole.UserRole) if item else None
        self._editing = template.name if template else None
        self.name.setText(template.name if template else "")
        self.description.setText(template.description if template else "")
        self.prompt.setPlainText(template.prompt if template else "")
        builtin = template is not None and self.library.is_builtin(template.name)
        self.name.setReadOnly(builtin)  # /summarize stays /summarize
        self.delete_button.setText("Restore original" if builtin else "Delete")
        self.state.setText(f"Run it as: {template.usage()}" if template else "")

    def new(self) -> None:
        self.list.clearSelection()
        self._editing = None
        self.name.setReadOnly(False)
        self.name.clear()
        self.description.clear()
        self.prompt.setPlainText("{{text}}")
        self.name.setFocus()
        self.state.setText("Name it, write the prompt, then Save.")

    def save(self) -> bool:
        template = PromptTemplate(self.name.text().strip().lstrip("/").lower(),
                                  self.description.text().strip(),
                                  self.prompt.toPlainText().strip())  # fmt: skip
        try:
            self.library.save(template, replaces=self._editing)
        except (PromptError, OSError) as exc:
            self.state.setText(f"Not saved: {exc}")
            return False
        self.refresh(select=template.name)
        self.state.setText(f"Saved. Run it as: {template.usage()}")
        return True

    def delete(self) -> None:
        if self._editing is None:
            return
        try:
            self.library.delete(self._editing)
        except (PromptError, OSError) as exc:
            self.state.setText(f"Not deleted: {exc}")
            return
        self.refresh(select=self._editing if self.library.is_builtin(self._editing) else None)
