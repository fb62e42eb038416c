"""Evidence: the sentences of the retrieved passages that answer the question, quoted with the
answer so the user reads the source's words, not only the model's.

How a sentence is chosen (measured, tests/e2e/test_evidence_e2e.py):

1. Every passage is split into sentences (core/sentences.py); a sentence that ends with ":"
   keeps the line after it ("install it with:" is followed by the command). A table row is a
   unit that also holds its header row's words (and the header row the section's: "the
   quakes sheet").
2. Lexical relevance: the share of the question's content words (IDF-weighted over the
   passages' sentences, so "package" in every sentence counts little) that the sentence holds,
   or ``NEXT_SENTENCE_WEIGHT`` of what it holds with the sentence after it, when more: a
   sentence that answers in the document's words is often followed by one in the user's
   ("… present in the #debian-live channel on irc.debian.org (OFTC). When asking a question on
   IRC, …" for "Is there a chat room where I can ask the developers a question?"). On the
   answer benchmark's 72 kept answers: evidence 52 → 54 of 65, wrong answers flagged 46 → 48
   of 56, right references flagged 11 → 9 of 65 (0.6 and 0.7 alike; 0.5 and 0.9 found less).
3. Agreement with the generated answer: the share of the answer's own words (those not in
   the question) that the sentence holds. The answer is not trusted, so this is the smallest
   weight: a wrong answer's words must not pull the evidence after them (the support check
   compares the answer with the evidence).
4. Answer type (core/answer_types.py): a sentence that holds text of the kind the question
   asks for — a person's name for "who", a date for "when", a number for "how many", a path
   for "which file", something to type for "which package" or "how do I" — gains
   ``ANSWER_TYPE_WEIGHT``, counted like agreement (the embedding does not scale it). On the
   answer benchmark's kept answers it turned 31 of 38 evidence hits into 33 (0.1 and 0.15
   alike; 0.2 and 0.3 lost one or two elsewhere).
   A table row with a cell the question names ("row C", "a Sepal.Length of 7.9") gains
   ``CELL_WEIGHT``, and ``COLUMN_WEIGHT`` when its header row has one ("the Header 3
   column"): a table's rows share their header's words, and a slide's table was beaten by
   prose about tables in a higher-ranked passage (the kept 120 answers: 90 to 92 of 105).
5. The passage's rank: ``RANK_WEIGHT`` / n for a sentence of passage [n], counted like
   agreement. The search ranks passages well (on the answer benchmark the first passage that
   states the answer is [1] for 67 of the 78 questions whose answer was retrieved); without
   it a sentence of [3] that shares a rare word with the question beat [1]'s answer.
6. The best ``EMBEDDED_CANDIDATES`` by all of the above, and the best ``QUESTION_CANDIDATES``
   by the question alone (lexical relevance and answer type: a wrong answer's words must not
   push the answering sentence out), are embedded with the question by the workspace's own
   embedder (what would be quoted, a lead-in with its command) and re-ranked by cosine
   similarity, lexical relevance, the passage's rank and agreement. Steps 4-6 and the
   lead-ins of code (7) took the 88 kept answers from 62 to 68 of 78 evidence hits, and the
   blind s20 batch (run once, after the change) from 6 to 10 of 13 against the old finder on
   the same answers. Embedding is what costs: 10-25 ms a sentence of ~50 tokens with the
   int8 MiniLM on 2 cores (the higher figure while other work runs), so all 15-30 sentences
   of 4 passages would take 0.3-0.7 s (and embedding 8 or 20 found less than 3). At most
   five candidates cut to 200 characters, embedded one by one (a batch pads each to its
   longest: 24.6 against 28.8 ms for the kept answers' candidates), the question apart (the
   search embedded it already: the embedder keeps a lone text's vector): live, on the 120
   questions, median 42 ms, p90 53 ms added per answer. A cloud embedder is not asked (no
   new request, no new cost): lexical relevance and agreement alone then.
7. What is quoted: the best sentence, with the one after it when it is a heading, a lead-in
   ("... by the following.", or any sentence of prose right before a command line or a code
   block), a question the document answers after it ("Where is the start angle of the first pie
   slice? The default is '90' …": blind batch s23) or a table's header row, or when the next one
   goes on about it ("This is ...": build-essential follows "a C/C++ compiler and some other
   essential packages"), and the sentences before it that its "This" or "It" refers to ("The
   chart below shows the WinAnsiEncoding. … This is the default encoding used by the Reportlab
   PDF Library.": the kept 120 answers, 92 to 93 of 105). Below ``MIN_SCORE`` the best is still
   quoted when it holds a word of the question (a spreadsheet's rows score little; "corrections"
   finds the FAQ's address). A table row comes with its header row's text (``"columns"``), shown
   as "mpg: 30.4 · cyl: 4 · …" and so compared by the support check
   (core/sentences.evidence_text).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from anyllm_desktop.core.answer_types import expected_type, holds
from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.sentences import (
    COMMAND_LINE,
    TABLE_ROW,
    Sentence,
    content_words,
    split_sentences,
)

#: Texts in, L2-normalised rows out (an Embedder's ``embed``).
Embed = Callable[[list[str]], Any]

EMBEDDED_CANDIDATES = 3
#: Also embedded: the best this many by the question alone, so that the words of a wrong
#: answer cannot push the answering sentence out of the candidates.
QUESTION_CANDIDATES = 2
#: Characters of a candidate that are embedded (longer ones only pad the batch).
EMBEDDED_CHARACTERS = 200
SIMILARITY_WEIGHT = 0.55
LEXICAL_WEIGHT = 0.45
AGREEMENT_WEIGHT = 0.2
#: What a sentence's lexical relevance with the sentence after it counts, against its own.
NEXT_SENTENCE_WEIGHT = 0.7
#: Added for a sentence that holds text of the kind the question asks for (core/answer_types).
ANSWER_TYPE_WEIGHT = 0.15
#: Added for a sentence of passage n, divided by n: the search ranks passages well.
RANK_WEIGHT = 0.2
#: Added for a table row with a cell that the question names ("row C", "a Sepal.Length of
#: 7.9", "52 horsepower"): the rows of one table share their header's words, and this is what
#: tells the asked one from its neighbours.
CELL_WEIGHT = 0.3
#: Added for a table row whose header row has a cell the question names ("the Header 3
#: column"): the asked table's rows over prose about tables.
COLUMN_WEIGHT = 0.15
#: The longest cell (in tokens) that a question is read for.
CELL_TOKENS = 4
#: Around a question's token that may name a cell.
_CELL_TRIM = "\"'“”‘’`.,;:!?()[]{}"
#: Below this score the best sentence is no evidence at all.
MIN_SCORE = 0.3
#: Other sentences are quoted too when they score at least this share of the best.
CLOSE_TO_BEST = 0.85
MAX_EVIDENCE = 2
_FENCE_LINE = re.compile(r"^\s*(?:```|~~~).*$", re.MULTILINE)
#: A heading is short and ends without a full stop; its answer is in what follows it.
HEADING_WORDS = 12
#: How many sentences a heading may take with it (a sheet's name, a table's header row).
MAX_FOLLOWING = 2
#: How many sentences before it a sentence that begins with "This", "It", ... may take.
MAX_LEADING = 3
#: A sentence whose subject is in the one before it: "This is the default encoding used by
#: the Reportlab PDF Library." names the encoding three sentences earlier.
_BEGINS_WITH_REFERENCE = re.compile(r"^\W*(?:this|these|that|those|it|they|such)\b", re.I)
_ENDS_SENTENCE = re.compile(r"[.!?;][\"')\]]*\s*$")
#: A sentence that announces what follows it: "... by the following.", "... as follows.", "The
#: following sets system and hardware time to MM/DD hh:mm, CCYY." (then the commands).
_LEAD_IN = re.compile(
    r"\b(?:following|follows|below)\s*[.:]?\s*$|^\W*the following\b", re.IGNORECASE
)
#: A question in the document: its answer is the sentence after it ("startAngle Where is the
#: start angle of the first pie slice?" then "The default is '90' which is twelve o'clock.").
_ASKS = re.compile(r"\?[\"')\]”’]*\s*$")
#: A sentence that goes on about the one before it: "This is ...", "... install this
#: environment ..." within its first words.
_REFERS_BACK = re.compile(r"^(?:\W*\w+\W+){0,4}?(?:this|these|that|those|such|it|they|them)\b",
                          re.IGNORECASE)  # fmt: skip


@dataclass(frozen=True)
class PassageSentence:
    passage: Passage
    sentence: Sentence
    words: frozenset[str]
    #: A heading, a lead-in or a table's header row: quoted with the sentence after it.
    heading: bool = False
    #: A table row under a header row: the header row's text ("" for any other sentence).
    header: str = ""

    @property
    def text(self) -> str:
        """The sentence on one line, without the fence of a code block it ran into."""
        return " ".join(_FENCE_LINE.sub("", self.sentence.text).split())


def passage_sentences(passages: Sequence[Passage]) -> list[list[PassageSentence]]:
    """Each passage's sentences; one that ends with ":" is joined with the one after it. A
    table row (cells joined by " | ") also holds the words of its table's header row, the
    first row of the run (the chunker repeats it atop every piece of a table): "Which feed
    types..." finds the rows under "weight | feed"; the header row also holds the words of
    the passage's section, the sheet or slide the table is on ("the quakes sheet")."""
    result = []
    for passage in passages:
        merged: list[Sentence] = []
        for unit in split_sentences(passage.text):
            if merged and merged[-1].text.rstrip().endswith(":"):
                last = merged.pop()
                unit = Sentence(passage.text[last.start : unit.end], last.start, unit.end)
            merged.append(unit)
        group: list[PassageSentence] = []
        header: frozenset[str] | None = None
        header_text = ""
        for k, unit in enumerate(merged):
            words = _words(unit.text)
            row = TABLE_ROW.match(unit.text) is not None
            # The header row again, atop the next chunk of a passage joined with its neighbour.
            if row and header is not None and unit.text != header_text:
                group.append(PassageSentence(passage, unit, words | header, header=header_text))
                continue
            header, header_text = (words, unit.text) if row else (None, "")
            if row:  # it names the columns of what the section (a sheet, a slide) is about
                words |= content_words(passage.section)
            following = merged[k + 1] if k + 1 < len(merged) else None
            heading = row or _is_heading(unit.text) or _introduces_code(passage, unit, following)
            group.append(PassageSentence(passage, unit, words, heading))
        result.append(group)
    return result


