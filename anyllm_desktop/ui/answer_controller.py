"""Asking and the answer's stream: ask, regenerate, edit and resend, stop; tokens, sources and
timings into the chat view; the first-time consent before passages go to a cloud provider.

The window hands it the backend, the session (which workspace and chat are shown: plain
Python, shared), the chat view and composer, and a few callbacks for the rest of the window
(show the chat page, reload the thread, a notice, a status line, the speed label); it says when
an answer ended through ``finished``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from anyllm_desktop.core.events import (
    CONSENT_REQUIRED,
    Done,
    Error,
    Event,
    Progress,
    Sources,
    Token,
    Usage,
)
from anyllm_desktop.ui.chat_view import ChatView, Composer
from anyllm_desktop.ui.message_widget import MessageWidget
from anyllm_desktop.ui.session import Session
from anyllm_desktop.workers.backend import Backend
from anyllm_desktop.workers.generator_worker import GeneratorWorker


def context_use(timings: dict[str, Any]) -> tuple[str, str]:
    """The context indicator: "1,304 / 8,192 tokens" and, for its tooltip, what the model's
    window held and what was left out of it."""
    used, size = timings.get("prompt_tokens"), timings.get("context_size")
    if not used or not size:
        return "", ""
    answer = timings.get("completion_tokens", 0)
    detail = [f"The model's context window: {size:,} tokens; the prompt used {used:,} "
              f"({used / size:.0%}), the answer {answer:,}."]  # fmt: skip
    if left := timings.get("passages_left_out"):
        detail.append(f"{left} passage{'s' if left != 1 else ''} did not fit and were left out.")
    if turns := timings.get("turns_left_out"):
        detail.append(f"The {turns} oldest turn{'s' if turns != 1 else ''} of the chat were "
                      "left out.")  # fmt: skip
    short = f"{used + answer:,} / {size:,} tokens" + (" (some left out)" if left or turns else "")
    return short, " ".join(detail)


def describe(
    widget: MessageWidget,
    provider: str | None,
    model: str | None,
    timings: dict[str, Any],
    stopped: bool,
    error: str | None,
    notes: list[str] | None = None,
) -> None:
    parts = [f"{model} ({provider})"] if model else []
    if timings.get("tokens_per_s"):
        parts.append(f"{timings['tokens_per_s']:.1f} tokens/s")
    context, detail = context_use(timings)
    if context:
        parts.append(context)
    widget.title.setText("Assistant · " + " · ".join(parts) if parts else "Assistant")
    widget.title.setToolTip(detail)
    status = " ".join(notes or [])
    if stopped:
        status = ("Stopped — the answer is incomplete. " + status).strip()
    if error:
        widget.set_status(error, error=True)
    else:
        widget.set_status(status)


class AnswerController(QObject):
    finished = Signal()

    def __init__(
        self, backend: Backend, session: Session, chat_view: ChatView, composer: Composer, *,
        parent: QWidget, show_chat: Callable[[], object], reload_thread: Callable[[], object],
        notice: Callable[[str], object], status: Callable[[str], object],
        speed: Callable[[str], object],
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.backend = backend
        self.session = session
        self.chat_view = chat_view
        self.composer = composer
        self._parent = parent
        self._show_chat = show_chat
        self._reload_thread = reload_thread
        self._notice = notice
        self._status = status
        self._speed = speed
        #: The answer being generated, if any.
        self.worker: GeneratorWorker | None = None
        self._pending_consent = ""
        self._reload_when_done = False
        #: A message's other meaning ("/name …": a prompt template); True when it took it.
        self.command: Callable[[str], bool] | None = None

    def ask(self, question: str) -> None:
        if self.command is not None and self.worker is None and self.command(question):
            return
        if self.session.workspace is None or self.worker is not None:
            if self.session.workspace is None:
                self._notice("Create a workspace or drop documents first.")
            return
        self._show_chat()
        self.chat_view.add_message("user", question)
        self._run_answer(self.backend.ask(self.session.workspace, question, self.session.thread_id))

    def regenerate(self) -> None:
        if self.session.workspace and self.session.thread_id is not None and self.worker is None:
            self._reload_thread()
            messages = self.chat_view.messages
            if messages and messages[-1].role == "assistant":
                self.chat_view.remove_from(-1)
            self._run_answer(
                self.backend.regenerate(self.session.workspace, self.session.thread_id)
            )
            self._reload_when_done = True  # the kept versions: "‹ 2/2 ›" on the new answer

    def edit_and_resend(self, message_id: int, text: str) -> None:
        if not (
            self.session.workspace and self.session.thread_id is not None and self.worker is None
        ):
            return
        index = self.chat_view.index_of(message_id)
        later = len(self.chat_view.messages) - index - 2 if index is not None else 0
        if later > 0 and QMessageBox.question(
            self._parent, "Edit question",
            f"Sending the edited question replaces its answer and drops the {later} later "
            f"message{'s' if later != 1 else ''} of this chat. Continue?",
        ) != QMessageBox.StandardButton.Yes:  # fmt: skip
            return
        new_text, ok = QInputDialog.getMultiLineText(
            self._parent, "Edit question", "Question:", text
        )
        if ok and new_text.strip():
            thread, workspace = self.session.thread_id, self.session.workspace
            if index is not None:
                self.chat_view.remove_from(index)
            self.chat_view.add_message("user", new_text.strip())
            self._run_answer(
                self.backend.edit_and_resend(workspace, thread, message_id, new_text.strip())
            )

    def _run_answer(self, worker: GeneratorWorker) -> None:
        self.worker = worker
        self.composer.set_busy(True)
        self.chat_view.start_answer()
        worker.event.connect(self._on_answer_event)
        worker.finished.connect(self._on_answer_finished)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self._status("Stopping…")

    def _on_answer_event(self, event: Event) -> None:
        widget = self.chat_view.streaming
        if widget is None:
            return
        if isinstance(event, Progress):
            widget.set_status(event.message + "…")
        elif isinstance(event, Sources):
            widget.set_sources([p.to_dict() for p in event.passages])
            notes = " ".join(event.notes)
            widget.set_status(("Reading the passages… " + notes).strip())
        elif isinstance(event, Token):
            if widget.status.isVisible():
                widget.set_status("")
            self.chat_view.append_token(event.text)
        elif isinstance(event, Usage):
            pass
        elif isinstance(event, Done):
            answer = event.result
            finished = self.chat_view.finish_answer()
            if finished is not None:
                # As kept: without citations to no passage, after a plain word when no passage
                # matched, the evidence instead of an unchecked answer in query mode.
                finished.set_text(answer.answer)
                cited = {int(c["n"]) for c in answer.citations if c.get("valid")}
                finished.set_sources(answer.sources, cited)
                finished.set_checks(answer.evidence, answer.unsupported)
                finished.message_id = answer.message
                describe(finished, answer.provider, answer.model, answer.timings,
                         answer.stopped, None, answer.notes)  # fmt: skip
            self.session.adopt_thread(answer.thread)
            speed = answer.timings.get("tokens_per_s")
            if speed:
                self._speed(f"{speed:.1f} tokens/s")
        elif isinstance(event, Error):
            finished = self.chat_view.finish_answer()
            if event.detail == CONSENT_REQUIRED:
                self._pending_consent = event.message
            elif finished is not None:
                finished.set_status(event.message, error=True)

    def _on_answer_finished(self) -> None:
        self.worker = None
        self.composer.set_busy(False)
        self.chat_view.finish_answer()
        if self._reload_when_done:
            self._reload_when_done = False
            self._reload_thread()
        self.finished.emit()
        if self._pending_consent:
            message, self._pending_consent = self._pending_consent, ""
            self._ask_consent(message)

    def _ask_consent(self, message: str) -> None:
        """The first time passages would go to a cloud provider: say what and where, ask."""
        question = self.chat_view.remove_from(-2)[0]
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        text = message + "\n\nSend now? (Asked once per workspace and provider.)"
        box = QMessageBox(
            QMessageBox.Icon.Question, "Send to a cloud provider?", text, buttons, self._parent
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Send")
        box.button(QMessageBox.StandardButton.No).setText("Don't send")
        if box.exec() == QMessageBox.StandardButton.Yes and self.session.workspace is not None:
            self.backend.agree_to_cloud(self.session.workspace)
            self.ask(question.text)
        else:
            self.composer.editor.setPlainText(question.text)
