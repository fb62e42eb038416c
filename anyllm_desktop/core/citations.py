"""Citations in an answer: the ``[n]`` markers a model writes, linked to the numbered passages.

Models write them in many shapes: ``[1]``, ``[1, 3]``, ``[1][2]``, ``[1-3]``, ``[Passage 2]``,
``[source 2]``, ``【2】``. Numbers inside code spans and fenced code blocks are not citations
(``a[1]`` in Python is an index).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_MARKER = re.compile(
    r"[\[【]\s*(?:(?:passage|source|doc(?:ument)?|ref)\s*#?\s*)?"
    r"(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*(?:(?:passage|source)\s*)?\d{1,3})*)\s*[\]】]",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d{1,3}")
#: A range wider than this is not a citation (``[1-100]``) and is ignored.
_MAX_RANGE = 20


@dataclass(frozen=True)
class Citation:
    """One cited passage number, in order of first mention."""

    n: int
    #: Whether a passage with this number was given to the model.
    valid: bool


def _numbers_of(body: str) -> list[int]:
    """The numbers of a marker's inside ("1, 3", "2-4"), each once, in order."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", body):
        bounds = [int(n) for n in _NUMBER.findall(part)]
        if len(bounds) == 2 and re.search(r"[-–]", part):
            low, high = sorted(bounds)
            span = list(range(low, high + 1)) if high - low <= _MAX_RANGE else []
        else:
            span = bounds
        numbers += [n for n in span if n not in numbers]
    return numbers


def cited_numbers(answer: str) -> list[int]:
    """Passage numbers cited in ``answer``, each once, in order of first mention."""
    text = _CODE.sub(" ", answer)
    numbers: list[int] = []
    for match in _MARKER.finditer(text):
        numbers += [n for n in _numbers_of(match.group(1)) if n not in numbers]
    return numbers


def link_citations(answer: str, passage_count: int) -> list[Citation]:
    """The answer's citations, each marked valid when it names one of ``passage_count``
    passages (numbered from 1)."""
    return [Citation(n, 1 <= n <= passage_count) for n in cited_numbers(answer)]


def uncited(citations: Sequence[Citation], passage_count: int) -> list[int]:
    """Passage numbers the answer did not cite."""
    cited = {c.n for c in citations}
    return [n for n in range(1, passage_count + 1) if n not in cited]


#: Characters after "[" within which a marker must close (or it is text: "[see below ...").
_LONGEST_MARKER = 40


class CitationFilter:
    """Removes, as the answer streams, the citation numbers that name no passage: ``[7]`` of
    an answer given 4 passages, every ``[n]`` of one given none. The user never sees a
    citation with no source behind it (the view would make it a link to nothing). ``[1, 7]``
    becomes ``[1]``; a removed marker takes the space before it with it ("sid [7]." becomes
    "sid."). Code spans are left alone. Text is held back only while a "[" may still open a
    marker, or after a space that may precede one; ``flush`` gives what is held."""

    def __init__(self, passage_count: int) -> None:
        self.passage_count = passage_count
        self._space = ""
        self._bracket = ""
        self._backticks = 0
        self._started = False
        #: A marker was removed at the start of a line: the spaces after it go too.
        self._line_start = False

    def feed(self, text: str) -> str:
        return "".join(self._char(c) for c in text)

    def flush(self) -> str:
        held, self._space, self._bracket = self._space + self._bracket, "", ""
        self._started |= bool(held.strip())
        return held

    def _char(self, char: str) -> str:
        if self._bracket:
            if char in "]】":
                self._bracket += char
                return self._resolve()
            if char not in "\n[【" and len(self._bracket) < _LONGEST_MARKER:
                self._bracket += char
                return ""
            return self.flush() + self._char(char)
        in_code = self._backticks % 2 == 1
        if self._line_start and char in " \t":
            return ""
        self._line_start = False
        if char.isspace() and not in_code:
            self._space += char
            return ""
        if char in "[【" and not in_code:
            self._bracket = char
            return ""
        self._backticks += char == "`"
        out, self._space, self._started = self._space + char, "", True
        return out

    def _resolve(self) -> str:
        marker = _MARKER.fullmatch(self._bracket)
        if marker is None:
            return self.flush()
        numbers = _numbers_of(marker.group(1))
        valid = [n for n in numbers if 1 <= n <= self.passage_count]
        if len(valid) == len(numbers):
            return self.flush()
        space, self._space, self._bracket = self._space, "", ""
        if valid:
            self._started = True
            return space + "[" + ", ".join(map(str, valid)) + "]"
        self._line_start = "\n" in space or not self._started
        return space if "\n" in space else ""


def filter_citations(answer: str, passage_count: int) -> str:
    """``answer`` without the citation numbers that name none of ``passage_count`` passages
    (the same text a :class:`CitationFilter` streams)."""
    citation_filter = CitationFilter(passage_count)
    return citation_filter.feed(answer) + citation_filter.flush()


def strip_markers(answer: str) -> str:
    """``answer`` without any citation marker."""
    return filter_citations(answer, 0)
