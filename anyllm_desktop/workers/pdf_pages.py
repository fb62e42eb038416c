"""PDF pages rendered to images off the GUI thread, for the in-app page view of a citation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PySide6.QtGui import QImage

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event


def render_page(path: Path, page: int, width_px: int, cancel: CancelToken) -> Iterator[Event]:
    """Done((QImage of 1-based ``page`` scaled to ``width_px``, page count)), or Error."""
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
        yield Done((rendered, count))
    finally:
        document.close()
