"""Sentences of a passage or an answer, with their places in the text, and the words they carry.

Why not a library: spaCy (installed for unstructured) splits prose well with its rule-based
sentencizer, but importing it takes 0.9 s (measured on 2 cores), longer than the whole budget of
an answer's evidence, and it runs list items, numbered steps and code blocks together
("- Second item ends here\\n1." was one sentence). Documents here are manuals and FAQs full of
commands, so the split is by blocks first: a fenced code block gives one unit per line, a list
item or a command line starts its own unit, lines wrapped inside a paragraph (PDF text) are
joined. Prose is then split after ``.``, ``!`` or ``?`` followed by a space and a letter (also a
lower-case one: "... testing distribution. unstable is a symbolic link to sid" in the Debian
FAQ), a digit, a quote or a bracket, except after an abbreviation ("e.g.", "Dr.", "Fig.") or
an initial (a single letter after a capitalised word: "John F. Kennedy", but "written in R.
Then" ends).
A dot followed by anything but a space never ends a sentence: ``pkg_1.2.tar.gz``, ``5.1``.
A table row (cells joined by " | ", as the spreadsheet, slide and document parsers write them)
is a unit of its own: rows carry no punctuation and would otherwise run together as one
"sentence" of a whole sheet.

Words are matched by their Snowball stems (py_rust_stemmers, which fastembed brings; 0.5 µs a
word), so "stands"/"stand" and "installed"/"installation" meet, and irregular verb forms are
mapped to their base first ("wrote", "written" -> "write"): "Who wrote the Linux kernel?" has to
find "Linux is written by Linus Torvalds".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from py_rust_stemmers import SnowballStemmer

#: Longest unit kept whole (characters); a longer run without punctuation (a table, a dump) is
#: cut at word boundaries so no "sentence" is a page.
MAX_SENTENCE = 400

_FENCE = re.compile(r"\s*(```|~~~)")
_LIST_ITEM = re.compile(r"\s*(?:[-*•·▪–]|\d{1,3}[.)]|[a-zA-Z][.)])\s+")
#: Shell prompts and R/Python prompts that start a line of a command.
COMMAND_LINE = re.compile(r"\s*(?:\$|#|>|>>>|%|C:\\>)\s+\S")
#: A table row as the parsers render it: cells joined by " | ".
TABLE_ROW = re.compile(r"\S.*? \| ")
_END = re.compile(r"[.!?]+[\"')\]]*(?=\s+[\"'(\[`“‘A-Za-z0-9])")
_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs cf al dr mr mrs ms prof st sr jr fig figs no nos vol sec ch ca approx esp "
    "inc ltd co corp dept est jan feb mar apr jun jul aug sep sept oct nov dec p pp ed eds".split()
)
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing done down during each few for
    from further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our out over own same she
    should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you
    your yours use used using one get way may might must shall let""".split()
)


@dataclass(frozen=True)
class Sentence:
    """A sentence (or a command line, a list item) and where it is in its text: ``text`` is
    ``source[start:end]`` with inner line breaks kept, so the passage view can mark it."""

    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[Sentence]:
    """The text's sentences in order; blank text gives none."""
    sentences: list[Sentence] = []
    for start, end in _units(text):
        for s, e in _prose(text, start, end):
            sentences.extend(_bounded(text, s, e))
    return sentences


def _units(text: str) -> list[tuple[int, int]]:
    """Spans of paragraphs, list items, command lines and code lines."""
    units: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    in_fence = False
    offset = 0
    for line in text.splitlines(keepends=True):
        start, body = offset, line.rstrip("\r\n")
        offset += len(line)
        end = start + len(body)
        if _FENCE.match(body):
            in_fence = not in_fence
            current = _close(units, current)
            continue
        if not body.strip():
            current = _close(units, current)
            continue
        stripped_start = start + len(body) - len(body.lstrip())
        if in_fence or COMMAND_LINE.match(body) or TABLE_ROW.match(body.strip()):
            current = _close(units, current)
            units.append((stripped_start, end))
        elif _LIST_ITEM.match(body) or current is None:
            current = _close(units, current)
            current = (stripped_start, end)
        else:  # a wrapped line of the same paragraph
            current = (current[0], end)
    _close(units, current)
    return units


def _close(units: list[tuple[int, int]], current: tuple[int, int] | None) -> None:
    if current is not None:
        units.append(current)


