"""Which workspace and chat the window shows, and the views that follow it: the sidebar, the
documents panel, the repair bar, the chat's header and messages.

The controllers change the :class:`Session`; the navigator observes it and redraws. It needs
of the backend only reads (workspaces, threads, documents, messages, an index check), so a
test can drive it with a fake backend and no models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from anyllm_desktop.core.events import Done, Event
from anyllm_desktop.ui.answer_controller import describe
from anyllm_desktop.ui.conversation import ConversationPanel
from anyllm_desktop.ui.documents_panel import DocumentsPanel
from anyllm_desktop.ui.session import Session, SessionChange
from anyllm_desktop.ui.sidebar import Sidebar

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Backend
    from anyllm_desktop.workers.generator_worker import GeneratorWorker


class Navigator(QObject):
    def __init__(self, backend: Backend, session: Session, sidebar: Sidebar,
                 documents: DocumentsPanel, conversation: ConversationPanel) -> None:  # fmt: skip
        super().__init__(conversation)
        self.backend = backend
        self.session = session
        self.sidebar = sidebar
        self.documents = documents
        self.conversation = conversation
        self._index_check: GeneratorWorker | None = None
        session.observe(self._redraw)
        sidebar.workspace_selected.connect(self._on_workspace_clicked)
        sidebar.thread_selected.connect(self.select_thread)
        conversation.repair_bar.reindex_requested.connect(self._reindex_to_repair)
        conversation.chat_view.version_requested.connect(self.switch_version)
        backend.workspaces_changed.connect(self.refresh_sidebar)
        backend.threads_changed.connect(lambda _name: self.refresh_sidebar())
        backend.documents_changed.connect(self._on_documents_changed)

    def select_workspace(self, name: str | None) -> None:
        """``name`` at its most recent chat (a new one if it has none; None: no workspace)."""
        threads = self.backend.threads(name) if name else []
        self.session.select(name, threads[0].id if threads else None)

    def new_chat(self, name: str) -> None:
        self.session.select(name)

    def _on_workspace_clicked(self, name: str) -> None:
        """The workspace's row: its last chat when coming from another workspace; within it,
        the row stands for a new chat (as the sidebar highlights it)."""
        if name == self.session.workspace:
            self.new_chat(name)
        else:
            self.select_workspace(name)

    def select_thread(self, workspace: str, thread_id: int) -> None:
        self.session.select(workspace, thread_id)

    def reopen(self, workspace: object, thread: object) -> None:
        """Where the user left off (as the window's settings kept it), else the first
        workspace."""
        names = [w.name for w, _ in self.backend.workspaces()]
        if workspace not in names:
            if names:
                self.select_workspace(names[0])
            return
        name = str(workspace)
        ids = {t.id for t in self.backend.threads(name)}
        chosen = int(str(thread)) if str(thread).isdigit() else None
        if chosen in ids:
            self.session.select(name, chosen)
        else:
            self.select_workspace(name)

    def _redraw(self, change: SessionChange) -> None:
        name = self.session.workspace
        if change.workspace_changed:
            self.documents.show_documents(name, self.backend.documents(name) if name else [])
            self._check_index(name)
        self.show_thread()
        if change.workspace_changed or self.session.thread_id is None:
            self.refresh_sidebar()

    def refresh_sidebar(self) -> None:
        if not self.backend.is_ready:
            return
        workspaces = self.backend.workspaces()
        threads = {w.name: self.backend.threads(w.name) for w, _ in workspaces}
        self.sidebar.populate(workspaces, threads, (self.session.workspace, self.session.thread_id))

    def show_thread(self) -> None:
        """The chat shown, read again from the store (None: the welcome page of a new chat)."""
        view, thread_id = self.conversation, self.session.thread_id
        view.chat_view.clear()
        if thread_id is None:
            view.show_welcome()
            view.set_header(self.session.workspace)
            return
        view.show_chat()
        self.show_header()
        for message in self.backend.messages(thread_id):
            assistant = message.role == "assistant"
            widget = view.chat_view.add_message(
                message.role, message.content, message_id=message.id,
                sources=[s.to_dict() for s in message.sources] if assistant else None,
                cited={int(c["n"]) for c in message.citations if c.get("valid")},
            )  # fmt: skip
            if assistant:
                widget.set_checks(message.evidence, message.unsupported)
                widget.set_feedback(message.rating, message.correction)
                describe(widget, message.provider, message.model, message.timings,
                         message.stopped, message.error)  # fmt: skip
        self._show_versions(thread_id)

    def _show_versions(self, thread_id: int) -> None:
        """The last answer's versions (Regenerate keeps the earlier ones): "‹ 2/3 ›"."""
        messages = self.conversation.chat_view.messages
        versions = [v.id for v in self.backend.answer_versions(thread_id)]
        if messages and messages[-1].role == "assistant" and messages[-1].message_id in versions:
            messages[-1].set_versions(versions.index(messages[-1].message_id) + 1, len(versions))

    def switch_version(self, answer_id: int, step: int) -> None:
        thread_id = self.session.thread_id
        if thread_id is None:
            return
        versions = [v.id for v in self.backend.answer_versions(thread_id)]
        if answer_id in versions and 0 <= (index := versions.index(answer_id) + step) < len(
            versions
        ):
            self.backend.choose_version(thread_id, versions[index])
            self.show_thread()

    def show_header(self) -> None:
        workspace, thread_id = self.session.workspace, self.session.thread_id
        threads = self.backend.threads(workspace) if workspace else []
        title = next((t.title for t in threads if t.id == thread_id), "new chat")
        self.conversation.set_header(workspace, title)

    def _check_index(self, name: str | None) -> None:
        """A workspace whose passages were lost gets the repair bar (checked off the GUI
        thread; a shared workspace's list, read again by the check, is shown after it)."""
        self.conversation.repair_bar.hide()
        if name is None:
            self._index_check = None
            return
        worker = self._index_check = self.backend.check_index(name)

        def show(event: Event) -> None:
            if isinstance(event, Done) and worker is self._index_check:  # the latest check
                self.conversation.repair_bar.show_problem(name, event.result)
                self.documents.show_documents(name, self.backend.documents(name))

        worker.event.connect(show)

    def _reindex_to_repair(self, name: str) -> None:
        self._index_check = None
        self.documents.job_started(name)
        self.backend.reindex_workspace(name)

    def _on_documents_changed(self, name: str) -> None:
        """Coalesced by the backend (a drop of many files used to redraw per file)."""
        if name == self.session.workspace:
            self.documents.show_documents(name, self.backend.documents(name))
        self.refresh_sidebar()  # document counts
