"""A cited passage: its text, document, page and section, and a way to open the document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.conversation import Passage


class PassageDialog(QDialog):
    def __init__(self, source: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        passage = Passage.from_dict(source)
        self.passage = passage
        self.setWindowTitle(f"[{passage.n}] {passage.place}")
        self.resize(640, 460)
        layout = QVBoxLayout(self)
        where = QLabel(
            f"<b>{passage.place}</b>"
            + (f"<br>{passage.section}" if passage.section else "")
            + f"<br><span style='color: gray'>{passage.path}</span>"
        )
        where.setWordWrap(True)
        layout.addWidget(where)
        text = QTextBrowser()
        text.setPlainText(passage.text)
        text.setAccessibleName("Passage text")
        layout.addWidget(text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = QPushButton("Open document")
        self.open_button.setAccessibleName("Open the document")
        self.open_button.setEnabled(Path(passage.path).is_file())
        self.open_button.setToolTip(
            passage.path if self.open_button.isEnabled() else "The file is no longer there."
        )
        self.open_button.clicked.connect(self._open)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _open(self) -> None:
        """The system viewer; PDFs at the cited page where the viewer honours #page=N."""
        url = QUrl.fromLocalFile(self.passage.path)
        if self.passage.path.lower().endswith(".pdf") and self.passage.page:
            url.setFragment(f"page={self.passage.page}")
        QDesktopServices.openUrl(url)
