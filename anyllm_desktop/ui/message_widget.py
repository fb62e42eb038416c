"""One message of the conversation: Markdown with linked citations, its sources, the evidence
quoted under it and what no passage backs, its versions, and the tools (copy, edit,
regenerate)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
)

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.ui.evidence_html import evidence_html, mark_missing, unsupported_html
from anyllm_desktop.ui.markdown_view import markdown_to_html, plain_to_html
from anyllm_desktop.ui.quick_action_menu import add_quick_actions

#: How long a message's Copy button says "Copied ✓".
COPIED_MS = 1500


class MessageWidget(QFrame):
    """One message. Assistant messages render Markdown, link [n] to their passages and list
    their sources underneath."""

    citation_clicked = Signal(dict)
    copy_requested = Signal(str)
    regenerate_requested = Signal()
    edit_requested = Signal(int, str)
    #: -1: the earlier version of this answer, 1: the later one.
    version_requested = Signal(int)
    #: A quick action on the selected text (the whole message when none is): (action, text).
    quick_action_requested = Signal(str, str)
    #: The user's verdict on this answer: 1 good, -1 bad, 0 taken back.
    rating_requested = Signal(int)
    #: "Correct…": the user wants to write the right answer.
    correction_requested = Signal()

    def __init__(self, role: str, text: str = "", message_id: int | None = None) -> None:
        super().__init__()
        self.role = role
        self.text = text
        self.message_id = message_id
        self.sources: list[dict[str, Any]] = []
        self.cited: set[int] = set()
        self.evidence: list[dict[str, Any]] = []
        self.unsupported: list[dict[str, Any]] = []
        self.correction: str | None = None
        self.setObjectName("UserMessage" if role == "user" else "AssistantMessage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        header = QHBoxLayout()
        self.title = QLabel("You" if role == "user" else "Assistant")
        self.title.setObjectName("MessageTitle")
        # Never wider than the view: a long model name is cut, not scrolled.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        header.addWidget(self.title)
        header.addStretch(1)
        self.copy_button = self._tool("Copy", "Copy this message")
        self.copy_button.clicked.connect(self._copy)
        header.addWidget(self.copy_button)
        if role == "user":
            self.edit_button = self._tool("Edit", "Edit this question and send it again")
            self.edit_button.clicked.connect(self._edit)
            header.addWidget(self.edit_button)
        else:
            self.previous_version = self._tool("‹", "The earlier answer")
            self.previous_version.clicked.connect(lambda: self.version_requested.emit(-1))
            self.version_label = QLabel()
            self.version_label.setAccessibleName("Answer version")
            self.next_version = self._tool("›", "The later answer")
            self.next_version.clicked.connect(lambda: self.version_requested.emit(1))
            for widget in (self.previous_version, self.version_label, self.next_version):
                header.addWidget(widget)
                widget.hide()
            self.regenerate_button = self._tool("Regenerate", "Answer this question again")
            self.regenerate_button.clicked.connect(self.regenerate_requested)
            header.addWidget(self.regenerate_button)
            self.good_button = self._tool("✓ Good", "A good answer (kept as a training example)")
            self.bad_button = self._tool("✗ Wrong", "A wrong answer")
            for button, value in ((self.good_button, 1), (self.bad_button, -1)):
                button.setCheckable(True)
                button.clicked.connect(
                    lambda checked, v=value: self.rating_requested.emit(v if checked else 0)
                )
                header.addWidget(button)
            self.correct_button = self._tool(
                "Correct…", "Write the right answer (kept as a training example)"
            )
            self.correct_button.clicked.connect(self.correction_requested)
            header.addWidget(self.correct_button)
        layout.addLayout(header)

        self.body = QTextBrowser()
        self.body.setObjectName("MessageBody")
        self.body.setOpenLinks(False)
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.body.setAccessibleName("Your question" if role == "user" else "Answer")
        self.body.anchorClicked.connect(self._on_anchor)
        self.body.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.body.customContextMenuRequested.connect(self._menu)
        self.body.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        layout.addWidget(self.body)

        self.checks_label = self._rich_label("Checks")  # what no passage backs
        self.evidence_label = self._rich_label("Evidence")
        layout.addWidget(self.checks_label)
        layout.addWidget(self.evidence_label)
        self.sources_label = QLabel()
        self.sources_label.setObjectName("Sources")
        self.sources_label.setWordWrap(True)
        self.sources_label.setTextFormat(Qt.TextFormat.RichText)
        self.sources_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.sources_label.linkActivated.connect(self._on_source_link)
        self.sources_label.hide()
        layout.addWidget(self.sources_label)
        self.correction_label = QLabel()  # the user's correction, under the answer
        self.correction_label.setObjectName("Correction")
        self.correction_label.setWordWrap(True)
        self.correction_label.setTextFormat(Qt.TextFormat.PlainText)
        self.correction_label.hide()
        layout.addWidget(self.correction_label)
        self.status = QLabel()
        self.status.setObjectName("MessageStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        layout.addWidget(self.status)
        self.set_text(text)

    def selected_text(self) -> str:
        """The selected text, or the whole message when nothing is selected."""
        selected = self.body.textCursor().selectedText().replace("\u2029", "\n")
        return selected or self.body.toPlainText()

    def _menu(self, position: QPoint) -> None:
        menu = self.body.createStandardContextMenu(position)
        menu.addSeparator()
        text = self.selected_text()
        add_quick_actions(menu, lambda action: self.quick_action_requested.emit(action, text))
        menu.exec(self.body.viewport().mapToGlobal(position))

    def _copy(self) -> None:
        """Copied, and it says so for a moment."""
        self.copy_requested.emit(self.text)
        self.copy_button.setText("Copied ✓")
        QTimer.singleShot(COPIED_MS, self.copy_button, lambda: self.copy_button.setText("Copy"))

    def _rich_label(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        label.setOpenExternalLinks(False)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        label.linkActivated.connect(self._on_source_link)
        label.hide()
        return label

    def _tool(self, text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setAutoRaise(True)
        return button

    def set_text(self, text: str) -> None:
        self.text = text
        if self.role == "user":
            self.body.setHtml(plain_to_html(text))
        else:
            valid = {int(s["n"]) for s in self.sources}
            rendered = markdown_to_html(text, link_citations=valid)
            self.body.setHtml(mark_missing(rendered, self.unsupported))

    def set_sources(self, sources: list[dict[str, Any]], cited: set[int] | None = None) -> None:
        self.sources = sources
        self.cited = cited or set()
        if not sources:
            self.sources_label.hide()
            return
        cited = cited or set()
        lines = []
        for source in sources:
            n = int(source["n"])
            mark = "<b>" if n in cited else ""
            end = "</b>" if n in cited else ""
            lines.append(
                f"{mark}<a href='source:{n}'>[{n}]</a> {Passage.from_dict(source).where}{end}"
            )
        self.sources_label.setText("<b>Sources</b><br>" + "<br>".join(lines))
        self.sources_label.show()
        self.set_text(self.text)

    def set_feedback(self, rating: int, correction: str | None) -> None:
        """Show the user's verdict (✓ Good or ✗ Wrong pressed), and their correction under the
        answer."""
        self.correction = correction
        self.good_button.setChecked(rating == 1)
        self.bad_button.setChecked(rating == -1)
        self.correction_label.setText(f"Your correction: {correction}" if correction else "")
        self.correction_label.setVisible(bool(correction))

    def set_versions(self, shown: int, count: int) -> None:
        """ "‹ 2/3 ›": which of the kept answers to this question is shown (1-based)."""
        for widget in (self.previous_version, self.version_label, self.next_version):
            widget.setVisible(count > 1)
        self.version_label.setText(f"{shown}/{count}")
        self.previous_version.setEnabled(shown > 1)
        self.next_version.setEnabled(shown < count)

    def set_checks(self, evidence: list[dict[str, Any]],
                   unsupported: list[dict[str, Any]]) -> None:  # fmt: skip
        """The evidence quoted under the answer, and what no passage backs, marked in it."""
        self.evidence, self.unsupported = evidence, unsupported
        for label, text in ((self.evidence_label, evidence_html(evidence)),
                            (self.checks_label, unsupported_html(unsupported))):  # fmt: skip
            label.clear()
            label.setText(text)
            label.setVisible(bool(text))
        self.set_text(self.text)

    def restyle(self) -> None:
        """Render again, after a theme change: rich text keeps the link colours of the palette
        it was laid out with (and QLabel skips setting the same text again)."""
        self.sources_label.clear()
        self.set_sources(self.sources, self.cited)
        self.set_checks(self.evidence, self.unsupported)

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setProperty("error", error)
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _fit_height(self) -> None:
        height = int(self.body.document().size().height()) + 6
        self.body.setFixedHeight(max(height, 24))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.body.document().setTextWidth(self.body.viewport().width())
        self._fit_height()

    def _passage(self, n: int) -> dict[str, Any] | None:
        """Passage ``n`` with the evidence sentences it holds (``highlights``: the passage
        view marks them, on the rendered page too)."""
        source = next((s for s in self.sources if int(s["n"]) == n), None)
        if source is None:
            return None
        return {**source, "highlights": [e["text"] for e in self.evidence if e["n"] == n]}

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "cite" and (source := self._passage(int(url.path() or 0))):
            self.citation_clicked.emit(source)

    def _on_source_link(self, link: str) -> None:
        """``source:n`` (the sources list) or ``evidence:i`` (a quoted sentence)."""
        kind, _, number = link.partition(":")
        if kind == "evidence":
            if not 0 <= int(number) < len(self.evidence):
                return
            item = self.evidence[int(number)]
            source = self._passage(int(item["n"]))
            if source is not None:  # this sentence first: the view scrolls to the first
                rest = [t for t in source["highlights"] if t != item["text"]]
                self.citation_clicked.emit({**source, "highlights": [item["text"], *rest]})
        elif (source := self._passage(int(number))) is not None:
            self.citation_clicked.emit(source)

    def _edit(self) -> None:
        if self.message_id is not None:
            self.edit_requested.emit(self.message_id, self.text)
