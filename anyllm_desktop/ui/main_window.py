"""The main window: workspaces and chats on the left, the conversation in the middle, the
workspace's documents on the right, model and indexing state below.

Composition only: the parts (:mod:`status_bar`, :mod:`conversation`, :mod:`sidebar`,
:mod:`documents_panel`) are views; :class:`Navigator` (what is shown), :class:`AnswerController`
(asking) and :class:`WorkspaceActions` (workspaces, chats, documents) act on a plain-Python
:class:`Session` and the :class:`Backend`, which runs everything long on worker threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow

from anyllm_desktop.ui.answer_controller import AnswerController
from anyllm_desktop.ui.answer_feedback import AnswerFeedback
from anyllm_desktop.ui.columns import Columns
from anyllm_desktop.ui.conversation import ConversationPanel, welcome_html
from anyllm_desktop.ui.documents_panel import DocumentsPanel
from anyllm_desktop.ui.jobs_view import JobsView
from anyllm_desktop.ui.model_manager import ModelManager
from anyllm_desktop.ui.model_picker import ModelPicker
from anyllm_desktop.ui.navigator import Navigator
from anyllm_desktop.ui.passage_dialog import PassageDialog
from anyllm_desktop.ui.quick_action_controller import QuickActionController
from anyllm_desktop.ui.session import Session
from anyllm_desktop.ui.settings_dialog import SettingsDialog
from anyllm_desktop.ui.sidebar import Sidebar
from anyllm_desktop.ui.startup_view import StartupView
from anyllm_desktop.ui.status_bar import StatusBar
from anyllm_desktop.ui.style import STYLE_SHEET
from anyllm_desktop.ui.theme import apply_theme
from anyllm_desktop.ui.window_frame import WindowPlace, build_menus
from anyllm_desktop.ui.workflows_panel import WorkflowsPanel
from anyllm_desktop.ui.workspace_actions import WorkspaceActions
from anyllm_desktop.workers.api_server import api_server_of
from anyllm_desktop.workers.backend import Backend

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Runtime


class MainWindow(QMainWindow):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self.backend = Backend(runtime, self)
        #: Which workspace and chat the window shows (plain Python: the controllers share it).
        self.session = Session()
        self._jobs_view: JobsView | None = None
        self.setWindowTitle("anyllm-desktop")
        self.setObjectName("MainWindow")
        self.setStyleSheet(STYLE_SHEET)
        settings = runtime.settings
        apply_theme(settings.theme, settings.font_size)
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.sidebar = Sidebar()
        self.documents = DocumentsPanel()
        self.conversation = ConversationPanel(
            lambda state: welcome_html(
                offline=self.runtime.settings.offline_mode, chat_model=runtime.chat_model_name(),
                embedding_model=runtime.embedding_model().name, home=str(runtime.paths.home),
                state=state,
            )
        )  # fmt: skip
        self.chat_view = self.conversation.chat_view
        self.composer = self.conversation.composer
        self.status = StatusBar(runtime.chat_model_name(), offline=settings.offline_mode)
        self.setStatusBar(self.status)
        self.splitter = Columns(self.sidebar, self.conversation, self.documents)
        self.splitter.setSizes([270, 640, 370])
        self.setCentralWidget(self.splitter)

        self.navigator = Navigator(
            self.backend, self.session, self.sidebar, self.documents, self.conversation
        )
        self.workspace_actions = WorkspaceActions(
            self.backend, self.navigator, self.documents, self.status, self
        )
        self.startup = StartupView(self.backend, self.conversation, self.status, self)
        self.answers = AnswerController(
            self.backend, self.session, self.chat_view, self.composer, parent=self,
            show_chat=self.conversation.show_chat, reload_thread=self.navigator.show_thread,
            notice=self.conversation.show_notice,
            status=lambda text: self.status.showMessage(text, 3000),
            speed=self.status.speed_label.setText,
        )  # fmt: skip
        self.feedback = AnswerFeedback(self.backend, self.chat_view, self)
        self.model_picker = ModelPicker(
            self.backend, self.session, self.conversation.model_picker,
            self.conversation.model_offer, self.download_offered_model,
        )  # fmt: skip
        self.quick = QuickActionController(
            self.backend, self.session, self.chat_view, self.composer, self,
            self.conversation.show_notice,
        )  # fmt: skip
        build_menus(self)
        self._connect()
        self.place = WindowPlace(runtime.paths.home)
        self.place.restore(self)
        for warning in runtime.warnings:
            self.conversation.show_notice(warning)
        self._set_enabled(False)

    def _connect(self) -> None:
        backend, actions, sidebar = self.backend, self.workspace_actions, self.sidebar
        backend.ready.connect(self._on_ready)
        sidebar.new_workspace_requested.connect(actions.new_workspace)
        sidebar.new_thread_requested.connect(self.new_chat)
        sidebar.rename_workspace_requested.connect(actions.rename_workspace)
        sidebar.delete_workspace_requested.connect(actions.delete_workspace)
        sidebar.rename_thread_requested.connect(actions.rename_thread)
        sidebar.delete_thread_requested.connect(actions.delete_thread)
        sidebar.export_thread_requested.connect(actions.export_thread)
        self.status.jobs_requested.connect(self.open_jobs)
        self.documents.workflow_requested.connect(self.open_workflows)
        self.answers.finished.connect(self.navigator.refresh_sidebar)
        self.answers.finished.connect(self.navigator.show_header)
        self.composer.send_requested.connect(self.answers.ask)
        self.composer.stop_requested.connect(self.answers.stop)
        self.chat_view.citation_clicked.connect(self.show_passage)
        self.chat_view.regenerate_requested.connect(self.answers.regenerate)
        self.chat_view.edit_requested.connect(self.answers.edit_and_resend)
        self.answers.command = self.quick.command
        self.chat_view.quick_action_requested.connect(self.quick.on_text)
        self.documents.quick_action_requested.connect(self.quick.on_document)
        for keys, action in (
            ("Ctrl+L", self.composer.editor.setFocus),
            ("Ctrl+F", self.conversation.show_find),
            ("Escape", lambda: self.conversation.close_find() or self.answers.stop()),
        ):
            QShortcut(QKeySequence(keys), self, activated=action)

    def _set_enabled(self, ready: bool) -> None:
        for part in (self.composer, self.sidebar, self.documents):
            part.setEnabled(ready)

    def new_chat(self) -> None:
        self.workspace_actions.new_thread()
        self.composer.editor.setFocus()

    # -- start-up -----------------------------------------------------------------------------

    def start_warm_up(self) -> None:
        """Verify models, open the library and load the model on worker threads."""
        self.backend.start()

    def _on_ready(self) -> None:
        self._set_enabled(True)
        self.conversation.set_state("Ready.")
        api_server_of(self.backend).start_if_enabled()
        if (jobs := self.backend.jobs) is not None:
            self.status.attach_jobs(jobs)
            if left := self.backend.interrupted_jobs():
                self.conversation.show_notice(
                    f"{len(left)} job(s) did not finish when the app last stopped "
                    f"({', '.join(j.describe() for j in left[:3])}). Tools → Jobs… resumes them."
                )
        self.navigator.reopen(*self.place.shown())
        self.workspace_actions.add_pending()

    # -- drag and drop ------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.workspace_actions.add_documents(paths)

    # -- dialogs ------------------------------------------------------------------------------

    def open_jobs(self) -> None:
        if self.backend.jobs is None:
            return
        if self._jobs_view is None:
            self._jobs_view = JobsView(self.backend.jobs, self)
        self._jobs_view.show()
        self._jobs_view.raise_()

    def open_workflows(self, documents: list[str] | None = None) -> WorkflowsPanel | None:
        """The shown workspace's Workflows panel (over ``documents``: the panel's selection)."""
        if not self.backend.is_ready or self.session.workspace is None:
            self.conversation.show_notice("Create a workspace and add documents first.")
            return None
        panel = WorkflowsPanel(self.backend, self.session.workspace, documents, self)
        panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        panel.show()
        return panel

    def open_settings(self) -> SettingsDialog | None:
        if not self.backend.is_ready:
            return None
        dialog = SettingsDialog(self.backend, self)
        dialog.accepted.connect(lambda: self._apply_settings(dialog))
        dialog.open()
        return dialog

    def _apply_settings(self, dialog: SettingsDialog) -> None:
        settings = dialog.chosen()
        self.backend.save_settings(settings)
        self.apply_appearance(settings.theme, settings.font_size)
        self.status.set_offline(settings.offline_mode)
        self.model_picker.refresh()  # the app's default model, providers, offline

    def apply_appearance(self, theme: str, font_size: int) -> None:
        """Theme and font size, at once: the style sheet is set again so that its palette()
        colours are looked up anew."""
        apply_theme(theme, font_size)
        self.setStyleSheet("")
        self.setStyleSheet(STYLE_SHEET)
        self.chat_view.restyle()

    def open_model_manager(self) -> ModelManager | None:
        if not self.backend.is_ready:
            return None
        dialog = ModelManager(self.backend, self)
        dialog.model_added.connect(lambda _model: self.model_picker.refresh())
        dialog.adapters.changed.connect(self.model_picker.refresh)
        dialog.open()
        return dialog

    def download_offered_model(self, url: str) -> ModelManager | None:
        """The chat's offer: the model manager downloads it, then this workspace uses it."""
        dialog = self.open_model_manager()
        if dialog is not None:
            dialog.model_added.connect(lambda model: self.model_picker.use(model.id))
            dialog.download(url)
        return dialog

    def show_passage(self, source: dict[str, Any]) -> None:
        dialog = PassageDialog(source, self)
        dialog.quick_action_requested.connect(self.quick.on_passage)
        dialog.open()

    # -- closing ----------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.place.save(self)
        api_server_of(self.backend).stop()  # before the model host it shares closes
        self.backend.shutdown()
        super().closeEvent(event)
