"""What kind of text a question asks for, and whether a sentence holds some: the classic answer
type of factoid question answering, without a model.

"Who ..." wants a person's name, "when ..." a date, "how many ..." a number, "which file ..." a
path, "which package/command ...", "is there a tool/way ..." or "how do I ..." something to
type, "what is/was X?" (one word, no "the ... of") a sentence that says what X is ("bookworm
(Debian 12) was a green toy worm": on the answer benchmark "Toy Story" drew the rest). A
sentence that holds no such thing rarely answers, however many of the question's words it
repeats: "The purpose of these codenames is ..." against "... from a source specified in
/etc/apt/sources.list" for "Which file tells apt where to download packages from?". The
evidence finder adds a small weight for a sentence that holds text of the asked type that the
question does not already hold.
"""

from __future__ import annotations

import re
from itertools import pairwise

from anyllm_desktop.core.sentences import content_words

PERSON, DATE, NUMBER, PATH, CODE = "person", "date", "number", "path", "code"
DEFINITION = "definition"

#: Code-like on its own: ``a_b``, ``a/b``, ``f()``, ``--flag``, ``pkg.tar.gz``.
CODE_LIKE = re.compile(r"[_/\\=<>{}]|\w\(|^--?[a-zA-Z]|[a-zA-Z]\.[a-zA-Z]")
_THING = (
    r"package|packages|command|commands|program|tool|utility|option|flag|switch|function|"
    r"method|module|library|setting|variable|key|parameter|argument|script|binary"
)
_WHO = r"^\W*(?:who|whom|whose)\b|\b(?:which|what) (?:person|people|author)\b|\bby whom\b"
_WHEN = r"^\W*when\b|\b(?:what|which) (?:year|date|day|month|time)\b"
_HOW_MUCH = (
    r"\bhow (?:many|much|long|big|large|old|often|far|fast)\b|\b(?:what|which) (?:is the )?"
    r"(?:\w+ )?(?:number|size|value|amount|percentage|price|cost|total|version|port)\b"
)
_WHICH_FILE = r"\b(?:which|what) (?:\w+ )?(?:file|files|path|directory|folder)\b"
_WHAT_TO_TYPE = (
    rf"\b(?:which|what) (?:\w+ )?(?:{_THING})\b|^\W*how (?:do|can|should|would|to) "
    r"(?:i|you|we|one)\b|\bwhat (?:do|should|must) i (?:have to |need to )?"
    r"(?:type|run|enter|tell|use|set|write|put|add|pass|give|change)\b|"
    rf"^\W*is there (?:a|an|any) (?:\w+ )?(?:{_THING}|way)\b|\bif so,? how\b"
)
#: "What was bookworm in the Toy Story movie?", "What is Platypus?": one word, no "the ... of".
_WHAT_IS = r"^\W*what (?:is|was|are|were) (?:an? )?([A-Za-z][\w.+-]*)\s*(?:\?|$| in\b| for\b)"
_QUESTIONS = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (PERSON, _WHO), (DATE, _WHEN), (NUMBER, _HOW_MUCH), (PATH, _WHICH_FILE),
        (CODE, _WHAT_TO_TYPE), (DEFINITION, _WHAT_IS),
    )
)  # fmt: skip
_TOKEN = re.compile(r"\S+")
_QUESTION_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_TRIM = "\"'“”‘’.,;:!?()[]{}<>*`"
_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
_MONTH = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d", re.I)
_DIGIT = re.compile(r"\d")
_NAME = re.compile(r"^[A-Z][a-z]+$")
#: A lower-case name joined by hyphens, as packages are: ``intel-microcode``, ``apt-file``.
HYPHENATED = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")


def expected_type(question: str) -> str | None:
    """The kind of text the question asks for, or None (no clear kind). A question may begin
    with what the user is about ("I'm giving away an old USB stick. How do I wipe it?"): each
    of its sentences is looked at as well as the whole."""
    pieces = [question, *_QUESTION_SENTENCE.split(question.strip())[1:]]
    for kind, pattern in _QUESTIONS:
        if any(pattern.search(piece) for piece in pieces):
            return kind
    return None


def holds(kind: str, sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds text of ``kind`` that ``question`` does not hold."""
    asked = content_words(question)
    tokens = [t.strip(_TRIM) for t in _TOKEN.findall(sentence)]
    fresh = [t for t in tokens if t and not content_words(t) <= asked]
    if kind == DATE:
        return any(_YEAR.search(t) for t in fresh) or _MONTH.search(sentence) is not None
    if kind == NUMBER:
        return any(_DIGIT.search(t) for t in fresh)
    if kind == PATH:
        return any(re.search(r"[/\\]|\w\.\w{1,8}$", t) for t in fresh)
    if kind == DEFINITION:  # "bookworm (Debian 12) was a green toy worm ..."
        subject = re.search(_WHAT_IS, question, re.IGNORECASE)
        return subject is not None and re.search(
            rf"\b{re.escape(subject.group(1))}\b(?:\s*\([^()]*\))?\s+(?:is|was|are|were|means|stands)\b",
            sentence, re.IGNORECASE) is not None  # fmt: skip
    if kind == CODE:  # an option such as "-p" has no content word, and is fresh
        fresh += [t for t in tokens if t and not content_words(t)]
        return "`" in sentence or any(CODE_LIKE.search(t) or HYPHENATED.match(t) for t in fresh)
    # A person: a first and last name the question lacks ("Ian Murdock", "Bruce Perens").
    names = [bool(_NAME.match(t)) and t in fresh for t in tokens]
    return any(a and b for a, b in pairwise(names[1:]))
