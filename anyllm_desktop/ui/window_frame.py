"""What the main window has around its parts: the menus, and where it was left (geometry,
columns, the workspace and chat shown), kept in ``window.ini`` in the data folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QKeySequence

from anyllm_desktop.ui.cloud_finetune_dialog import open_cloud_finetune
from anyllm_desktop.ui.dataset_dialog import open_datasets
from anyllm_desktop.ui.training_dialog import open_training

if TYPE_CHECKING:
    from pathlib import Path

    from anyllm_desktop.ui.main_window import MainWindow


def build_menus(window: MainWindow) -> None:
    menus, actions = window.menuBar(), window.workspace_actions
    file_menu = menus.addMenu("&File")
    file_menu.addAction("New workspace…", actions.new_workspace)
    file_menu.addAction("New chat", QKeySequence("Ctrl+N"), window.new_chat)
    file_menu.addAction("Add documents…", QKeySequence("Ctrl+O"), window.documents.pick_files)
    file_menu.addSeparator()
    file_menu.addAction("Quit", QKeySequence("Ctrl+Q"), window.close)
    workspace_menu = menus.addMenu("&Workspace")
    workspace_menu.addAction("Workspace settings…", actions.open_workspace_settings)
    tools = menus.addMenu("&Tools")
    tools.addAction("Settings…", QKeySequence("Ctrl+,"), window.open_settings)
    tools.addAction("Models…", QKeySequence("Ctrl+M"), window.open_model_manager)
    tools.addAction("Jobs…", QKeySequence("Ctrl+J"), window.open_jobs)
    tools.addAction("Workflows…", QKeySequence("Ctrl+Shift+R"), lambda: window.open_workflows())
    tools.addAction("Quick action on text…", QKeySequence("Ctrl+Shift+K"), window.quick.paste)
    tools.addAction("Prompt library…", window.quick.open_library)
    tools.addAction("Datasets…", lambda: open_datasets(window))
    tools.addAction("Fine-tune…", lambda: open_training(window))
    tools.addAction("Fine-tune in the cloud…", lambda: open_cloud_finetune(window))


class WindowPlace:
    """Where the window was left, restored at start and saved when it closes."""

    def __init__(self, home: Path) -> None:
        self.settings = QSettings(str(home / "window.ini"), QSettings.Format.IniFormat)

    def restore(self, window: MainWindow) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray):
            window.restoreGeometry(geometry)
        splitter = self.settings.value("splitter")
        if isinstance(splitter, QByteArray):
            window.splitter.restoreState(splitter)

    def shown(self) -> tuple[object, object]:
        """The workspace and chat shown when the window last closed."""
        return self.settings.value("workspace"), self.settings.value("thread")

    def save(self, window: MainWindow) -> None:
        session, settings = window.session, self.settings
        settings.setValue("geometry", window.saveGeometry())
        settings.setValue("splitter", window.splitter.saveState())
        settings.setValue("workspace", session.workspace or "")
        settings.setValue("thread", session.thread_id if session.thread_id else "")
        settings.sync()
