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


def cited_numbers(answer: str) -> list[int]:
    """Passage numbers cited in ``answer``, each once, in order of first mention."""
    text = _CODE.sub(" ", answer)
    numbers: list[int] = []
    for match in _MARKER.finditer(text):
        body = match.group(1)
        for part in re.split(r"\s*(?:,|;|and)\s*", body):
            bounds = [int(n) for n in _NUMBER.findall(part)]
            if len(bounds) == 2 and re.search(r"[-–]", part):
                low, high = sorted(bounds)
                span = list(range(low, high + 1)) if high - low <= _MAX_RANGE else []
            else:
                span = bounds
            numbers += [n for n in span if n not in numbers]
    return numbers


def link_citations(answer: str, passage_count: int) -> list[Citation]:
    """The answer's citations, each marked valid when it names one of ``passage_count``
    passages (numbered from 1)."""
    return [Citation(n, 1 <= n <= passage_count) for n in cited_numbers(answer)]


def uncited(citations: Sequence[Citation], passage_count: int) -> list[int]:
    """Passage numbers the answer did not cite."""
    cited = {c.n for c in citations}
    return [n for n in range(1, passage_count + 1) if n not in cited]
