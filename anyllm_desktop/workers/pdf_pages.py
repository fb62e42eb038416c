"""PDF pages rendered to images off the GUI thread, for the in-app page view of a citation,
with the evidence marked where it stands on the page (pypdfium2's text search gives its boxes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event

#: A sentence not found whole (hyphenation, a ligature, a footnote mark) is looked for in
#: pieces of this many words.
PIECE_WORDS = 6
HIGHLIGHT = QColor(255, 214, 0, 110)


def render_page(path: Path, page: int, width_px: int, cancel: CancelToken,
                highlights: Sequence[str] = ()) -> Iterator[Event]:  # fmt: skip
    """Done((QImage of 1-based ``page`` scaled to ``width_px``, page count, the top of the
    first highlight in image pixels or None)), or Error. Each text of ``highlights`` found on
    the page is painted over."""
    import pypdfium2 as pdfium

    if cancel.cancelled:
        return
    try:
        document = pdfium.PdfDocument(str(path))
    except (pdfium.PdfiumError, OSError) as exc:
        yield Error(f"{path.name} cannot be shown: {exc}")
        return
    try:
        count = len(document)
        if not 1 <= page <= count:
            yield Error(f"{path.name} has {count} pages; page {page} does not exist.")
            return
        pdf_page = document[page - 1]
        scale = width_px / max(pdf_page.get_width(), 1.0)
        bitmap = pdf_page.render(scale=scale, rev_byteorder=True)  # RGB byte order
        kind = (
            QImage.Format.Format_RGB888 if bitmap.n_channels == 3 else QImage.Format.Format_RGBX8888
        )
        rendered = QImage(bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride,
                          kind).copy()  # fmt: skip
        boxes = _boxes(pdf_page, highlights) if highlights else []
        top = _paint(rendered, boxes, scale, pdf_page.get_height())
        yield Done((rendered, count, top))
    finally:
        document.close()


def _boxes(pdf_page: Any, highlights: Sequence[str]) -> list[tuple[float, float, float, float]]:
    """The (left, bottom, right, top) boxes, in PDF points, of each text found on the page:
    whole where it is, else the pieces of it that are."""
    text_page = pdf_page.get_textpage()
    boxes: list[tuple[float, float, float, float]] = []
    try:
        for text in highlights:
            words = text.split()
            if not words:
                continue
            found = _find(text_page, " ".join(words))
            if not found:
                for start in range(0, len(words), PIECE_WORDS):
                    piece = words[start : start + PIECE_WORDS]
                    if len(" ".join(piece)) >= 12:  # shorter pieces match anywhere
                        found += _find(text_page, " ".join(piece))
            boxes += found
    finally:
        text_page.close()
    return boxes


def _find(text_page: Any, text: str) -> list[tuple[float, float, float, float]]:
    searcher = text_page.search(text, match_case=False)
    try:
        hit = searcher.get_next()
        if hit is None:
            return []
        index, length = hit
        return [text_page.get_rect(i) for i in range(text_page.count_rects(index, length))]
    finally:
        searcher.close()


def _paint(image: QImage, boxes: list[tuple[float, float, float, float]], scale: float,
           height: float) -> float | None:  # fmt: skip
    """Paint the boxes over the page image; the top of the first one (None: none)."""
    if not boxes:
        return None
    painter = QPainter(image)
    try:
        for left, bottom, right, top in boxes:
            painter.fillRect(
                QRectF(left * scale, (height - top) * scale, (right - left) * scale,
                       (top - bottom) * scale),
                HIGHLIGHT,
            )  # fmt: skip
    finally:
        painter.end()
    return (height - boxes[0][3]) * scale
