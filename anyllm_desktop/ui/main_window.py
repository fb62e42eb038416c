"""The main window: workspaces on the left, the conversation in the middle, status below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.ui.style import STYLE_SHEET
from anyllm_desktop.workers.startup import start_warm_up

if TYPE_CHECKING:
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.workers.generator_worker import GeneratorWorker


class MainWindow(QMainWindow):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self._warm_up: GeneratorWorker | None = None
        self.setWindowTitle("anyllm-desktop")
        self.setObjectName("MainWindow")
        self.setStyleSheet(STYLE_SHEET)
        self.resize(1100, 720)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_sidebar())
        splitter.addWidget(self._build_conversation())
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 840])
        self.setCentralWidget(splitter)
        self._build_status_bar()
        for warning in runtime.warnings:
            self.show_notice(warning)

    # -- layout -------------------------------------------------------------------------------

    def _build_sidebar(self) -> QWidget:
        sidebar = QFrame()
        sidebar.setObjectName("Sidebar")
        layout = QVBoxLayout(sidebar)
        title = QLabel("Workspaces")
        title.setObjectName("SidebarTitle")
        self.workspace_list = QListWidget()
        self.workspace_list.setAccessibleName("Workspaces")
        self.workspace_list.setObjectName("WorkspaceList")
        self.empty_hint = QLabel("No workspaces yet.")
        self.empty_hint.setObjectName("EmptyHint")
        self.empty_hint.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.workspace_list, 1)
        return sidebar

    def _build_conversation(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(24, 16, 24, 16)
        self.notice = QLabel()
        self.notice.setObjectName("Notice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        self.welcome = QLabel(self._welcome_html("Checking the bundled models…"))
        self.welcome.setObjectName("Welcome")
        self.welcome.setWordWrap(True)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.notice)
        layout.addWidget(self.welcome, 1)
        return panel

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Start-up progress")
        self.model_label = QLabel(f"Model: {self.runtime.chat_model().name} (local)")
        offline = self.runtime.settings.offline_mode
        self.network_label = QLabel("● Offline" if offline else "● Online")
        self.network_label.setObjectName("NetworkState")
        self.network_label.setProperty("online", not offline)
        self.network_label.setToolTip(
            "Offline mode: nothing leaves this computer."
            if self.runtime.settings.offline_mode
            else "Cloud providers and downloads are allowed."
        )
        bar.addWidget(self.progress)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.network_label)

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
            f"<p>Chat model: <b>{self.runtime.chat_model().name}</b><br>"
            f"Embedding model: <b>{self.runtime.embedding_model().name}</b></p>"
            f"<p><i>{state}</i></p>"
            f"<p style='color: gray'>Data folder: {self.runtime.paths.home}</p>"
        )

    # -- behaviour ----------------------------------------------------------------------------

    def show_notice(self, text: str) -> None:
        """A non-blocking message at the top of the window (never a modal dialog at start-up)."""
        current = self.notice.text()
        self.notice.setText(f"{current}\n{text}" if current else text)
        self.notice.show()

    def start_warm_up(self) -> None:
        """Verify models and load the engines on a worker thread; the window stays responsive."""
        self._warm_up = start_warm_up(self.runtime, self)
        self._warm_up.event.connect(self._on_warm_up_event)

    def _on_warm_up_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.progress.setRange(0, max(event.total, 1))
            self.progress.setValue(event.done)
            self.statusBar().showMessage(event.message)
        elif isinstance(event, Error):
            self.progress.hide()
            self.statusBar().showMessage("The bundled models could not be loaded")
            self.show_notice(event.message)
            self.welcome.setText(self._welcome_html("The models need attention (see above)."))
        elif isinstance(event, Done):
            self.progress.hide()
            self.statusBar().showMessage("Ready", 5000)
            self.welcome.setText(self._welcome_html("Ready."))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._warm_up is not None and self._warm_up.is_running():
            self._warm_up.cancel()
            self._warm_up.wait()
        super().closeEvent(event)
