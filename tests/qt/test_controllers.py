"""The window's controllers without the real models: the navigator and the workspace actions
over a fake backend (only the reads and calls they make), the views following the session."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from anyllm_desktop.core.conversation import ThreadInfo
from anyllm_desktop.core.events import Done
from anyllm_desktop.ui.conversation import ChatHeader, ConversationPanel
from anyllm_desktop.ui.documents_panel import DocumentsPanel
from anyllm_desktop.ui.navigator import Navigator
from anyllm_desktop.ui.session import Session
from anyllm_desktop.ui.sidebar import Sidebar
from anyllm_desktop.ui.status_bar import StatusBar
from anyllm_desktop.ui.theme import apply_theme
from anyllm_desktop.ui.workspace_actions import DEFAULT_WORKSPACE, WorkspaceActions


class FakeCheck(QObject):
    event = Signal(object)


class FakeBackend(QObject):
    workspaces_changed = Signal()
    threads_changed = Signal(str)
    documents_changed = Signal(str)
    ingest_event = Signal(str, object)

    def __init__(self) -> None:
        super().__init__()
        self.is_ready = True
        self.ingest_worker = None
        self.names = ["Papers", "Notes"]
        self.thread = ThreadInfo(7, 1, "About apt", None, 0.0, 0.0)
        self.checks: list[FakeCheck] = []
        self.calls: list[tuple[Any, ...]] = []
        self.versions: list[int] = []

    def workspaces(self) -> list[tuple[Any, int]]:
        return [(SimpleNamespace(name=n), {"indexed": 1}) for n in self.names]

    def threads(self, name: str) -> list[ThreadInfo]:
        return [self.thread] if name == "Papers" else []

    def documents(self, name: str) -> list[Any]:
        return [SimpleNamespace(id=1, path=f"/docs/{name}.pdf", title=f"{name}.pdf",
                                status="indexed", chunks=3, added_at=0.0, error=None)]  # fmt: skip

    def messages(self, thread_id: int) -> list[Any]:
        common = {"sources": [], "citations": [], "provider": "embedded", "model": "m",
                  "timings": {}, "stopped": False, "error": None, "evidence": [],
                  "unsupported": [], "rating": 0, "correction": None}  # fmt: skip
        return [SimpleNamespace(id=1, role="user", content="What is apt?", **common),
                SimpleNamespace(id=2, role="assistant", content="A tool.", **common)]  # fmt: skip

    def answer_versions(self, thread_id: int) -> list[Any]:
        return [SimpleNamespace(id=i) for i in self.versions]

    def choose_version(self, thread_id: int, answer_id: int) -> None:
        self.calls.append(("version", thread_id, answer_id))

    def check_index(self, name: str) -> FakeCheck:
        self.checks.append(FakeCheck())
        return self.checks[-1]

    def create_workspace(self, name: str) -> Any:
        self.names.append(name)
        return SimpleNamespace(name=name)

    def delete_workspace(self, name: str) -> None:
        self.calls.append(("delete", name))
        self.names.remove(name)

    def ingest(self, workspace: str, paths: list[Path]) -> None:
        self.calls.append(("ingest", workspace, paths))

    def cancel_ingest(self) -> None: ...
    def remove_document(self, workspace: str, document: int) -> None:
        self.calls.append(("remove", workspace, document))

    def reindex_document(self, workspace: str, document: Any) -> None: ...
    def reindex_workspace(self, workspace: str) -> None:
        self.calls.append(("reindex", workspace))


def _parts(qtbot: QtBot) -> tuple[FakeBackend, Session, Navigator, ConversationPanel, Any]:
    backend, session = FakeBackend(), Session()
    host = QWidget()
    qtbot.addWidget(host)
    sidebar, documents = Sidebar(), DocumentsPanel()
    conversation = ConversationPanel(lambda state: f"welcome: {state}")
    navigator = Navigator(backend, session, sidebar, documents, conversation)  # type: ignore[arg-type]
    parts = SimpleNamespace(sidebar=sidebar, documents=documents, host=host)
    return backend, session, navigator, conversation, parts


def test_the_views_follow_the_session(qtbot: QtBot) -> None:
    backend, session, navigator, conversation, parts = _parts(qtbot)
    session.select("Papers")  # the session changes: every view redraws from it
    assert parts.documents.title.text() == "Documents — Papers"
    assert parts.documents.tree.topLevelItem(0).text(0) == "Papers.pdf"
    assert conversation.pages.currentWidget() is conversation.welcome
    assert conversation.header.toolTip() == "Papers · new chat"
    current = parts.sidebar.tree.currentItem()
    assert (current.text(0), current.text(1)) == ("Papers", "1 document")
    navigator.select_workspace("Notes")
    navigator.select_workspace("Papers")  # coming back: its most recent chat
    assert session.thread_id == 7
    navigator.new_chat("Papers")
    navigator.select_thread("Papers", 7)
    assert conversation.pages.currentWidget() is conversation.chat_view
    assert [m.text for m in conversation.chat_view.messages] == ["What is apt?", "A tool."]
    assert conversation.header.toolTip() == "Papers · About apt"
    backend.checks[-1].event.emit(Done("3 passages are missing."))
    assert not conversation.repair_bar.isHidden()
    navigator.select_workspace("Notes")  # the repair bar belongs to the workspace it was for
    assert conversation.repair_bar.isHidden() and not conversation.chat_view.messages
    backend.checks[-2].event.emit(Done("late answer for Papers"))
    assert conversation.repair_bar.isHidden()


def test_a_long_chat_title_is_cut_with_an_ellipsis_and_whole_in_its_tooltip(
    qtbot: QtBot,
) -> None:
    header = ChatHeader()
    qtbot.addWidget(header)
    header.resize(260, 30)
    header.show()
    title = "In which contexts is the ReportLab library expected to be useful?"
    header.show_chat("ReportLab guide", title)
    shown = header.text()
    assert shown.startswith("<b>ReportLab guide</b> · In") and shown.endswith("…")
    assert header.toolTip() == f"ReportLab guide · {title}"
    header.resize(1200, 30)  # room again: the whole title
    assert header.text() == f"<b>ReportLab guide</b> · {title}"


def test_the_sidebar_counts_follow_a_switch_to_dark_mode(qtbot: QtBot) -> None:
    _, session, _, _, parts = _parts(qtbot)
    session.select("Papers")
    size = QApplication.font().pointSize()
    try:
        apply_theme("dark", size)
        item = parts.sidebar.tree.topLevelItem(0)
        qtbot.waitUntil(lambda: item.foreground(1).color().name() == "#8a8f98", timeout=5_000)
    finally:
        apply_theme("system", size)


def test_reopen_where_the_user_left_off(qtbot: QtBot) -> None:
    _, session, navigator, _, _ = _parts(qtbot)
    navigator.reopen("Papers", "7")
    assert (session.workspace, session.thread_id) == ("Papers", 7)
    navigator.reopen("Notes", "99")  # a chat deleted since, none left: a new chat
    assert (session.workspace, session.thread_id) == ("Notes", None)
    navigator.reopen("Gone", "")  # the first workspace, at its most recent chat
    assert (session.workspace, session.thread_id) == ("Papers", 7)


def test_actions_queue_early_drops_create_a_first_workspace_and_clear_a_deleted_one(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, session, navigator, conversation, parts = _parts(qtbot)
    backend.names = []
    actions = WorkspaceActions(backend, navigator, parts.documents,  # type: ignore[arg-type]
                               StatusBar("m", offline=True), parts.host)  # fmt: skip
    backend.is_ready = False
    actions.add_documents([Path("/tmp/a.pdf")])
    assert actions.pending and not backend.calls  # the library is not open yet
    backend.is_ready = True
    actions.add_pending()
    assert backend.calls == [("ingest", DEFAULT_WORKSPACE, [Path("/tmp/a.pdf")])]
    assert session.workspace == DEFAULT_WORKSPACE and not actions.pending
    monkeypatch.setattr(actions, "confirm", lambda *_args: True)
    actions.delete_workspace(DEFAULT_WORKSPACE)
    assert ("delete", DEFAULT_WORKSPACE) in backend.calls
    assert session.workspace is None and conversation.header.text() == ""
    assert conversation.header.toolTip() == ""
    assert (
        parts.documents.title.text() == "Documents" and not parts.documents.tree.topLevelItemCount()
    )


class FakeWorker(QObject):
    event = Signal(object)
    finished = Signal()

    def cancel(self) -> None: ...


def test_edit_asks_before_it_drops_the_later_turns(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anyllm_desktop.ui import answer_controller
    from anyllm_desktop.ui.answer_controller import AnswerController

    backend, session, _navigator, conversation, parts = _parts(qtbot)
    sent: list[tuple[Any, ...]] = []
    backend.edit_and_resend = lambda *args: sent.append(args) or FakeWorker()  # type: ignore[attr-defined]
    session.select("Papers", 7)
    view = conversation.chat_view
    view.clear()  # (the fake thread's own two messages)
    for number, role in enumerate(["user", "assistant", "user", "assistant"], start=1):
        view.add_message(role, f"message {number}", message_id=number)
    controller = AnswerController(backend, session, view, conversation.composer,  # type: ignore[arg-type]
                                  parent=parts.host, show_chat=lambda: None,
                                  reload_thread=lambda: None, notice=lambda _t: None,
                                  status=lambda _t: None, speed=lambda _t: None)  # fmt: skip
    asked: list[str] = []
    answer = answer_controller.QMessageBox.StandardButton.No
    monkeypatch.setattr(answer_controller.QMessageBox, "question",
                        lambda _p, _t, text: asked.append(text) or answer)  # fmt: skip
    monkeypatch.setattr(answer_controller.QInputDialog, "getMultiLineText",
                        lambda *_a: ("message 1, edited", True))  # fmt: skip
    controller.edit_and_resend(1, "message 1")
    assert "drops the 2 later messages" in asked[0] and not sent  # said no: nothing changes
    assert len(view.messages) == 4
    answer = answer_controller.QMessageBox.StandardButton.Yes
    controller.edit_and_resend(1, "message 1")
    assert sent == [("Papers", 7, 1, "message 1, edited")]
    assert [m.text for m in view.messages][:1] == ["message 1, edited"]
    controller.worker = None
    asked.clear()
    controller.edit_and_resend(3, "message 3")  # the last question: nothing later to drop
    assert not asked


def test_the_last_answer_switches_between_its_kept_versions(qtbot: QtBot) -> None:
    backend, session, _, conversation, _ = _parts(qtbot)
    backend.versions = [5, 2]  # answer 2 (shown) came from a Regenerate of answer 5
    session.select("Papers", 7)
    answer = conversation.chat_view.messages[-1]
    assert answer.version_label.text() == "2/2" and not answer.version_label.isHidden()
    assert answer.previous_version.isEnabled() and not answer.next_version.isEnabled()
    answer.previous_version.click()
    assert backend.calls[-1] == ("version", 7, 5)
    backend.versions = [2]  # one answer: no switcher
    session.select("Papers", 7)
    assert conversation.chat_view.messages[-1].version_label.isHidden()


def test_removing_a_document_asks_first(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    backend, session, navigator, _, parts = _parts(qtbot)
    actions = WorkspaceActions(backend, navigator, parts.documents,  # type: ignore[arg-type]
                               StatusBar("m", offline=True), parts.host)  # fmt: skip
    session.select("Papers")
    asked: list[str] = []
    answer = False
    monkeypatch.setattr(actions, "confirm", lambda _t, text: asked.append(text) or answer)
    document = backend.documents("Papers")[0]
    parts.documents.remove_requested.emit(document)
    assert "Remove “Papers.pdf” from “Papers”?" in asked[0] and not backend.calls
    answer = True
    parts.documents.remove_requested.emit(document)
    assert backend.calls == [("remove", "Papers", 1)]
