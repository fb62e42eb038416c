"""HTML to blocks: headings with their levels, paragraphs, lists, code and real tables.

Shared by every format that is, or converts to, HTML: web pages, Markdown, EPUB chapters, and
what pandoc makes of ODT, RTF, reST and Org files. Navigation, scripts and tables of contents are
left out: they would otherwise match queries and push the real passages down.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from anyllm_desktop.ingest.blocks import Block, BlockKind

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIP_TAGS = frozenset(
    (
        "script style noscript template svg head nav button select iframe object canvas form "
        "input textarea math footer"
    ).split()
)
_BLOCK_TAGS = frozenset(
    (
        "address article aside blockquote body center dd details dialog div dl dt fieldset "
        "figcaption figure header hgroup hr html legend main ol p section summary ul caption "
        "tbody thead tfoot tr td th"
    ).split()
)
#: class/id words that mark page furniture rather than content.
_FURNITURE = frozenset(
    (
        "nav navbar navheader navfooter navigation toc breadcrumb breadcrumbs menu sidebar "
        "skip-link skiplink cookie cookies banner"
    ).split()
)
_WORDS = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def _is_furniture(element: etree._Element) -> bool:
    if element.get("role") in {"navigation", "banner", "contentinfo"}:
        return True
    if element.get("aria-hidden") == "true" or element.get("hidden") is not None:
        return True
    marks = f"{element.get('class', '')} {element.get('id', '')}".lower()
    return any(word in _FURNITURE for word in _WORDS.findall(marks))


def _clean(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _cell_text(cell: etree._Element) -> str:
    return " ".join(_SPACES.sub(" ", cell.text_content()).split())


def _is_layout_table(table: etree._Element) -> bool:
    """Tables used for page layout hold blocks of their own; data tables hold cell text."""
    return any(
        el.tag in {"table", "p", "div", "ul", "ol", "h1", "h2", "h3", "pre"}
        for el in table.iterdescendants()
        if isinstance(el.tag, str)
    )


def _table_rows(table: etree._Element) -> list[list[str]]:
    rows = []
    for row in table.iter("tr"):
        cells = [_cell_text(c) for c in row if isinstance(c.tag, str) and c.tag in {"td", "th"}]
        if any(cells):
            rows.append(cells)
    return rows


def _is_noise(text: str) -> bool:
    """Paragraph numbers, stray bullets and the like: no letters, a few characters."""
    return len(text) <= 8 and not any(ch.isalpha() for ch in text)


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._buffer: list[str] = []
        self._kind: BlockKind = "text"
        self._in_item = 0

    def add_text(self, text: str) -> None:
        # Source line breaks are spaces in HTML; only <br> breaks a line.
        self._buffer.append(text.replace("\n", " "))

    def flush(self) -> None:
        text = _clean("".join(self._buffer))
        self._buffer = []
        if text and not _is_noise(text.removeprefix("•").strip() or text):
            self.blocks.append(Block(self._kind, text))

    def walk(self, element: etree._Element) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if not tag or tag in _SKIP_TAGS or _is_furniture(element):
            pass  # comments, processing instructions, furniture: only their tail counts
        elif tag in _HEADINGS:
            self.flush()
            text = " ".join(element.text_content().split())
            if text:
                self.blocks.append(Block("heading", text, level=_HEADINGS[tag]))
        elif tag == "pre":
            self.flush()
            code = element.text_content().strip("\n")
            if code.strip():
                self.blocks.append(Block("code", code))
        elif tag == "table" and not _is_layout_table(element):
            self.flush()
            rows = _table_rows(element)
            if rows:
                text = "\n".join(" | ".join(row) for row in rows)
                self.blocks.append(Block("table", text, rows=rows))
        elif tag == "li":
            self.flush()
            outer, self._kind = self._kind, "list"
            self._in_item += 1
            self._buffer.append("• ")
            self._children(element)
            self.flush()
            self._in_item -= 1
            self._kind = outer
        elif tag == "br":
            self._buffer.append("\n")
        elif tag in _BLOCK_TAGS or tag == "table":
            if self._in_item:  # paragraphs inside a list item stay in that item
                if "".join(self._buffer).strip() not in {"", "•"}:
                    self._buffer.append("\n")
                self._children(element)
            else:
                self.flush()
                self._children(element)
                self.flush()
        else:
            self._children(element)
        if element.tail:
            self.add_text(element.tail)

    def _children(self, element: etree._Element) -> None:
        if element.text and isinstance(element.tag, str):
            self.add_text(element.text)
        for child in element:
            self.walk(child)


def html_title(root: etree._Element) -> str:
    for path in ("//title", "//h1"):
        found = root.xpath(path)
        if found:
            text = " ".join(found[0].text_content().split())
            if text:
                return text
    return ""


def parse_html_root(html: str | bytes) -> etree._Element:
    if isinstance(html, str):
        # lxml refuses str input that carries an XML encoding declaration.
        html = html.encode("utf-8")
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    root = lxml.html.document_fromstring(html, parser=parser)
    return root


def html_to_blocks(root: etree._Element) -> list[Block]:
    walker = _Walker()
    body = root.find("body")
    walker.walk(body if body is not None else root)
    walker.flush()
    return walker.blocks
