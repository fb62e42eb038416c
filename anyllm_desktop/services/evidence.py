"""Evidence: the sentences of the retrieved passages that answer the question, quoted with the
answer so the user reads the source's words, not only the model's.

How a sentence is chosen (measured, tests/e2e/test_evidence_e2e.py):

1. Every passage is split into sentences (core/sentences.py); a sentence that ends with ":"
   keeps the line after it ("install it with:" is followed by the command).
2. Lexical relevance: the share of the question's content words (IDF-weighted over the
   passages' sentences, so "package" in every sentence counts little) that the sentence holds.
3. Agreement with the generated answer: the share of the answer's own words (those not in
   the question) that the sentence holds. The answer is not trusted, so this is the smallest
   weight: a wrong answer's words must not pull the evidence after them (the support check
   compares the answer with the evidence).
4. The best ``EMBEDDED_CANDIDATES`` by lexical relevance plus agreement are embedded with the
   question by the workspace's own embedder and re-ranked by cosine similarity, lexical
   relevance and agreement. Embedding is what costs: 10-25 ms a sentence of ~50 tokens with
   the int8 MiniLM on 2 cores (the higher figure while other work runs), so all 15-30
   sentences of 4 passages would take 0.3-0.7 s. Three candidates cut to 200 characters, and
   the question embedded apart (in one batch it is padded to the longest sentence: 134
   against 117 ms for 5 under load), keep the step near the ~50 ms budget. A cloud embedder
   is not asked (no new request, no new cost): lexical relevance and agreement alone then.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.sentences import Sentence, content_words, split_sentences

#: Texts in, L2-normalised rows out (an Embedder's ``embed``).
Embed = Callable[[list[str]], Any]

EMBEDDED_CANDIDATES = 3
#: Characters of a candidate that are embedded (longer ones only pad the batch).
EMBEDDED_CHARACTERS = 200
SIMILARITY_WEIGHT = 0.55
LEXICAL_WEIGHT = 0.45
AGREEMENT_WEIGHT = 0.2
#: Below this score the best sentence is no evidence at all.
MIN_SCORE = 0.3
#: Other sentences are quoted too when they score at least this share of the best.
CLOSE_TO_BEST = 0.85
MAX_EVIDENCE = 2
_FENCE_LINE = re.compile(r"^\s*(?:```|~~~).*$", re.MULTILINE)


@dataclass(frozen=True)
class PassageSentence:
    passage: Passage
    sentence: Sentence
    words: frozenset[str]

    @property
    def text(self) -> str:
        """The sentence on one line, without the fence of a code block it ran into."""
        return " ".join(_FENCE_LINE.sub("", self.sentence.text).split())


def passage_sentences(passages: Sequence[Passage]) -> list[list[PassageSentence]]:
    """Each passage's sentences; one that ends with ":" is joined with the one after it."""
    result = []
    for passage in passages:
        units = split_sentences(passage.text)
        merged: list[Sentence] = []
        for unit in units:
            if merged and merged[-1].text.rstrip().endswith(":"):
                last = merged.pop()
                unit = Sentence(passage.text[last.start : unit.end], last.start, unit.end)
            merged.append(unit)
        result.append(
            [PassageSentence(passage, s, frozenset(content_words(s.text))) for s in merged]
        )
    return result


def _idf(sentences: Sequence[PassageSentence]) -> dict[str, float]:
    counts = Counter(w for s in sentences for w in s.words)
    total = len(sentences)
    return {w: math.log((total + 1) / (c + 0.5)) for w, c in counts.items()}


def _weighted_share(wanted: set[str], held: frozenset[str], idf: dict[str, float]) -> float:
    """The IDF-weighted share of ``wanted`` that ``held`` holds (a word no sentence has
    weighs most)."""
    unseen = math.log((len(idf) + 1) / 0.5) if idf else 1.0
    total = sum(idf.get(w, unseen) for w in wanted)
    return sum(idf.get(w, unseen) for w in wanted & held) / total if total else 0.0


class EvidenceFinder:
    """The passages' sentences, scored against the question and the answer by ``evidence``."""

    def __init__(self, question: str, passages: Sequence[Passage], embed: Embed | None) -> None:
        self.question = question
        self.question_words = content_words(question)
        self.by_passage = passage_sentences(passages)
        self.sentences = [s for group in self.by_passage for s in group]
        self.idf = _idf(self.sentences)
        self.embed = embed

    def scores(self, answer: str) -> dict[int, float]:
        """Scores of the candidate sentences, by their index in ``sentences``."""
        own = content_words(answer) - self.question_words
        lexical, agreement = {}, {}
        for i, sentence in enumerate(self.sentences):
            lexical[i] = _weighted_share(self.question_words, sentence.words, self.idf)
            agreement[i] = AGREEMENT_WEIGHT * _weighted_share(own, sentence.words, self.idf)
        if self.embed is None:
            return {i: lexical[i] + agreement[i] for i in lexical}
        # Ties (no shared word at all) go to the higher-ranked passage: sorted() is stable.
        candidates = sorted(lexical, key=lambda i: -(lexical[i] + agreement[i]))
        candidates = candidates[:EMBEDDED_CANDIDATES]
        if not candidates:
            return {}
        texts = [self.sentences[i].text[:EMBEDDED_CHARACTERS] for i in candidates]
        similarity = self.embed(texts) @ self.embed([self.question])[0]
        return {
            i: SIMILARITY_WEIGHT * float(similarity[k]) + LEXICAL_WEIGHT * lexical[i] + agreement[i]
            for k, i in enumerate(candidates)
        }

    def evidence(self, answer: str) -> list[dict[str, Any]]:
        """The sentences to quote, best first: ``{"n", "document", "path", "page", "text",
        "start", "end", "score"}`` (``start``/``end``: where the sentence is in the passage's
        text, for marking it there). Empty when no sentence scores ``MIN_SCORE``."""
        scores = self.scores(answer)
        ranked = sorted(scores, key=lambda i: -scores[i])
        if not ranked or scores[ranked[0]] < MIN_SCORE:
            return []
        best = scores[ranked[0]]
        chosen = [i for i in ranked if scores[i] >= best * CLOSE_TO_BEST][:MAX_EVIDENCE]
        return [self._entry(self.sentences[i], scores[i]) for i in chosen]

    @staticmethod
    def _entry(item: PassageSentence, score: float) -> dict[str, Any]:
        passage = item.passage
        return {
            "n": passage.n,
            "document": passage.document,
            "path": passage.path,
            "page": passage.page,
            "text": item.text,
            "start": item.sentence.start,
            "end": item.sentence.end,
            "score": round(score, 4),
        }
