"""A cited passage: its text, document, page and section; for a PDF the page itself, rendered
in the app (previous/next page); and a way to open the document in the system viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.workers.generator_worker import GeneratorWorker
from anyllm_desktop.workers.pdf_pages import render_page


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
        self.worker: GeneratorWorker | None = None
        self.page = passage.page or 1
        self.page_count = 0
        self.page_view: QLabel | None = None
        if passage.path.lower().endswith(".pdf") and passage.page and Path(passage.path).is_file():
            layout.addLayout(self._page_controls())
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            self.page_view = QLabel("Rendering the page…")
            self.page_view.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.page_view.setAccessibleName("The cited page")
            scroll.setWidget(self.page_view)
            layout.addWidget(scroll, 4)
            self.resize(780, 860)
            self._render()
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

    def _page_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.previous_button = QPushButton("◀ Previous page")
        self.previous_button.clicked.connect(lambda: self._go(-1))
        self.next_button = QPushButton("Next page ▶")
        self.next_button.clicked.connect(lambda: self._go(1))
        self.page_label = QLabel()
        row.addWidget(self.previous_button)
        row.addStretch(1)
        row.addWidget(self.page_label)
        row.addStretch(1)
        row.addWidget(self.next_button)
        return row

    def _go(self, step: int) -> None:
        if self.worker is None and 1 <= self.page + step <= max(self.page_count, 1):
            self.page += step
            self._render()

    def _render(self) -> None:
        """Render the page on a worker thread (pypdfium2); the dialog stays responsive."""
        path, page = Path(self.passage.path), self.page
        self.worker = GeneratorWorker(lambda cancel: render_page(path, page, 720, cancel), self)
        self.worker.event.connect(self._on_rendered)
        self.worker.finished.connect(self._rendered_done)
        self.worker.start()

    def _on_rendered(self, event: Event) -> None:
        if self.page_view is None:
            return
        if isinstance(event, Done):
            image, self.page_count = event.result
            self.page_view.setPixmap(QPixmap.fromImage(image))
            cited = " (cited)" if self.page == self.passage.page else ""
            self.page_label.setText(f"Page {self.page} of {self.page_count}{cited}")
        elif isinstance(event, Error):
            self.page_view.setText(event.message)

    def _rendered_done(self) -> None:
        self.worker = None
        self.previous_button.setEnabled(self.page > 1)
        self.next_button.setEnabled(self.page < self.page_count)

    def done(self, result: int) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
        super().done(result)

    def _open(self) -> None:
        """The system viewer; PDFs at the cited page where the viewer honours #page=N."""
        url = QUrl.fromLocalFile(self.passage.path)
        if self.passage.path.lower().endswith(".pdf") and self.passage.page:
            url.setFragment(f"page={self.passage.page}")
        if not QDesktopServices.openUrl(url):
            QMessageBox.warning(
                self,
                "Open document",
                f"No program on this computer opened “{Path(self.passage.path).name}”.\n\n"
                f"The file is at:\n{self.passage.path}\n\nInstall a viewer for this kind of file "
                "or open it from your file manager.",
            )
