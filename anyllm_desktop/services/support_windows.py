"""What a sentence of an answer may draw on, for the support check (services/support_check.py):
windows of passage sentences (a sentence with the ones around it, a table's rows together), the
quoted evidence with the sentences around it, and the passage sentences on the question."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from anyllm_desktop.core.sentences import TABLE_ROW, content_words
from anyllm_desktop.services.evidence import PassageSentence, weighted_share

#: A passage sentence is on the question when it holds at least this share of what the one
#: that holds the question best holds (its words weighted by rarity).
ON_QUESTION = 0.85
#: The shortest passage sentence taken as a part of a quoted piece of evidence.
MIN_QUOTED = 20


def normal(text: str) -> str:
    """Lower case, whitespace collapsed: how texts are compared."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Window:
    """What one answer sentence may draw on: its content words and its text (lower case)."""

    words: frozenset[str]
    text: str


def passage_windows(
    by_passage: Sequence[Sequence[PassageSentence]], *, following: bool = True
) -> list[Window]:
    """A passage sentence with the ones before and after it (only the one after a heading, a
    lead-in or a table's header row unless ``following``), and a table's rows together
    ("setosa, versicolor and virginica" lists what one row each holds). A right answer often
    joins three sentences: the window of two flagged 20 of the 105 hand-written references,
    of three 17, with the same 88 of 99 wrong answers flagged."""
    windows = []
    for group in by_passage:
        table: list[PassageSentence] = []
        for i, unit in enumerate(group):
            if following:
                units = group[max(0, i - 1) : i + 2]
            else:
                units = group[i : i + 2] if unit.heading else [unit]
            windows.append(_window(units))
            if TABLE_ROW.match(unit.sentence.text):
                table.append(unit)
            elif table:
                windows.append(_window(table))
                table = []
        if table:
            windows.append(_window(table))
    return windows


def _window(units: Sequence[PassageSentence]) -> Window:
    words = frozenset().union(*(u.words for u in units))
    return Window(words, normal(" ".join(u.text for u in units)))


def around(
    evidence: Sequence[str], by_passage: Sequence[Sequence[PassageSentence]]
) -> list[Window]:
    """Each quoted piece of evidence with the passage sentences before and after it: a right
    answer goes on with what the passage says next ("... without the need to change BIOS
    settings." and then how an autorun program starts the installer)."""
    windows = []
    for quote in map(normal, evidence):
        for group in by_passage:
            inside = [
                i
                for i, unit in enumerate(group)
                if len(unit.text) >= MIN_QUOTED and normal(unit.text) in quote
            ]
            if inside:
                windows.append(_window(group[max(0, inside[0] - 1) : inside[-1] + 2]))
    return windows


def on_question(
    question: str,
    by_passage: Sequence[Sequence[PassageSentence]],
    idf: Mapping[str, float],
) -> list[Window]:
    """The passage sentences (a heading with the sentence after it, a table's rows together)
    that hold the question's words nearly as well as the best one does, the rarest words
    weighing most (services/evidence.py's lexical relevance)."""
    asked = content_words(question)
    windows = passage_windows(by_passage, following=False)
    shares = [weighted_share(asked, w.words, idf) for w in windows]
    best = max(shares, default=0.0)
    return [
        w for w, share in zip(windows, shares, strict=True) if best and share >= best * ON_QUESTION
    ]
