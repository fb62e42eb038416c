"""The main window: workspaces and chats on the left, the conversation in the middle, the
workspace's documents on the right, model and indexing state below.

Everything long (opening the library, loading the model, indexing, answering) runs on worker
threads through :class:`Backend`; this module only reacts to their events.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import (
    LIBRARY_PROBLEM,
    Done,
    Error,
    Event,
    Progress,
)
from anyllm_desktop.ui.answer_controller import AnswerController, Session, describe
from anyllm_desktop.ui.chat_view import ChatView, Composer
from anyllm_desktop.ui.documents_panel import DocumentsPanel
from anyllm_desktop.ui.jobs_view import JobsView, summary
from anyllm_desktop.ui.library_repair import RepairBar, ask_how_to_repair
from anyllm_desktop.ui.model_manager import ModelManager
from anyllm_desktop.ui.passage_dialog import PassageDialog
from anyllm_desktop.ui.settings_dialog import SettingsDialog
from anyllm_desktop.ui.sidebar import Sidebar
from anyllm_desktop.ui.style import STYLE_SHEET
from anyllm_desktop.ui.theme import apply_theme
from anyllm_desktop.ui.workspace_settings_dialog import WorkspaceSettingsDialog
from anyllm_desktop.workers.backend import Backend

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Runtime
    from anyllm_desktop.workers.generator_worker import GeneratorWorker

DEFAULT_WORKSPACE = "My documents"


class MainWindow(QMainWindow):
    @property
    def workspace(self) -> str | None:
        return self.session.workspace

    @workspace.setter
    def workspace(self, name: str | None) -> None:
        self.session.workspace = name

    @property
    def thread_id(self) -> int | None:
        return self.session.thread_id

    @thread_id.setter
    def thread_id(self, thread: int | None) -> None:
        self.session.thread_id = thread

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self.backend = Backend(runtime, self)
        #: Which workspace and chat the window shows (plain Python: the controllers share it).
        self.session = Session()
        self._pending_drop: list[Path] = []
        self._index_check: GeneratorWorker | None = None
        self._jobs_view: JobsView | None = None
        self.setWindowTitle("anyllm-desktop")
        self.setObjectName("MainWindow")
        self.setStyleSheet(STYLE_SHEET)
        apply_theme(runtime.settings.theme, runtime.settings.font_size)
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.sidebar = Sidebar()
        self.documents = DocumentsPanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self._build_conversation())
        self.splitter.addWidget(self.documents)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([270, 640, 370])
        self.setCentralWidget(self.splitter)
        self._build_status_bar()
        self._build_menus()
        self._connect()
        self._shortcuts()
        self._window_settings = QSettings(
            str(runtime.paths.home / "window.ini"), QSettings.Format.IniFormat
        )
        self._restore_geometry()
        for warning in runtime.warnings:
            self.show_notice(warning)
        self._set_enabled(False)

    # -- layout -------------------------------------------------------------------------------

    def _build_conversation(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        self.notice = QLabel()
        self.notice.setObjectName("Notice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        self.header = QLabel()
        self.header.setObjectName("ChatHeader")
        self.welcome = QLabel(self._welcome_html("Checking the bundled models…"))
        self.welcome.setObjectName("Welcome")
        self.welcome.setWordWrap(True)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.chat_view = ChatView()
        self.find_bar = QLineEdit()
        self.find_bar.setObjectName("FindBar")
        self.find_bar.setPlaceholderText("Find in this chat (Enter: next, Esc: close)")
        self.find_bar.setAccessibleName("Find in chat")
        self.find_bar.returnPressed.connect(lambda: self.chat_view.find_next(self.find_bar.text()))
        self.find_bar.hide()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.chat_view)
        self.composer = Composer()
        self.repair_bar = RepairBar()
        self.repair_bar.reindex_requested.connect(self._reindex_to_repair)
        layout.addWidget(self.notice)
        layout.addWidget(self.repair_bar)
        layout.addWidget(self.header)
        layout.addWidget(self.find_bar)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.composer)
        return panel

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Progress")
        self.model_label = QLabel(f"Model: {self.runtime.chat_model_name()} (local)")
        self.model_label.setObjectName("ModelState")
        self.speed_label = QLabel()
        self.speed_label.setObjectName("Speed")
        offline = self.runtime.settings.offline_mode
        self.network_label = QLabel("● Offline" if offline else "● Online")
        self.network_label.setObjectName("NetworkState")
        self.network_label.setProperty("online", not offline)
        self.network_label.setToolTip(
            "Offline mode: nothing leaves this computer."
            if offline
            else "Cloud providers and downloads are allowed."
        )
        bar.addWidget(self.progress)
        self.jobs_button = QPushButton("Jobs")
        self.jobs_button.setFlat(True)
        self.jobs_button.setAccessibleName("Jobs")
        self.jobs_button.setToolTip("Every indexing, re-embedding and download, with progress")
        self.jobs_button.clicked.connect(self.open_jobs)
        self.jobs_button.setEnabled(False)
        bar.addPermanentWidget(self.jobs_button)
        bar.addPermanentWidget(self.speed_label)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.network_label)

    def _build_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction("New workspace…", self.new_workspace)
        file_menu.addAction("New chat", QKeySequence("Ctrl+N"), self.new_thread)
        file_menu.addAction("Add documents…", QKeySequence("Ctrl+O"), self.documents._pick_files)
        file_menu.addSeparator()
        file_menu.addAction("Quit", QKeySequence("Ctrl+Q"), self.close)
        workspace_menu = menus.addMenu("&Workspace")
        workspace_menu.addAction("Workspace settings…", self.open_workspace_settings)
        tools = menus.addMenu("&Tools")
        tools.addAction("Settings…", QKeySequence("Ctrl+,"), self.open_settings)
        tools.addAction("Models…", QKeySequence("Ctrl+M"), self.open_model_manager)
        tools.addAction("Jobs…", QKeySequence("Ctrl+J"), self.open_jobs)

    def _welcome_html(self, state: str) -> str:
        settings = self.runtime.settings
        where = (
            "Everything runs on this computer; nothing is sent anywhere."
            if settings.offline_mode
            else "Cloud providers are enabled in the settings."
        )
        return (
            "<h2>Chat with your own documents</h2>"
            f"<p>{where}</p>"
            "<p><b>1.</b> Drop files or folders on this window (PDF, Word, PowerPoint, Excel, "
            "e-books, web pages, Markdown, text, e-mail) — or use <i>Add files…</i>.<br>"
            "<b>2.</b> Ask a question below. Answers cite the passages they use, with page "
            "numbers; click a citation to read it.</p>"
            f"<p>Chat model: <b>{self.runtime.chat_model_name()}</b> · "
            f"Embedding model: <b>{self.runtime.embedding_model().name}</b></p>"
            f"<p><i>{state}</i></p>"
            f"<p style='color: gray'>Data folder: {self.runtime.paths.home}</p>"
        )

    def _connect(self) -> None:
        backend = self.backend
        backend.startup_event.connect(self._on_startup_event)
        backend.model_event.connect(self._on_model_event)
        backend.ready.connect(self._on_ready)
        backend.workspaces_changed.connect(self._refresh_sidebar)
        backend.threads_changed.connect(lambda _name: self._refresh_sidebar())
        backend.documents_changed.connect(self._on_documents_changed)
        backend.ingest_event.connect(self._on_ingest_event)
        sidebar = self.sidebar
        sidebar.workspace_selected.connect(self.select_workspace)
        sidebar.thread_selected.connect(self.select_thread)
        sidebar.new_workspace_requested.connect(self.new_workspace)
        sidebar.new_thread_requested.connect(self.new_thread)
        sidebar.rename_workspace_requested.connect(self._rename_workspace)
        sidebar.delete_workspace_requested.connect(self._delete_workspace)
        sidebar.rename_thread_requested.connect(self._rename_thread)
        sidebar.delete_thread_requested.connect(self._delete_thread)
        sidebar.export_thread_requested.connect(self._export_thread)
        self.documents.add_paths_requested.connect(self.add_documents)
        self.documents.retry_requested.connect(self.add_documents)
        self.documents.cancel_requested.connect(backend.cancel_ingest)
        self.documents.remove_requested.connect(
            lambda d: self.workspace and backend.remove_document(self.workspace, d.id)
        )
        self.documents.reindex_requested.connect(
            lambda d: self.workspace and backend.reindex_document(self.workspace, d)
        )
        self.answers = AnswerController(
            self.backend, self.session, self.chat_view, self.composer, parent=self,
            show_chat=lambda: self.pages.setCurrentWidget(self.chat_view),
            reload_thread=self._show_thread, notice=self.show_notice,
            status=lambda text: self.statusBar().showMessage(text, 3000),
            speed=self.speed_label.setText,
        )  # fmt: skip
        self.answers.finished.connect(self._on_answer_finished)
        self.composer.send_requested.connect(self.ask)
        self.composer.stop_requested.connect(self.stop)
        self.chat_view.citation_clicked.connect(self.show_passage)
        self.chat_view.regenerate_requested.connect(self.regenerate)
        self.chat_view.edit_requested.connect(self.answers.edit_and_resend)

    def _shortcuts(self) -> None:
        for keys, action in (
            ("Ctrl+L", self.composer.editor.setFocus),
            ("Ctrl+F", self.show_find),
            ("Escape", self._escape),
        ):
            QShortcut(QKeySequence(keys), self, activated=action)

    def show_find(self) -> None:
        self.find_bar.show()
        self.find_bar.setFocus()
        self.find_bar.selectAll()

    def _escape(self) -> None:
        if self.find_bar.isVisible():
            self.find_bar.hide()
        else:
            self.stop()

    def _restore_geometry(self) -> None:
        geometry = self._window_settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = self._window_settings.value("splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def _set_enabled(self, ready: bool) -> None:
        self.composer.setEnabled(ready)
        self.sidebar.setEnabled(ready)
        self.documents.setEnabled(ready)

    # -- start-up -----------------------------------------------------------------------------

    def show_notice(self, text: str) -> None:
        """A non-blocking message at the top of the window (never a modal dialog at start-up)."""
        current = self.notice.text()
        self.notice.setText(f"{current}\n{text}" if current else text)
        self.notice.show()

    def start_warm_up(self) -> None:
        """Verify models, open the library and load the model on worker threads."""
        self.backend.start()

    def _on_startup_event(self, event: Event) -> None:
        if isinstance(event, Progress) and event.stage == "warning":
            self.show_notice(event.message)
        elif isinstance(event, Progress):
            self._show_progress(event)
        elif isinstance(event, Error) and event.detail.startswith(LIBRARY_PROBLEM):
            self.progress.hide()
            self.statusBar().showMessage("The library needs attention")
            self.welcome.setText(self._welcome_html("The library needs attention."))
            choice = ask_how_to_repair(self, event.message)
            if choice is None:
                self.show_notice(event.message)
            else:
                self.backend.repair_library(keep_backup=choice).event.connect(
                    lambda done: self.show_notice(getattr(done, "result", None) or done.message)
                )
        elif isinstance(event, Error):
            self.progress.hide()
            self.statusBar().showMessage("The bundled models could not be loaded")
            self.show_notice(event.message)
            self.welcome.setText(self._welcome_html("The models need attention (see above)."))

    def _on_ready(self) -> None:
        self._set_enabled(True)
        self.welcome.setText(self._welcome_html("Ready."))
        jobs = self.backend.jobs
        if jobs is not None:
            self.jobs_button.setEnabled(True)
            jobs.changed.connect(lambda _job: self.jobs_button.setText(summary(jobs)))
            if left := self.backend.interrupted_jobs():
                self.show_notice(
                    f"{len(left)} job(s) did not finish when the app last stopped "
                    f"({', '.join(j.describe() for j in left[:3])}). Tools → Jobs… resumes them."
                )
        self._reopen_last_chat()
        if self._pending_drop:
            paths, self._pending_drop = self._pending_drop, []
            self.add_documents(paths)

    def open_jobs(self) -> None:
        if self.backend.jobs is None:
            return
        if self._jobs_view is None:
            self._jobs_view = JobsView(self.backend.jobs, self)
        self._jobs_view.show()
        self._jobs_view.raise_()

    def _reopen_last_chat(self) -> None:
        """Where the user left off: the last workspace and chat, else the first workspace."""
        names = [w.name for w, _ in self.backend.workspaces()]
        last = self._window_settings.value("workspace")
        if last not in names:
            if names:
                self.select_workspace(names[0])
            return
        self.select_workspace(str(last))
        thread = self._window_settings.value("thread")
        ids = {t.id for t in self.backend.threads(str(last))}
        if thread is not None and str(thread).isdigit() and int(str(thread)) in ids:
            self.select_thread(str(last), int(str(thread)))
            self._refresh_sidebar()

    def _on_model_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._show_progress(event)
        elif isinstance(event, Done):
            self.progress.hide()
            self.statusBar().showMessage("Ready", 5000)
            provider = self.backend.provider_name
            self.model_label.setText(f"Model: {self.backend.model_name} ({provider})")
        elif isinstance(event, Error):
            self.progress.hide()
            self.show_notice(event.message)

    def _show_progress(self, event: Progress) -> None:
        self.progress.show()
        self.progress.setRange(0, max(event.total, 0))
        self.progress.setValue(event.done)
        self.statusBar().showMessage(event.message)

    # -- workspaces, threads, documents ---------------------------------------------------------

    def _refresh_sidebar(self) -> None:
        if not self.backend.is_ready:
            return
        workspaces = self.backend.workspaces()
        threads = {w.name: self.backend.threads(w.name) for w, _ in workspaces}
        self.sidebar.populate(workspaces, threads, (self.workspace, self.thread_id))

    def select_workspace(self, name: str) -> None:
        self.workspace = name
        self.thread_id = None
        self.chat_view.clear()
        self.pages.setCurrentWidget(self.welcome)
        self.header.setText(f"<b>{name}</b> · new chat")
        self.documents.show_documents(name, self.backend.documents(name))
        self._refresh_sidebar()
        self._check_index(name)

    def _check_index(self, name: str) -> None:
        """A workspace whose passages were lost gets the repair bar (checked off the GUI
        thread)."""
        self.repair_bar.hide()
        worker = self._index_check = self.backend.check_index(name)

        def show(event: Event) -> None:
            if isinstance(event, Done) and worker is self._index_check:  # the latest check
                self.repair_bar.show_problem(name, event.result)

        worker.event.connect(show)

    def _reindex_to_repair(self, name: str) -> None:
        self._index_check = None
        self.documents.job_started()
        self.backend.reindex_workspace(name)

    def select_thread(self, workspace: str, thread_id: int) -> None:
        if self.workspace != workspace:
            self.workspace = workspace
            self.documents.show_documents(workspace, self.backend.documents(workspace))
            self._check_index(workspace)
        self.thread_id = thread_id
        self._show_thread()

    def _show_thread(self) -> None:
        self.chat_view.clear()
        self.pages.setCurrentWidget(self.chat_view)
        if self.thread_id is None:
            return
        self._show_header()
        for message in self.backend.messages(self.thread_id):
            cited = {int(c["n"]) for c in message.citations if c.get("valid")}
            widget = self.chat_view.add_message(
                message.role,
                message.content,
                message_id=message.id,
                sources=[s.to_dict() for s in message.sources] if message.role == "assistant"
                else None,
                cited=cited,
            )  # fmt: skip
            if message.role == "assistant":
                describe(widget, message.provider, message.model, message.timings,
                         message.stopped, message.error)  # fmt: skip

    def new_workspace(self) -> None:
        name, ok = QInputDialog.getText(self, "New workspace", "Name:")
        if ok and name.strip():
            try:
                workspace = self.backend.create_workspace(name)
            except ValueError as exc:
                QMessageBox.warning(self, "New workspace", str(exc))
                return
            self.select_workspace(workspace.name)

    def new_thread(self) -> None:
        if self.workspace is not None:
            self.select_workspace(self.workspace)
            self.composer.editor.setFocus()

    def _rename_workspace(self, name: str) -> None:
        new_name, ok = QInputDialog.getText(self, "Rename workspace", "Name:", text=name)
        if ok and new_name.strip() and new_name != name:
            try:
                self.backend.rename_workspace(name, new_name)
            except ValueError as exc:
                QMessageBox.warning(self, "Rename workspace", str(exc))
                return
            if self.workspace == name:
                self.select_workspace(" ".join(new_name.split()))

    def _delete_workspace(self, name: str) -> None:
        answer = QMessageBox.question(
            self,
            "Delete workspace",
            f"Delete the workspace “{name}” with its chats and its index? "
            "Your files on disk are not touched.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.backend.delete_workspace(name)
            if self.workspace == name:
                self.workspace, self.thread_id = None, None
                self.chat_view.clear()
                self.pages.setCurrentWidget(self.welcome)
                self.documents.show_documents(None, [])
                self.header.clear()

    def _rename_thread(self, thread_id: int) -> None:
        title, ok = QInputDialog.getText(self, "Rename chat", "Title:")
        if ok and title.strip():
            self.backend.rename_thread(thread_id, title.strip())

    def _delete_thread(self, thread_id: int) -> None:
        if QMessageBox.question(self, "Delete chat", "Delete this chat?") == (
            QMessageBox.StandardButton.Yes
        ):
            self.backend.delete_thread(thread_id)
            if self.thread_id == thread_id and self.workspace:
                self.select_workspace(self.workspace)

    def _export_thread(self, thread_id: int) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export chat", "chat.md", "Markdown (*.md);;JSON (*.json)"
        )
        if path:
            fmt = "json" if path.endswith(".json") or "JSON" in chosen else "md"
            Path(path).write_text(self.backend.export_thread(thread_id, fmt), encoding="utf-8")

    def _on_documents_changed(self, name: str) -> None:
        """Coalesced by the backend (a drop of many files used to redraw per file)."""
        if name == self.workspace:
            self.documents.show_documents(name, self.backend.documents(name))
        self._refresh_sidebar()  # document counts

    # -- drag and drop, indexing ----------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_documents(paths)

    def add_documents(self, paths: list[Path]) -> None:
        """Index ``paths`` into the current workspace (a first one is created if needed)."""
        if not self.backend.is_ready:
            self._pending_drop += paths
            self.statusBar().showMessage("Files will be added once the library is open…")
            return
        if self.workspace is None:
            existing = [w.name for w, _ in self.backend.workspaces()]
            name = (
                existing[0] if existing else self.backend.create_workspace(DEFAULT_WORKSPACE).name
            )
            self.select_workspace(name)
        assert self.workspace is not None
        if self.backend.ingest_worker is None:
            self.documents.job_started()
        self.backend.ingest(self.workspace, paths)

    def _on_ingest_event(self, workspace: str, event: Event) -> None:
        self.documents.on_event(event)
        if isinstance(event, Progress):
            self.progress.show()
            self.progress.setRange(0, max(event.total, 1))
            self.progress.setValue(event.done)
            self.statusBar().showMessage(f"Indexing into {workspace}: {event.message}")
        elif isinstance(event, Done):
            self.progress.hide()
            self.statusBar().showMessage(f"Indexing into {workspace} finished", 5000)
        elif isinstance(event, Error):
            self.progress.hide()
            self.statusBar().showMessage(f"{workspace}: {event.message}", 10000)

    # -- asking ---------------------------------------------------------------------------------

    def ask(self, question: str) -> None:
        self.answers.ask(question)

    def regenerate(self) -> None:
        self.answers.regenerate()

    def stop(self) -> None:
        self.answers.stop()

    @property
    def answer_worker(self) -> GeneratorWorker | None:
        """The answer being generated, if any."""
        return self.answers.worker

    def _on_answer_finished(self) -> None:
        self._refresh_sidebar()
        self._show_header()

    def _show_header(self) -> None:
        title = next(
            (t.title for t in self.backend.threads(self.workspace or "") if t.id == self.thread_id),
            "new chat",
        )
        self.header.setText(f"<b>{self.workspace}</b> · {title}")

    # -- settings and models -----------------------------------------------------------------

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
        offline = settings.offline_mode
        self.network_label.setText("● Offline" if offline else "● Online")
        self.network_label.setProperty("online", not offline)
        self.network_label.style().polish(self.network_label)

    def apply_appearance(self, theme: str, font_size: int) -> None:
        """Theme and font size, at once: the style sheet is set again so that its palette()
        colours are looked up anew."""
        apply_theme(theme, font_size)
        self.setStyleSheet("")
        self.setStyleSheet(STYLE_SHEET)
        self.chat_view.restyle()

    def open_workspace_settings(self) -> WorkspaceSettingsDialog | None:
        if self.workspace is None:
            return None
        dialog = WorkspaceSettingsDialog(
            self.backend.workspace(self.workspace),
            self.backend.provider_names(),
            self.backend.embedding_models(),
            self,
        )
        dialog.accepted.connect(lambda: self._apply_workspace_settings(dialog))
        dialog.open()
        return dialog

    def _apply_workspace_settings(self, dialog: WorkspaceSettingsDialog) -> None:
        name = dialog.workspace.name
        rechunk = dialog.chunking_changed()
        if rechunk and not self._confirm(
            "Re-index workspace",
            f"The new chunk size re-indexes all documents of “{name}”. Continue?",
        ):
            return
        try:  # both checked before either is saved (a bad overlap saved the chat settings)
            self.backend.check_workspace_settings(
                name, chat=dialog.chat_changes(), retrieval=dialog.retrieval_changes()
            )
            self.backend.update_chat_settings(name, **dialog.chat_changes())
            self.backend.update_retrieval_settings(name, **dialog.retrieval_changes())
        except ValueError as exc:
            QMessageBox.warning(self, "Workspace settings", str(exc))
            return
        # Both may change: the re-embed (a new table for the new model) is queued first, the
        # re-index runs after it into that table (one writer at a time; before, the model change
        # was dropped).
        if (model := dialog.embedder_changed()) is not None:
            self._reembed(name, model)
        if rechunk:
            self.documents.job_started()
            self.backend.reindex_workspace(name)

    def _reembed(self, name: str, model: str) -> None:
        """Ask first: a cloud embedder is told what it will be sent and where."""
        try:
            terms = self.backend.cloud_embedding_terms(name, model)
        except RuntimeError as exc:  # offline, locked to local models, no key
            QMessageBox.warning(self, "Embedding model", str(exc))
            return
        if terms is None:
            agreed = self._confirm(
                "Re-embed workspace",
                f"Embed all passages of “{name}” again with the new model? The current index "
                "keeps answering until the new one is complete.",
            )
        else:
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Send documents to a cloud embedder?",
                terms + "\n\nThe current index keeps answering until the new one is complete.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                self,
            )
            box.button(QMessageBox.StandardButton.Yes).setText("Send and re-embed")
            box.button(QMessageBox.StandardButton.No).setText("Don't send")
            agreed = box.exec() == QMessageBox.StandardButton.Yes
        if agreed:
            self.documents.job_started()
            self.backend.reembed_workspace(name, model, agreed=terms is not None)

    def _confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes

    def open_model_manager(self) -> ModelManager | None:
        if not self.backend.is_ready:
            return None
        dialog = ModelManager(self.backend, self)
        dialog.open()
        return dialog

    def show_passage(self, source: dict[str, Any]) -> None:
        PassageDialog(source, self).open()

    # -- closing ----------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self._window_settings.setValue("geometry", self.saveGeometry())
        self._window_settings.setValue("splitter", self.splitter.saveState())
        self._window_settings.setValue("workspace", self.workspace or "")
        self._window_settings.setValue("thread", self.thread_id if self.thread_id else "")
        self._window_settings.sync()
        self.backend.shutdown()
        super().closeEvent(event)
