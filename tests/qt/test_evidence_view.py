"""The evidence where the user reads: quoted under the answer, marked in the passage's text,
and painted on the rendered PDF page, scrolled to (pypdfium2 on a real PDF)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from anyllm_desktop.ui.chat_view import ChatView
from anyllm_desktop.ui.passage_dialog import PassageDialog

DATA = Path(__file__).parent.parent / "data"
PDF = DATA / "reportlab-userguide.pdf"
#: Page 6 of the ReportLab user guide, across a line break on the page.
SENTENCE = "Some previous programming experience is presumed and familiarity with the Python"
#: Near the foot of the same page (the view scrolls down to it).
LOW = ("This is particularly relevant to cross-platform apps which cannot rely on a consistent "
       "printing or previewing API on each operating system.")  # fmt: skip


def _source(text: str, **more: object) -> dict[str, object]:
    return {"n": 1, "document": "ReportLab User Guide", "path": str(PDF), "page": 6,
            "section": "1.1 About this document", "text": text, "score": 1.0, **more}  # fmt: skip


def test_evidence_is_quoted_and_a_click_opens_its_passage_with_it(qtbot: QtBot) -> None:
    view = ChatView()
    qtbot.addWidget(view)
    passage = f"This document is an introduction. {SENTENCE} language is recommended."
    widget = view.add_message("assistant", "You need Python [1] and [4].")
    widget.set_sources([_source(passage)], {1})
    unsupported = [{"sentence": "You need Python [1] and [4].", "reason": "x", "missing": ["4"]}]
    widget.set_checks([{"n": 1, "document": "ReportLab User Guide", "path": str(PDF), "page": 6,
                        "text": SENTENCE}], unsupported)  # fmt: skip
    assert not widget.evidence_label.isHidden() and "From your documents" in (
        widget.evidence_label.text()
    )
    assert "Not found in your documents" in widget.checks_label.text()
    html = widget.body.toHtml()
    assert "cite:1" in html and "cite:4" not in html  # no passage 4: never a link
    opened: list[dict[str, object]] = []
    view.citation_clicked.connect(opened.append)
    widget.evidence_label.linkActivated.emit("evidence:0")
    assert opened and opened[0]["highlights"] == [SENTENCE] and opened[0]["n"] == 1


def test_the_pdf_page_opens_with_the_evidence_painted_and_scrolled_to(qtbot: QtBot) -> None:
    passage = f"The ReportLab library is expected to be useful. {LOW} Going from XML to PDF."
    dialog = PassageDialog(_source(passage, highlights=[LOW]))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.marked == 1  # in the passage's text
    cursor = dialog.text.textCursor()
    cursor.setPosition(passage.index(LOW) + 3)
    assert cursor.charFormat().background().color().red() == 255
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=30_000)
    assert dialog.highlight_top is not None and dialog.highlight_top > 0
    assert "the evidence marked" in dialog.page_label.text()
    image = dialog.page_view.pixmap().toImage()
    row = int(dialog.highlight_top) + 4
    painted = [QColor(image.pixel(x, row)) for x in range(60, image.width() - 60, 7)]
    assert any(c.blue() < c.red() - 40 and c.green() > 150 for c in painted)  # yellow-ish
    assert dialog.highlight_top > image.height() / 2  # low on the page: scrolled down to it
    scroll = dialog.page_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: scroll.value() > 0)
    dialog.done(0)


def test_an_answer_from_a_pdf_opens_its_cited_page_with_the_evidence_marked(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    """The whole path with the real models: two pages of the ReportLab guide indexed, a
    question asked, the answer's evidence clicked, the page rendered with it painted."""
    import pypdfium2 as pdfium

    from tests.qt.helpers import ready_window

    source, pages = pdfium.PdfDocument(str(PDF)), pdfium.PdfDocument.new()
    pages.import_pages(source, [5, 6])  # pages 6 and 7: about the library, its uses
    small = tmp_path / "reportlab-intro.pdf"
    pages.save(str(small))
    window = ready_window(qtbot, anyllm_home)
    window.backend.create_workspace("Guide")
    window.navigator.select_workspace("Guide")
    window.backend.update_chat_settings("Guide", temperature=0.0, max_answer_tokens=24)
    window.workspace_actions.add_documents([small])
    qtbot.waitUntil(lambda: window.backend.ingest_worker is None, timeout=240_000)
    window.answers.ask("In which contexts is the ReportLab library expected to be useful?")
    qtbot.waitUntil(lambda: window.answers.worker is None, timeout=240_000)
    answer = window.chat_view.messages[-1]
    assert answer.evidence and "From your documents" in answer.evidence_label.text()
    assert answer.evidence[0]["page"] in (1, 2)  # its page in the indexed file
    answer.evidence_label.linkActivated.emit("evidence:0")
    dialog = next(d for d in window.findChildren(PassageDialog) if d.isVisible())
    assert dialog.marked >= 1
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=30_000)
    assert dialog.highlight_top is not None, dialog.page_label.text()
    assert "the evidence marked" in dialog.page_label.text()
    dialog.done(0)
    window.close()
