"""Structure-aware chunking: passages that stay inside their section, sized in embedder tokens.

Headings are never separated from their text: every chunk carries its heading path (and the
document title) as context, embedded and indexed with it. Chunks never cross a heading, prefer to
end at a page boundary, overlap by whole sentences within a section, and tables are cut between
rows, each piece repeating the header row. Prose that introduces what the next chunk starts
with (a command line, or anything after a colon) is repeated there, across a page turn too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from anyllm_desktop.core.sentences import COMMAND_LINE
from anyllm_desktop.core.workspace import Chunk
from anyllm_desktop.ingest.blocks import Block, ParsedDocument, valid_text
from anyllm_desktop.ingest.tokens import TokenCounter

SECTION_SEPARATOR = " › "
#: all-MiniLM-L6-v2 reads 256 word pieces, two of them [CLS] and [SEP].
DEFAULT_MAX_TOKENS = 254
#: The heading context may use at most this share of a chunk's token budget.
_MAX_CONTEXT_SHARE = 0.25
_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+(?=[\"'“(\[]?[A-Z0-9])|\n+")


@dataclass
class _Unit:
    """The smallest piece the packer moves: a paragraph, a sentence or a table row."""

    text: str
    tokens: int
    page: int | None
    sheet: str
    #: For table rows: the header row to repeat at the top of every chunk of the table.
    header: str | None = None
    #: Which block the unit came from: pieces of one paragraph are joined by a space.
    block: int = 0
    #: A table row (rows are always joined by a line break).
    row: bool = False


def _sections(document: ParsedDocument) -> Iterator[tuple[str, list[Block]]]:
    """Runs of content blocks with the heading path they sit under."""
    stack: list[tuple[int, str]] = []
    run: list[Block] = []
    for block in document.blocks:
        if block.kind == "heading":
            if run:
                yield SECTION_SEPARATOR.join(t for _, t in stack), run
                run = []
            level = block.level or 1
            stack = [(lv, t) for lv, t in stack if lv < level]
            stack.append((level, valid_text(block.text)))
        else:
            run.append(block)
    if run:
        yield SECTION_SEPARATOR.join(t for _, t in stack), run


def _sentences(text: str) -> Iterator[str]:
    """``_SENTENCE_END.split(text)`` one sentence at a time (a huge text is not copied whole)."""
    start = 0
    for end in _SENTENCE_END.finditer(text):
        yield text[start : end.start()]
        start = end.end()
    yield text[start:]


def _context(title: str, section: str) -> str:
    if not section:
        return title
    if section == title or section.startswith(title + SECTION_SEPARATOR):
        return section
    return f"{title}{SECTION_SEPARATOR}{section}" if title else section


class Chunker:
    def __init__(
        self,
        counter: TokenCounter,
        *,
        chunk_tokens: int = 200,
        overlap_tokens: int = 32,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.counter = counter
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.max_tokens = max_tokens
        self._counts: dict[str, int] = {}

    def chunk(self, document: ParsedDocument) -> list[Chunk]:
        return list(self.iter_chunks(document))

    def iter_chunks(self, document: ParsedDocument) -> Iterator[Chunk]:
        """The chunks one at a time: a huge document is read and cut as a stream, so a caller
        can embed and store them in slices instead of holding them all."""
        title = valid_text(document.title)
        for section, blocks in _sections(document):
            context = _context(title, section)
            context_budget = int(self.max_tokens * _MAX_CONTEXT_SHARE)
            context_tokens = self.counter.count(context)
            if context_tokens > context_budget:
                context = next(self.counter.iter_split(context, context_budget))
                context_tokens = self.counter.count(context)
            budget = max(16, min(self.chunk_tokens, self.max_tokens - context_tokens - 1))
            units = (
                replace(unit, block=number)
                for number, block in enumerate(blocks)
                for unit in self._units(block, budget)
            )
            for text, page, sheet in self._pack(units, budget):
                # Counted on the final text; a piece over the limit (rare: tokens that merge
                # across a join) is cut again rather than silently truncated by the embedder.
                pieces = [text]
                if self.counter.count(text) > budget:
                    pieces = self.counter.split(text, budget)
                for piece in pieces:
                    chunk = Chunk(piece, page, section, context, sheet)
                    yield replace(chunk, tokens=self.counter.count(chunk.embed_text))

    def _units(self, block: Block, budget: int) -> Iterator[_Unit]:
        if block.kind == "table" and block.rows:
            yield from self._table_units(block, budget)
            return
        text, sheet = valid_text(block.text), valid_text(block.sheet)
        tokens = self.counter.count(text, stop_after=budget)
        if tokens <= budget:
            yield _Unit(text, tokens, block.page, sheet)
            return
        for sentence in _sentences(text):
            sentence = sentence.strip()
            if not sentence:
                continue
            count = self.counter.count(sentence, stop_after=budget)
            if count <= budget:
                yield _Unit(sentence, count, block.page, sheet)
                continue
            for piece in self.counter.iter_split(sentence, budget):
                yield _Unit(piece, self.counter.count(piece), block.page, sheet)

    def _table_units(self, block: Block, budget: int) -> Iterator[_Unit]:
        assert block.rows is not None
        rendered = [valid_text(" | ".join(row)) for row in block.rows]
        sheet = valid_text(block.sheet)
        header = rendered[0]
        header_tokens = self.counter.count(header)
        if len(rendered) == 1 or header_tokens > budget // 2:
            header, body = None, rendered  # no usable header row: rows stand alone
        else:
            body = rendered[1:]
        row_budget = budget - (header_tokens + 1 if header else 0)
        counts = self.counter.count_many(body) if body else []
        for row, count in zip(body, counts, strict=True):
            pieces = [row] if count <= row_budget else self.counter.split(row, row_budget)
            for piece in pieces:
                tokens = count if len(pieces) == 1 else self.counter.count(piece)
                yield _Unit(piece, tokens, block.page, sheet, header, row=True)

    def _cost(self, units: list[_Unit]) -> int:
        headers = {u.header for u in units if u.header}
        return sum(u.tokens for u in units) + sum(self._count_cached(h) + 1 for h in headers)

    def _count_cached(self, text: str) -> int:
        if text not in self._counts:
            self._counts[text] = self.counter.count(text)
        return self._counts[text]

    def _pack(self, units: Iterable[_Unit], budget: int) -> Iterator[tuple[str, int | None, str]]:
        current: list[_Unit] = []
        fresh = 0  # units in ``current`` that are not overlap from the previous chunk

        def emit() -> tuple[str, int | None, str]:
            first_new = current[len(current) - fresh]
            text = ""
            previous: _Unit | None = None
            for unit in current:
                if unit.header and (previous is None or unit.header != previous.header):
                    text += ("\n" if text else "") + unit.header
                    previous = None
                same_paragraph = previous and previous.block == unit.block and not unit.row
                joiner = " " if same_paragraph else "\n"
                text += (joiner if text else "") + unit.text
                previous = unit
            return text, first_new.page, first_new.sheet

        for unit in units:
            if fresh:
                turn_page = unit.page != current[-1].page and self._cost(current) >= budget // 2
                if turn_page or self._cost([*current, unit]) > budget:
                    yield emit()
                    current = self._carried(current, unit, turn_page)
                    while current and self._cost([*current, unit]) > budget:
                        current.pop(0)
                    fresh = 0
            current.append(unit)
            fresh += 1
        if fresh:
            yield emit()

    def _carried(self, units: list[_Unit], following: _Unit, turn_page: bool) -> list[_Unit]:
        """What the next chunk repeats of the last: the overlap within a page, and a lead-in
        of ``following`` always ("The following reconfigure the timezone…" at a page's foot,
        "# dpkg-reconfigure tzdata" at the next page's top were two passages, and the answer
        was neither)."""
        kept = [] if turn_page else self._overlap(units)
        last = units[-1]
        if kept or last.header is not None:
            return kept
        text = _last_sentence(last.text)  # a PDF page's block is one unit
        if _introduces(text, following.text):
            tokens = last.tokens if text == last.text else self.counter.count(text)
            if tokens <= self.chunk_tokens // 4:
                kept = [replace(last, text=text, tokens=tokens)]
        return kept

    def _overlap(self, units: list[_Unit]) -> list[_Unit]:
        """The last whole sentences of a chunk, up to the overlap budget (none for tables)."""
        kept: list[_Unit] = []
        total = 0
        for unit in reversed(units):
            if unit.header is not None or total + unit.tokens > self.overlap_tokens:
                break
            kept.insert(0, unit)
            total += unit.tokens
        return kept


def _last_sentence(text: str) -> str:
    """The last sentence of ``text``, with the lines it wraps over (a line that ends without a
    full stop goes on in the next)."""
    lines = [t for t in (s.strip() for s in _sentences(text)) if t]
    start = len(lines) - 1
    while start > 0 and not lines[start - 1].endswith((".", "!", "?", ":", ";", "…")):
        start -= 1
    return " ".join(lines[start:])


def _introduces(text: str, following: str) -> bool:
    """Whether prose ``text`` leads in to ``following``: it ends with a colon, or a command
    line follows it."""
    if COMMAND_LINE.match(text):
        return False
    return text.endswith(":") or bool(COMMAND_LINE.match(following))
