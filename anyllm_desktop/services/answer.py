"""An answer as the user gets it: the JSON contract of `anyllm ask --json` (the text shown,
its citations, sources, evidence and support check), and the citations linked to passages."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

from anyllm_desktop.core.citations import link_citations
from anyllm_desktop.core.conversation import Message, Passage
from anyllm_desktop.core.prompting import Turn

#: Share of an uncited answer's words a passage must hold to be cited for it.
INFERRED_MIN_OVERLAP = 0.6
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Answer:
    """The JSON contract of `anyllm ask --json` (plus ids for the UI).

    ``answer`` is what the user is shown: the model's text without citation numbers that name
    no passage, after a plain statement when no passage matched; in query mode an answer with
    an unsupported sentence is replaced by its evidence and a statement that it could not be
    checked. ``generated``: the model's own text where it differs (else None).

    ``evidence``: the passages' sentences that answer the question, best first,
    ``{"n", "document", "path", "page", "text", "start", "end", "score"}``: ``n`` the passage
    number, ``start``/``end`` the sentence's place in that passage's ``text``.

    ``unsupported``: sentences of the generated text the passages do not back,
    ``{"sentence", "reason", "missing", "coverage"}``: ``reason`` is ``"not_in_documents"``
    (``missing``: the code spans, commands, numbers or names found in no passage),
    ``"no_close_passage"`` (no passage sentence holds half its content words) or
    ``"differs_from_evidence"`` (its ``"commands"`` are in the documents, none is the
    evidence's) or ``"does_not_answer"`` (nothing it adds to the question is among the
    evidence's specific words: a copy of another passage); ``coverage``: the best share of its
    content words held by one passage sentence.
    """

    answer: str
    citations: list[dict[str, Any]]
    thread: int
    provider: str
    model: str
    stopped: bool
    timings: dict[str, Any]
    message: int
    #: Every passage given to the model (shown as sources even when none is cited).
    sources: list[dict[str, Any]] = field(default_factory=list)
    #: Query mode found nothing relevant: the refusal message, the model was not called.
    refused: bool = False
    notes: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    unsupported: list[dict[str, Any]] = field(default_factory=list)
    generated: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _entry(n: int, passage: Passage | None, **flags: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"n": n, "valid": passage is not None, **flags}
    if passage is not None:
        entry |= {k: v for k, v in passage.to_dict().items() if k not in ("n", "score")}
    return entry


def citations_for(answer: str, passages: list[Passage]) -> list[dict[str, Any]]:
    """The answer's [n] citations with their passages; numbers that match none are flagged.

    Small local models often answer correctly from a passage without writing its number. Then
    the passage that holds most of the answer's words (at least INFERRED_MIN_OVERLAP of them)
    is cited, marked ``"inferred": true``, so the user still sees where the answer came from.
    """
    by_number = {p.n: p for p in passages}
    explicit = [_entry(c.n, by_number.get(c.n)) for c in link_citations(answer, len(passages))]
    if explicit or not passages:
        return explicit
    words = {w for w in _WORD.findall(answer.lower()) if len(w) > 2}
    if not words:
        return []
    shared = {p.n: len(words & set(_WORD.findall(p.text.lower()))) for p in passages}
    best = max(passages, key=lambda p: shared[p.n])
    return (
        [_entry(best.n, best, inferred=True)]
        if shared[best.n] / len(words) >= INFERRED_MIN_OVERLAP
        else []
    )


def history_of(messages: list[Message]) -> list[Turn]:
    """Question/answer pairs of a thread, in order (a question without an answer is skipped)."""
    turns = []
    for question, answer in pairwise(messages):
        if question.role == "user" and answer.role == "assistant" and answer.content:
            turns.append(Turn(question.content, question.sent_content, answer.content))
    return turns
