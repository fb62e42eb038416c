"""Quick actions and prompt templates, from wherever they are asked: a chat message's or a
passage's context menu (the selected text), a document's (the whole document, as a workflow
job), "Quick action on text…" (pasted text) and a chat message starting with "/name" (a
template of the prompt library). Each result opens in its own :class:`QuickActionView`.

What an action needs first (the language, the labels, the fields) is asked in a small dialog
unless the caller gives it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.prompt_library import PromptError, fill, parse_command
from anyllm_desktop.ui.chat_view import ChatView, Composer
from anyllm_desktop.ui.prompt_library_dialog import PromptLibraryDialog
from anyllm_desktop.ui.quick_action_view import QuickActionView
from anyllm_desktop.ui.session import Session
from anyllm_desktop.workers.backend import Backend
from anyllm_desktop.workers.quick_actions import LANGUAGES, QUICK_ACTIONS, split_names

_LABELS = {action.id: action.label.rstrip("…") for action in QUICK_ACTIONS}


def title_of(action: str, params: dict[str, Any]) -> str:
    """The window's title: "Translate to French", "Classify into bug, praise"."""
    if action == "translate":
        return f"Translate to {params['language']}"
    if action == "classify":
        return f"Classify into {', '.join(params['labels'])}"
    if action == "extract":
        return f"Extract {', '.join(params['fields'])}"
    return _LABELS[action]


class PasteDialog(QDialog):
    """Quick action on text: pick the action, paste or type the text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quick action on text")
        self.action = QComboBox()
        self.action.setAccessibleName("Quick action")
        for action in QUICK_ACTIONS:
            self.action.addItem(action.label, action.id)
        self.text = QPlainTextEdit()
        self.text.setAccessibleName("Text for the quick action")
        self.text.setPlaceholderText("Paste or type the text here.")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Action (run by the workspace's answering model):"))
        layout.addWidget(self.action)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(560, 380)


class QuickActionController(QObject):
    def __init__(self, backend: Backend, session: Session, chat_view: ChatView,
                 composer: Composer, parent: QWidget, notice: Callable[[str], object],
                 ) -> None:  # fmt: skip
        super().__init__(parent)
        self.backend, self.session = backend, session
        self.chat_view, self.composer = chat_view, composer
        self._parent, self._notice = parent, notice
        #: The windows opened (newest last); each deletes itself when closed.
        self.views: list[QuickActionView] = []

    def ask_parameters(self, action: str) -> dict[str, Any] | None:
        """What ``action`` needs, asked in a small dialog; None when the user cancels."""
        parent = self._parent
        if action == "translate":
            language, ok = QInputDialog.getItem(
                parent, "Translate to", "Language (pick one or type another):", list(LANGUAGES),
                1, True,
            )  # fmt: skip
            return {"language": language.strip()} if ok and language.strip() else None
        if action in ("classify", "extract"):
            what = "Labels to classify into" if action == "classify" else "Fields to extract"
            example = "bug, billing, praise" if action == "classify" else (
                "invoice number, date, total")  # fmt: skip
            text, ok = QInputDialog.getText(parent, _LABELS[action], f"{what}, separated by "
                                            f"commas (for example: {example}):")  # fmt: skip
            key = "labels" if action == "classify" else "fields"
            return {key: split_names(text)} if ok else None
        return {}

    def _workspace(self) -> str | None:
        """The shown workspace, once its cloud provider (if it answers) is agreed to: asked
        the first time, as the chat asks; None when there is none or the user declines."""
        if not self.backend.is_ready or self.session.workspace is None:
            self._notice("Create a workspace first: quick actions use its answering model.")
            return None
        workspace = self.session.workspace
        question = self.backend.quick_action_agreement(workspace)
        if question is None:
            return workspace
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        box = QMessageBox(QMessageBox.Icon.Question, "Send to a cloud provider?",
                          f"{question}\n\nSend? (Asked once per workspace and provider.)",
                          buttons, self._parent)  # fmt: skip
        box.button(QMessageBox.StandardButton.Yes).setText("Send")
        box.button(QMessageBox.StandardButton.No).setText("Don't send")
        if box.exec() != QMessageBox.StandardButton.Yes:
            self._notice("Nothing was sent.")
            return None
        self.backend.agree_to_cloud(workspace)
        return workspace

    def _open(self, workspace: str, title: str, source: str) -> QuickActionView:
        view = QuickActionView(self.backend, workspace, title, source, self._parent)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.destroyed.connect(lambda: self.views.remove(view) if view in self.views else None)
        self.views.append(view)
        view.show()
        return view

    def on_text(self, action: str, text: str, source: str = "",
                params: dict[str, Any] | None = None) -> QuickActionView | None:  # fmt: skip
        """Run ``action`` over ``text`` (``source``: where it came from, for the citation)."""
        workspace = self._workspace()
        if workspace is None or not text.strip():
            return None
        params = self.ask_parameters(action) if params is None else params
        if params is None:
            return None
        try:
            worker = self.backend.quick_action(workspace, action, text, **params)
        except ValueError as exc:
            QMessageBox.warning(self._parent, "Quick action", str(exc))
            return None
        view = self._open(workspace, title_of(action, params), source)
        view.watch(worker)
        return view

    def on_passage(self, action: str, text: str, source: dict[str, Any],
                   params: dict[str, Any] | None = None) -> QuickActionView | None:  # fmt: skip
        return self.on_text(action, text, Passage.from_dict(source).where, params)

    def on_document(self, action: str, document: str,
                    params: dict[str, Any] | None = None) -> QuickActionView | None:  # fmt: skip
        """Run ``action`` over the whole document (its file name) as a workflow job."""
        workspace = self._workspace()
        if workspace is None:
            return None
        params = self.ask_parameters(action) if params is None else params
        if params is None:
            return None
        try:
            job = self.backend.document_action(workspace, action, document, **params)
        except ValueError as exc:
            QMessageBox.warning(self._parent, "Quick action", str(exc))
            return None
        view = self._open(workspace, f"{title_of(action, params)} — {document}", document)
        view.watch_job(job)
        return view

    def paste(self) -> PasteDialog:
        """ "Quick action on text…": the text box, then the action's window."""
        dialog = PasteDialog(self._parent)
        dialog.accepted.connect(lambda: self.on_text(dialog.action.currentData(),
                                                     dialog.text.toPlainText()))  # fmt: skip
        dialog.open()
        return dialog

    def open_library(self) -> PromptLibraryDialog:
        dialog = PromptLibraryDialog(self.backend.prompt_library(), self._parent)
        dialog.open()
        return dialog

    # -- "/name" in the composer -----------------------------------------------------------------

    def last_answer(self) -> str | None:
        answers = [m for m in self.chat_view.messages if m.role == "assistant" and m.text]
        return answers[-1].text if answers else None

    def command(self, message: str) -> bool:
        """Run a "/name …" message as its prompt template; False for any other message. An
        unknown name, or a variable left empty, is said in a notice (the message goes back
        into the question box)."""
        parsed = parse_command(message)
        if parsed is None:
            return False
        workspace = self._workspace()
        if workspace is None:
            return True
        name, rest = parsed
        library = self.backend.prompt_library()
        try:
            template = library.get(name)
            if template is None:
                raise PromptError(library.unknown(name))
            prompt = fill(template, rest, self.last_answer())
        except PromptError as exc:
            self._notice(str(exc))
            self.composer.editor.setPlainText(message)
            return True
        view = self._open(workspace, f"/{name}", "")
        view.watch(self.backend.run_prompt(workspace, f"/{name}", prompt))
        return True