def _cell_key(text: str) -> str:
    """A cell or a run of the question's tokens as they are compared: a letter as written
    ("row C"), the rest lower case, without the punctuation around each token."""
    tokens = (t.strip(_CELL_TRIM) for t in text.split())
    return " ".join(t if len(t) == 1 and t.isupper() else t.lower() for t in tokens if t)


def _named_cells(question: str) -> frozenset[str]:
    """What a cell the question names may read: a run of up to ``CELL_TOKENS`` of its tokens
    ("Header 3", "Sepal.Length", "7.9", "C") that holds a number, a capital letter alone or a
    word that is not a stop word."""
    tokens = _cell_key(question).split()
    runs = {
        " ".join(tokens[i : i + n])
        for n in range(1, CELL_TOKENS + 1)
        for i in range(len(tokens) - n + 1)
    }
    return frozenset(r for r in runs if _may_name(r))


def _may_name(cell: str) -> bool:
    return (
        any(c.isdigit() for c in cell)
        or (len(cell) == 1 and cell.isupper())
        or (len(cell) > 2 and bool(content_words(cell)))
    )


def _cells(row: str) -> set[str]:
    """A table row's cells, keyed as ``_cell_key`` keys them."""
    return {_cell_key(c) for c in row.split(" | ")}


def _introduces_code(passage: Passage, unit: Sentence, following: Sentence | None) -> bool:
    """Whether ``unit`` is prose right before a command line or a code block: it introduces
    it, full stop or not ("Now, as superuser, build the image, saving a log as you build with
    tee." then ``# lb build 2>&1 | tee build.log``), and is quoted with the code after it."""
    if following is None or COMMAND_LINE.match(unit.text):
        return False
    between = passage.text[unit.end : following.start]
    return bool(COMMAND_LINE.match(following.text) or _FENCE_LINE.search(between))


