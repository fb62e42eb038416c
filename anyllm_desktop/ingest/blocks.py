"""The common shape every parser produces: a document as a list of structural blocks."""

from __future__ import annotations

import re
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


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: C0/C1 controls and the bidirectional overrides that can disguise a name ("txt.exe").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def valid_text(text: str) -> str:
    """Text that encodes as UTF-8. Undecodable bytes in file names (``os.fsdecode`` keeps them
    as lone surrogates) become U+FFFD; tokenizers and Arrow refuse lone surrogates."""
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


def clean_title(text: str) -> str:
    """A title fit to show: valid text, control characters replaced, whitespace collapsed."""
    text = _CONTROL.sub(lambda m: " " if m.group().isspace() else "\ufffd", valid_text(text))
    return " ".join(text.split())
