"""Offers the ways out when the library is not as it should be: a database that is damaged or
does not belong to its indexes (at start), and a workspace whose passages were lost (a bar above
the chat with *Re-index now*)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget


def ask_how_to_repair(parent: QWidget, message: str) -> bool | None:
    """True: put back the database's copy; False: start over (old data set aside); None: not
    now. The copy is offered only when the message says there is one."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("The library needs attention")
    box.setText(message.replace("`anyllm library restore`", "Restore").replace(
        "`anyllm library start-over`", "Start over").replace(
        " The desktop app offers the same choices.", ""))  # fmt: skip
    restore = None
    if "library restore" in message:
        restore = box.addButton("Restore the copy", QMessageBox.ButtonRole.AcceptRole)
    start_over = box.addButton("Start over", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    clicked = box.clickedButton()
    if restore is not None and clicked is restore:
        return True
    return False if clicked is start_over else None


class RepairBar(QFrame):
    """A workspace's index problem, with the button that repairs it."""

    reindex_requested = Signal(str)  # workspace name

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Notice")
        self._workspace = ""
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.button = QPushButton("Re-index now")
        self.button.setAccessibleName("Re-index the workspace")
        self.button.clicked.connect(self._reindex)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self.hide()

    def show_problem(self, workspace: str, message: str) -> None:
        """Show ``message`` for ``workspace`` ("" hides the bar). Re-indexing is offered
        where it repairs (lost or damaged passages), not for a store out of reach."""
        self._workspace = workspace
        self.text.setText(message.split(" Re-index it")[0])
        self.button.setVisible(" Re-index it" in message)
        self.setVisible(bool(message))

    def _reindex(self) -> None:
        self.hide()
        self.reindex_requested.emit(self._workspace)
