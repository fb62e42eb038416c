"""PDF text layers with pypdfium2: every page numbered, sections from the PDF's outline.

unstructured's PDF path runs at ~3 pages/s here; pdfium reads the same text layer at hundreds of
pages per second. Structure comes from the outline (bookmarks) most long PDFs carry: each entry
names a heading and its page, and the heading line is found on that page to start the section.
Running headers and footers (lines repeated on most pages) and dot-leader table-of-contents lines
are dropped so they do not crowd out real passages.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium

from anyllm_desktop.ingest.blocks import Block, ParsedDocument, ParseError

_DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*\S{0,8}\s*$")
_DIGITS = re.compile(r"\b(?:\d+|[ivxlcdm]+)\b", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        message = str(exc).lower()
        if "password" in message:
            raise ParseError("the PDF is password-protected") from exc
        if "format" in message or "file" in message:
            raise ParseError(f"the PDF is damaged or not a PDF ({exc})") from exc
        raise ParseError(f"the PDF cannot be opened ({exc})") from exc


def _page_lines(document: pdfium.PdfDocument) -> list[list[str]]:
    pages = []
    for index in range(len(document)):
        page = document[index]
        try:
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_bounded()
            finally:
                textpage.close()
        finally:
            page.close()
        lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
        pages.append([line for line in lines if line])
    return pages


def _boilerplate(pages: list[list[str]]) -> set[str]:
    """Lines (digits ignored) that repeat at the top or bottom of most pages."""
    if len(pages) < 4:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        edges = {_DIGITS.sub("#", _norm(line)) for line in lines[:2] + lines[-2:]}
        counts.update(edges)
    return {line for line, n in counts.items() if n >= max(3, len(pages) // 2)}


def _outline(document: pdfium.PdfDocument) -> dict[int, list[tuple[int, str]]]:
    """Outline entries by 0-based page index: (level starting at 1, title)."""
    by_page: dict[int, list[tuple[int, str]]] = {}
    try:
        for bookmark in document.get_toc(max_depth=6):
            destination = bookmark.get_dest()
            title = " ".join(bookmark.get_title().split())
            if destination is None or not title:
                continue
            index = destination.get_index()
            if index is not None:
                by_page.setdefault(index, []).append((bookmark.level + 1, title))
    except pdfium.PdfiumError:
        return {}
    return by_page


def _heading_line(lines: list[str], title: str, start: int) -> int | None:
    """Index of the line that shows ``title`` (maybe numbered, "2.1 Title"), at or after start."""
    wanted = _norm(title)
    for index in range(start, len(lines)):
        line = _norm(lines[index])
        if line.endswith(wanted) and len(line) <= len(wanted) + 12:
            return index
    return None


def parse_pdf(path: Path) -> ParsedDocument:
    document = _open(path)
    try:
        pages = _page_lines(document)
        outline = _outline(document)
        metadata_title = (document.get_metadata_dict().get("Title") or "").strip()
    finally:
        document.close()
    if not any(pages):
        raise ParseError(
            "the PDF has no text layer (it is probably scanned images; OCR is not supported)"
        )
    boilerplate = _boilerplate(pages)
    blocks: list[Block] = []
    for index, lines in enumerate(pages):
        blocks += _page_blocks(lines, outline.get(index, []), boilerplate, index + 1)
    title = metadata_title or next((b.text for b in blocks if b.kind == "heading"), path.stem)
    return ParsedDocument(title=title, kind="pdf", blocks=blocks, pages=len(pages))


def _page_blocks(
    lines: list[str], headings: list[tuple[int, str]], boilerplate: set[str], page: int
) -> list[Block]:
    """One page's blocks: outline headings where their lines are, the text between them."""
    marks: dict[int, list[tuple[int, str]]] = {}
    heading_lines: set[int] = set()
    position = 0
    for level, title in headings:
        found = _heading_line(lines, title, position)
        if found is None:  # not printed on the page as such: the section starts here
            marks.setdefault(position, []).append((level, title))
        else:
            marks.setdefault(found, []).append((level, title))
            heading_lines.add(found)
            position = found + 1
    blocks: list[Block] = []
    text_lines: list[str] = []

    def flush() -> None:
        if text_lines:
            blocks.append(Block("text", _join_lines(text_lines), page=page))
            text_lines.clear()

    for number in range(len(lines) + 1):
        for level, title in marks.get(number, []):
            flush()
            blocks.append(Block("heading", title, level=level, page=page))
        if number == len(lines) or number in heading_lines:
            continue
        line = lines[number]
        if _DIGITS.sub("#", _norm(line)) in boilerplate or _DOT_LEADER.search(line):
            continue
        text_lines.append(line)
    flush()
    return blocks


def _join_lines(lines: list[str]) -> str:
    """Re-flow a page's lines: words hyphenated across a line break are joined again."""
    text = ""
    for line in lines:
        if text.endswith("-") and line[:1].islower():
            text = text[:-1] + line
        elif text:
            text += "\n" + line
        else:
            text = line
    return text
