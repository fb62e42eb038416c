"""The common shape every parser produces: a document as a list of structural blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "text", "list", "code", "table"]


@dataclass
class Block:
    kind: BlockKind
    text: str
    #: Heading level, 1 (top) to 6; 0 for other blocks.
    level: int = 0
    #: 1-based page (PDF, DOCX page breaks), slide (PPTX) or sheet number (XLSX).
    page: int | None = None
    #: Sheet name for spreadsheets.
    sheet: str = ""
    #: Table cells, header row first, for ``kind == "table"``.
    rows: list[list[str]] | None = None


@dataclass
class ParsedDocument:
    title: str
    #: The format, e.g. "pdf", "docx", "markdown".
    kind: str
    blocks: list[Block] = field(default_factory=list)
    #: Page, slide or sheet count where the format has them.
    pages: int | None = None


class ParseError(Exception):
    """The file cannot be read; the message says why in words a user understands."""
