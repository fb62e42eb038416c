"""Driving the real window in tests and benchmarks: a ready window, a real drop."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.ui.main_window import MainWindow


def ready_window(qtbot: QtBot, home: Path) -> MainWindow:
    """The main window on ``home``, shown, once its library is open (the model may still load)."""
    window = MainWindow(Runtime.open(home))
    qtbot.addWidget(window)
    window.show()
    window.start_warm_up()
    qtbot.waitUntil(lambda: window.backend.is_ready, timeout=120_000)
    return window


def drop_files(target: QWidget, paths: list[Path]) -> bool:
    """Drag ``paths`` over ``target`` and drop them, as a file manager would; whether the
    drag was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = target.rect().center()
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(center), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(target, drop)
    return True


def answer_message_boxes(monkeypatch: pytest.MonkeyPatch, button: QMessageBox.StandardButton,
                         asked: list[str]) -> None:  # fmt: skip
    """Every QMessageBox shown from now on is answered with ``button`` at once; its text is
    appended to ``asked``."""

    def exec_(box: QMessageBox) -> QMessageBox.StandardButton:
        asked.append(box.text())
        return button

    monkeypatch.setattr(QMessageBox, "exec", exec_)
