"""HTML to blocks: headings with their levels, paragraphs, lists, code and real tables.

Shared by every format that is, or converts to, HTML: web pages, Markdown, EPUB chapters, and
what pandoc makes of ODT, RTF, reST and Org files. Navigation, scripts and tables of contents are
left out: they would otherwise match queries and push the real passages down.
"""

from __future__ import annotations

import enum
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


class _Exit(enum.Enum):
    """What leaving an element needs once its children are walked."""

    SKIP = "its children are not walked: only its tail text"
    INLINE = "its tail text"
    BLOCK = "end the block, then its tail text"
    ITEM = "end the list item, then its tail text"


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._buffer: list[str] = []
        self._kind: BlockKind = "text"
        self._in_item = 0
        self._outer_kinds: list[BlockKind] = []

    def add_text(self, text: str) -> None:
        # Source line breaks are spaces in HTML; only <br> breaks a line.
        self._buffer.append(text.replace("\n", " "))

    def flush(self) -> None:
        text = _clean("".join(self._buffer))
        self._buffer = []
        if text and not _is_noise(text.removeprefix("•").strip() or text):
            self.blocks.append(Block(self._kind, text))

    def walk(self, top: etree._Element) -> None:
        """Depth first with an explicit stack: pages nest deeper than Python's recursion limit."""
        stack: list[tuple[etree._Element, _Exit | None]] = [(top, None)]
        while stack:
            element, leaving = stack.pop()
            if leaving is None:
                leaving = self._enter(element)
                if leaving is not _Exit.SKIP:
                    stack.append((element, leaving))
                    if element.text and isinstance(element.tag, str):
                        self.add_text(element.text)
                    stack.extend((child, None) for child in reversed(element))
                    continue
            elif leaving is _Exit.ITEM:
                self.flush()
                self._in_item -= 1
                self._kind = self._outer_kinds.pop()
            elif leaving is _Exit.BLOCK:
                self.flush()
            if element.tail:
                self.add_text(element.tail)

    def _enter(self, element: etree._Element) -> _Exit:
        """Handle an element's start; say what its end needs."""
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if not tag or tag in _SKIP_TAGS or _is_furniture(element):
            return _Exit.SKIP  # comments, processing instructions, furniture: only their tail
        if tag in _HEADINGS:
            self.flush()
            text = " ".join(element.text_content().split())
            if text:
                self.blocks.append(Block("heading", text, level=_HEADINGS[tag]))
            return _Exit.SKIP
        if tag == "pre":
            self.flush()
            code = element.text_content().strip("\n")
            if code.strip():
                self.blocks.append(Block("code", code))
            return _Exit.SKIP
        if tag == "table" and not _is_layout_table(element):
            self.flush()
            rows = _table_rows(element)
            if rows:
                text = "\n".join(" | ".join(row) for row in rows)
                self.blocks.append(Block("table", text, rows=rows))
            return _Exit.SKIP
        if tag == "li":
            self.flush()
            self._outer_kinds.append(self._kind)
            self._kind = "list"
            self._in_item += 1
            self._buffer.append("• ")
            return _Exit.ITEM
        if tag == "br":
            self._buffer.append("\n")
            return _Exit.SKIP
        if tag in _BLOCK_TAGS or tag == "table":
            if self._in_item:  # paragraphs inside a list item stay in that item
                if "".join(self._buffer).strip() not in {"", "•"}:
                    self._buffer.append("\n")
                return _Exit.INLINE
            self.flush()
            return _Exit.BLOCK
        return _Exit.INLINE


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
    root, too_deep = _parse(html)
    if too_deep:  # libxml2 stopped there and dropped the rest of the page
        root, _ = _parse(flatten_deep_nesting(html.decode("utf-8", "replace")).encode("utf-8"))
    return root


def _parse(html: bytes) -> tuple[etree._Element, bool]:
    # huge_tree raises libxml2's nesting limit from 256 to 2048 levels (and lifts text limits).
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, huge_tree=True)
    root = lxml.html.document_fromstring(html, parser=parser)
    too_deep = any("excessive depth" in error.message.lower() for error in parser.error_log)
    return root, too_deep


#: Deeper than this, :func:`flatten_deep_nesting` drops tags (libxml2 stops at 2048 levels).
MAX_NESTING = 1000
_TAG = re.compile(
    r"<!--.*?-->|<(script|style)\b.*?</\1\s*>|<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*>", re.S | re.I
)
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
#: Start tags that close an open sibling of theirs (an unclosed <p> before the next <p>).
_CLOSES = {"p": {"p"}, "li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "tr": {"tr"},
           "td": {"td", "th"}, "th": {"td", "th"}, "option": {"option"}}  # fmt: skip
#: How far up an end tag looks for its start tag; beyond, it is a stray end tag.
_END_TAG_REACH = 256


def flatten_deep_nesting(html: str) -> str:
    """The page with the tags nested deeper than MAX_NESTING left out and their text kept;
    a left-out block tag becomes a line break so its text stays apart from its neighbours'."""
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # open elements: (tag, kept)
    position = 0
    for match in _TAG.finditer(html):
        closing, name = match.group(2), (match.group(3) or "").lower()
        if not name:
            continue  # a comment, script or style: left as it is
        kept = True
        if closing:
            for index in range(len(stack) - 1, max(-1, len(stack) - 1 - _END_TAG_REACH), -1):
                if stack[index][0] == name:
                    kept = stack[index][1]
                    del stack[index:]
                    break
        elif name not in _VOID and not match.group(0).endswith("/>"):
            while stack and stack[-1][0] in _CLOSES.get(name, ()):
                stack.pop()
            kept = len(stack) < MAX_NESTING
            stack.append((name, kept))
        if not kept:
            out.append(html[position : match.start()])
            out.append("<br>" if name in _BLOCK_TAGS or name in _HEADINGS or name == "li" else "")
            position = match.end()
    out.append(html[position:])
    return "".join(out)


def html_to_blocks(root: etree._Element) -> list[Block]:
    walker = _Walker()
    body = root.find("body")
    walker.walk(body if body is not None else root)
    walker.flush()
    return walker.blocks
