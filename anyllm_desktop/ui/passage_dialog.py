"""A cited passage: its text, document, page and section; for a PDF the page itself, rendered
in the app (previous/next page); the answer's evidence marked in both and scrolled to; and a
way to open the document in the system viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QPixmap, QTextCharFormat, QTextCursor
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
from anyllm_desktop.ui.quick_action_menu import add_quick_actions
from anyllm_desktop.workers.generator_worker import GeneratorWorker
from anyllm_desktop.workers.pdf_pages import render_page


def mark_text(view: QTextBrowser, highlights: list[str]) -> int:
    """Mark each highlight in the passage's text (case and spacing aside) and scroll to the
    first; how many were found."""
    text = view.toPlainText()
    folded = " ".join(text.split()).casefold()
    # Where each character of ``folded`` stands in ``text`` (a run of spaces is one).
    positions = [i for i, ch in enumerate(text) if not ch.isspace() or
                 (i > 0 and not text[i - 1].isspace())]  # fmt: skip
    marked, first = 0, None
    fmt = QTextCharFormat()
    fmt.setBackground(QColor(255, 214, 0, 120))
    for highlight in highlights:
        start = _place_in(text, folded, positions, highlight)
        if start is None:
            continue
        cursor = view.textCursor()
        cursor.setPosition(start[0])
        cursor.setPosition(start[1], QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(fmt)
        marked += 1
        first = first if first is not None else start[0]
    if first is not None:
        cursor = view.textCursor()
        cursor.setPosition(first)
        view.setTextCursor(cursor)
        view.ensureCursorVisible()
    return marked


def _place_in(text: str, folded: str, positions: list[int], wanted: str
              ) -> tuple[int, int] | None:  # fmt: skip
    """Where ``wanted`` is in ``text`` (start, end), found also when line breaks or case
    differ."""
    if (at := text.find(wanted)) >= 0:
        return at, at + len(wanted)
    target = " ".join(wanted.split()).casefold()
    if not target or (at := folded.find(target)) < 0:
        return None
    end = at + len(target) - 1
    if end >= len(positions):  # case folding changed the length (ß → ss): not placed
        return None
    return positions[at], positions[end] + 1


class PassageDialog(QDialog):
    #: A quick action on the selected text (all of it when none is): (action id, text, the
    #: passage as a dict, for its document and page).
    quick_action_requested = Signal(str, str, dict)

    def __init__(self, source: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        passage = Passage.from_dict(source)
        self.passage = passage
        #: The evidence sentences this passage holds (the first is scrolled to).
        self.highlights: list[str] = list(source.get("highlights", []))
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
        self.text = QTextBrowser()
        self.text.setPlainText(passage.text)
        self.text.setAccessibleName("Passage text")
        self.text.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.text.customContextMenuRequested.connect(self._menu)
        self._source = dict(source)
        layout.addWidget(self.text, 1)
        self.marked = mark_text(self.text, self.highlights)
        self.worker: GeneratorWorker | None = None
        self.page = passage.page or 1
        self.page_count = 0
        self.page_view: QLabel | None = None
        #: Where on the rendered page the first evidence box starts (None: none found there).
        self.highlight_top: float | None = None
        if passage.path.lower().endswith(".pdf") and passage.page and Path(passage.path).is_file():
            layout.addLayout(self._page_controls())
            scroll = self.page_scroll = QScrollArea()
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

    def selected_text(self) -> str:
        """The selected text, or the whole passage when nothing is selected."""
        return self.text.textCursor().selectedText().replace("\u2029", "\n") or self.passage.text

    def _menu(self, position: QPoint) -> None:
        menu = self.text.createStandardContextMenu(position)
        menu.addSeparator()
        text = self.selected_text()
        add_quick_actions(menu, lambda action: self.quick_action_requested.emit(
            action, text, self._source))  # fmt: skip
        menu.exec(self.text.viewport().mapToGlobal(position))

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
        marks = self.highlights if page == self.passage.page else []
        self.worker = GeneratorWorker(
            lambda cancel: render_page(path, page, 720, cancel, marks), self
        )
        self.worker.event.connect(self._on_rendered)
        self.worker.finished.connect(self._rendered_done)
        self.worker.start()

    def _on_rendered(self, event: Event) -> None:
        if self.page_view is None:
            return
        if isinstance(event, Done):
            image, self.page_count, top = event.result
            self.page_view.setPixmap(QPixmap.fromImage(image))
            cited = " (cited)" if self.page == self.passage.page else ""
            marked = ", the evidence marked" if top is not None else ""
            self.page_label.setText(f"Page {self.page} of {self.page_count}{cited}{marked}")
            self.highlight_top = top
            if top is not None:  # once laid out: the evidence a third from the view's top
                QTimer.singleShot(
                    0,
                    self,
                    lambda: self.page_scroll.verticalScrollBar().setValue(
                        max(int(top) - self.page_scroll.viewport().height() // 3, 0)
                    ),
                )
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
