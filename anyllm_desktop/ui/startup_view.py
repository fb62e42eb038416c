"""What the window says while it starts and whenever the chat model (re)loads: progress in the
status bar, warnings as notices, the welcome page's state line, and the repair question when
the library cannot be opened as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from anyllm_desktop.core.events import LIBRARY_PROBLEM, Done, Error, Event, Progress
from anyllm_desktop.ui.conversation import ConversationPanel
from anyllm_desktop.ui.library_repair import ask_how_to_repair
from anyllm_desktop.ui.status_bar import StatusBar

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Backend


class StartupView(QObject):
    def __init__(self, backend: Backend, conversation: ConversationPanel, status: StatusBar,
                 parent: QWidget) -> None:  # fmt: skip
        super().__init__(parent)
        self.backend = backend
        self.conversation = conversation
        self.status = status
        self._parent = parent
        backend.startup_event.connect(self._on_startup_event)
        backend.model_event.connect(self._on_model_event)

    def _on_startup_event(self, event: Event) -> None:
        notice = self.conversation.show_notice
        if isinstance(event, Progress) and event.stage == "warning":
            notice(event.message)
        elif isinstance(event, Progress):
            self.status.show_progress(event)
        elif isinstance(event, Error) and event.detail.startswith(LIBRARY_PROBLEM):
            self.status.finish("The library needs attention", 0)
            self.conversation.set_state("The library needs attention.")
            choice = ask_how_to_repair(self._parent, event.message)
            if choice is None:
                notice(event.message)
            else:
                self.backend.repair_library(keep_backup=choice).event.connect(
                    lambda done: notice(getattr(done, "result", None) or done.message)
                )
        elif isinstance(event, Error):
            self.status.finish("The bundled models could not be loaded", 0)
            notice(event.message)
            self.conversation.set_state("The models need attention (see above).")

    def _on_model_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.status.show_progress(event)
        elif isinstance(event, Done):
            self.status.finish("Ready")
            self.status.set_model(self.backend.model_name, self.backend.provider_name)
        elif isinstance(event, Error):
            self.status.finish()
            self.conversation.show_notice(event.message)