def _prose(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of a unit (a list item's marker, "1.", does not end a sentence)."""
    spans = []
    begin = start
    marker = _LIST_ITEM.match(text, start, end)
    for match in _END.finditer(text, marker.end() if marker else start, end):
        if _is_abbreviation(text[begin : match.start() + 1]):
            continue
        spans.append((begin, match.end()))
        begin = match.end()
        while begin < end and text[begin].isspace():
            begin += 1
    if begin < end:
        spans.append((begin, end))
    return spans


def _is_abbreviation(before: str) -> bool:
    """Whether the dot that ends ``before`` closes an abbreviation or an initial."""
    if not before.endswith("."):
        return False
    words = before[:-1].split() or [""]
    word = words[-1].lstrip("(\"'“").lower()
    if len(word) == 1 and word.isalpha():
        # An initial ("J. Smith", "John F. Kennedy"), not a one-letter name ending a sentence
        # ("packages for R. The").
        return len(words) == 1 or words[-2][:1].isupper()
    return word in _ABBREVIATIONS


def _bounded(text: str, start: int, end: int) -> list[Sentence]:
    """The span as one sentence, or cut: a long run without full stops is a table or a list as
    PDF text gives it, so its lines come apart first (a heading starts a line: "Chapter 5
    PLATYPUS - Page Layout ..."), then a line still too long at word boundaries."""
    if end - start > MAX_SENTENCE and "\n" in text[start:end]:
        pieces, begin = [], start
        for line in text[start:end].split("\n"):
            pieces += _bounded(text, begin, begin + len(line))
            begin += len(line) + 1
        return pieces
    pieces = []
    while end - start > MAX_SENTENCE:
        cut = text.rfind(" ", start, start + MAX_SENTENCE)
        cut = cut if cut > start else start + MAX_SENTENCE
        pieces.append(Sentence(text[start:cut], start, cut))
        start = cut + 1
    if text[start:end].strip():
        pieces.append(Sentence(text[start:end], start, end))
    return pieces


_STEMMER = SnowballStemmer("english")
#: Irregular forms Snowball leaves apart from their base: the base, then its forms.
_IRREGULAR_FORMS = """write wrote written; run ran; build built; make made; find found;
give gave given; take took taken; know knew known; show shown; choose chose chosen;
begin began begun; hold held; keep kept; send sent; tell told; stand stood; feed fed;
draw drew drawn; break broke broken; speak spoke spoken; hide hid hidden; freeze froze frozen;
forget forgot forgotten; come came; become became; bring brought; think thought; buy bought;
lose lost; mean meant; pay paid; say said; see saw seen; go went gone; grow grew grown;
throw threw thrown; drive drove driven; rise rose risen; sell sold; teach taught;
understand understood; child children; person people"""
_IRREGULAR = {
    form: group.split()[0] for group in _IRREGULAR_FORMS.split(";") for form in group.split()[1:]
}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word's stem, lower case: "installed", "installation" -> "instal", "wrote",
    "written", "writes" -> "write"."""
    word = word.lower()
    return _STEMMER.stem_word(_IRREGULAR.get(word, word))


def content_words(text: str) -> set[str]:
    """Stems of the words that carry meaning (no stop words, no one-letter words)."""
    return {stem(w) for w in _WORD.findall(text) if len(w) > 1 and w.lower() not in STOPWORDS}


#: A sentence's end: its mark, closing quotes or brackets, and the citation tags after it.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?:\s*\[[^\[\]\n]{1,160}\])*(?=\s|$)")


def cut_to_sentence(text: str) -> str:
    """An answer cut at its token limit, ended at its last whole sentence (with the citation
    tags after it) rather than mid-word; marked "…" where no sentence ends in its last two
    thirds, so less than a third would be left."""
    text = text.rstrip()
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if ends and ends[-1] == len(text):
        return text
    if not ends or ends[-1] < len(text) // 3:
        return text + " …"
    return text[: ends[-1]]


def labelled_row(header: str, row: str) -> str:
    """A table row with its columns' names, "Header 1: C · Header 2: 6 · Header 3: Hello"
    (as it is, when the header row has another number of cells)."""
    names, cells = header.split(" | "), row.split(" | ")
    if len(names) != len(cells):
        return row
    return " · ".join(f"{n.strip()}: {c.strip()}" for n, c in zip(names, cells, strict=True))


def evidence_text(item: Mapping[str, Any]) -> str:
    """What a quoted piece of evidence reads as: its text, a table row with its columns'
    names (``item["columns"]``, its header row)."""
    text = str(item["text"]).strip()
    return labelled_row(item["columns"], text) if item.get("columns") else text