def _words(text: str) -> frozenset[str]:
    """The content words of a passage sentence, a hyphenated word also by its parts: "cat
    some-binary-file" holds the "binary file" of the question (on the answer benchmark this
    found "reset" for "My terminal shows garbage after I printed a binary file")."""
    return frozenset(content_words(text) | content_words(text.replace("-", " ")))


def _is_heading(text: str) -> bool:
    """A heading, a lead-in that announces the next sentence, or a question the document
    answers after it."""
    if _LEAD_IN.search(text) or _ASKS.search(text):
        return True
    return len(text.split()) <= HEADING_WORDS and not _ENDS_SENTENCE.search(text)


def idf_weights(sentences: Sequence[PassageSentence]) -> dict[str, float]:
    counts = Counter(w for s in sentences for w in s.words)
    total = len(sentences)
    return {w: math.log((total + 1) / (c + 0.5)) for w, c in counts.items()}


def weighted_share(wanted: set[str], held: frozenset[str], idf: Mapping[str, float]) -> float:
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
        self.idf = idf_weights(self.sentences)
        self.lexical = [self._lexical(i) for i in range(len(self.sentences))]
        self.embed = embed
        kind = expected_type(question)
        # What is quoted for a sentence (a lead-in with its command) holds the asked type.
        self.quoted = [self._following(i) for i in range(len(self.sentences))]
        self.typed = [
            ANSWER_TYPE_WEIGHT if kind and holds(kind, self._text(i), question) else 0.0
            for i in range(len(self.sentences))
        ]
        self.ranked = [RANK_WEIGHT / max(1, s.passage.n) for s in self.sentences]
        named = _named_cells(question)
        self.cells = [
            (CELL_WEIGHT if named & _cells(s.text) else 0.0)
            + (COLUMN_WEIGHT if named & _cells(s.header) else 0.0)
            if s.header
            else 0.0
            for s in self.sentences
        ]

    def _lexical(self, i: int) -> float:
        sentence, asked = self.sentences[i], self.question_words
        own = weighted_share(asked, sentence.words, self.idf)
        if i + 1 == len(self.sentences) or self.sentences[i + 1].passage is not sentence.passage:
            return own
        both = sentence.words | self.sentences[i + 1].words
        return max(own, NEXT_SENTENCE_WEIGHT * weighted_share(asked, both, self.idf))

    def scores(self, answer: str) -> dict[int, float]:
        """Scores of the candidate sentences, by their index in ``sentences``."""
        own = content_words(answer) - self.question_words
        lexical = dict(enumerate(self.lexical))
        # Holding what the question asks for, the passage's rank and agreement count alike
        # with or without the embedding.
        asked = {i: self.typed[i] + self.cells[i] + self.ranked[i] for i in lexical}
        agreement = {
            i: AGREEMENT_WEIGHT * weighted_share(own, s.words, self.idf)
            for i, s in enumerate(self.sentences)
        }
        if self.embed is None:
            return {i: lexical[i] + asked[i] + agreement[i] for i in lexical}
        # Ties (no shared word at all) go to the higher-ranked passage: sorted() is stable.
        by_answer = sorted(lexical, key=lambda i: -(lexical[i] + asked[i] + agreement[i]))
        by_question = sorted(lexical, key=lambda i: -(lexical[i] + self.typed[i] + self.cells[i]))
        candidates = by_answer[:EMBEDDED_CANDIDATES]
        candidates += [i for i in by_question[:QUESTION_CANDIDATES] if i not in candidates]
        if not candidates:
            return {}
        texts = [self._text(i)[:EMBEDDED_CHARACTERS] for i in candidates]
        similarity = self.embed(texts) @ self.embed([self.question])[0]
        return {
            i: SIMILARITY_WEIGHT * float(similarity[k])
            + LEXICAL_WEIGHT * lexical[i]
            + asked[i]
            + agreement[i]
            for k, i in enumerate(candidates)
        }

    def evidence(self, answer: str) -> list[dict[str, Any]]:
        """The sentences to quote, best first: ``{"n", "document", "path", "page", "text",
        "start", "end", "score"}`` (``start``/``end``: where the sentence is in the passage's
        text, for marking it there). A heading, a lead-in or a table header is quoted with the
        sentence after it. Empty when no sentence scores ``MIN_SCORE`` and none holds a word
        of the question."""
        scores = self.scores(answer)
        ranked = sorted(scores, key=lambda i: -scores[i])
        if not ranked:
            return []
        best = scores[ranked[0]]
        if best < MIN_SCORE and not self.sentences[ranked[0]].words & self.question_words:
            return []
        chosen = [i for i in ranked if scores[i] >= best * CLOSE_TO_BEST][:MAX_EVIDENCE]
        return [self._entry(i, scores[i]) for i in chosen]

    def _following(self, i: int) -> int:
        """The last sentence quoted with sentence ``i``: a sheet's name is a heading, then the
        table's header row, and both take the next one; the sentence after one that goes on
        about it is quoted too (one such, at most)."""
        last = i
        for j in range(i + 1, min(i + 1 + MAX_FOLLOWING, len(self.sentences))):
            following = self.sentences[j]
            if following.passage is not self.sentences[i].passage or not (
                self.sentences[j - 1].heading
                or (j == i + 1 and _REFERS_BACK.match(following.sentence.text))
            ):
                break
            last = j
        return last

    def _text(self, i: int) -> str:
        return " ".join(s.text for s in self.sentences[i : self.quoted[i] + 1])

    def _leading(self, i: int) -> int:
        """The first sentence quoted with sentence ``i``: the ones before it that its "This"
        or "It" refers to, back to one that does not begin so (``MAX_LEADING`` at most)."""
        first = i
        while (
            i - first < MAX_LEADING
            and first > 0
            and _BEGINS_WITH_REFERENCE.match(self.sentences[first].sentence.text)
            and self.sentences[first - 1].passage is self.sentences[i].passage
            and not self.sentences[first - 1].heading
        ):
            first -= 1
        return first

    def _entry(self, i: int, score: float) -> dict[str, Any]:
        """Also ``"columns"`` for a table row far from its header row: the header's text."""
        item, last = self.sentences[i], self.sentences[self.quoted[i]]
        first = self._leading(i)
        entry = {
            "n": item.passage.n,
            "document": item.passage.document,
            "path": item.passage.path,
            "page": item.passage.page,
            "text": " ".join([*(s.text for s in self.sentences[first:i]), self._text(i)]),
            "start": self.sentences[first].sentence.start,
            "end": last.sentence.end,
            "score": round(score, 4),
        }
        return entry | ({"columns": item.header} if item.header else {})
