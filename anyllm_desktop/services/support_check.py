"""The support check: which sentences of a generated answer the passages do not back.

A small model answers fluently from passages it misread: "use ``install_package(name, path)``"
when the passage says ``R CMD INSTALL path/pkg_version.tar.gz``, or copies a passage that does
not answer. These checks catch that without another model call (a few milliseconds):

- **Claims that appear nowhere**: code spans, command-like tokens (``a_b``, ``a/b``, ``f()``,
  ``--flag``, ``pkg.tar.gz``, ``CMD``), numbers and names (a capitalised word that does not
  start the sentence) that no passage, passage header, document's file or folder name ("the
  FAQ") or the question contains. Code with several parts passes when its command and every part
  that is more than a plain word are there: ``dpkg --search filename`` (a model writes a
  placeholder where the documents write another); a number is not a piece of a longer one ("8"
  is not in "5.8").
- **No close passage sentence**: fewer than ``CLOSE_COVERAGE`` of the sentence's content words
  are in any one passage sentence together with the sentences around it, or in one table's rows
  together (a list of what the rows hold one each: "setosa, versicolor and virginica").
- **Another command than the evidence's**: the sentence gives code or commands, the evidence
  (services/evidence.py) gives others, and it names none of the sentence's (in code or in
  prose: ”bt” at the GDB prompt). Seen on the R FAQ: asked how to install from a local file,
  the model answered with ``library()``, a command of another passage, while the evidence
  said ``R CMD INSTALL path/pkg_version.tar.gz``.
- **No answer**: no sentence of the answer says what the evidence (with the passage sentences
  before and after it: a right answer goes on with what the passage says next) or a passage
  sentence on the question says (one that holds the question's words, the rarest weighing most,
  at least ``ON_QUESTION`` as well as the best one: the evidence can miss it): none gives one of
  their commands, numbers or hyphenated names, nor half of its words beyond the question's, nor
  a cell of a quoted table row that the question does not name ("sunflower" for "which feed
  corresponds to the weight 423?"). The 135M model often answers by copying a passage's header
  or another passage's sentence ("This question will help you choose the stable version"): every
  word is in the documents, and it answers nothing. Measured on right answers written by hand
  (bench_answers.py --reference), requiring two "specific" words of the evidence flagged 18 of
  38; this rule flags 2.

Not checked, as they claim nothing: sentences that say the documents do not answer, sentences
of fewer than ``MIN_CONTENT_WORDS`` content words with no claim, and sentences whose words are
all the question's or a passage header's, with no number or command of their own. The small
model often begins by echoing a header ("[1] (Chapter 6. The Debian archives › 6.2 …)" or "The
Debian archives, Chapter 6."): such a line is taken out before the answer is split, so it
neither counts as a sentence nor runs into the next one (a header has no full stop); a header
said again does answer when the evidence holds what it adds to the question (the section
"PLATYPUS - Page Layout and Typography Using Scripts" for "What does Platypus stand for?").
A lead-in that ends with ":" is checked together with the line after it ("The species in the
iris data are: setosa, versicolor").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from anyllm_desktop.core.answer_types import CODE_LIKE, HYPHENATED
from anyllm_desktop.core.citations import strip_markers
from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.sentences import TABLE_ROW, content_words, split_sentences
from anyllm_desktop.services.evidence import PassageSentence, idf_weights
from anyllm_desktop.services.support_windows import (
    Window,
    around,
    normal,
    on_question,
    passage_windows,
)

CLOSE_COVERAGE = 0.5
MIN_CONTENT_WORDS = 3
NOT_IN_DOCUMENTS = "not_in_documents"
NO_CLOSE_PASSAGE = "no_close_passage"
DIFFERS_FROM_EVIDENCE = "differs_from_evidence"
DOES_NOT_ANSWER = "does_not_answer"
#: How near a number must be to a word of the question to be what answers it.
NEAR_WORDS = 6

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
#: A code span with the word it starts ("`RL_`-prefixed"): taken out of the prose whole.
_CODE_WORD = re.compile(r"`[^`\n]+`[\w-]*")
#: "the FAQ's advice" claims "FAQ".
_POSSESSIVE = re.compile(r"['’]s$")
#: "e.g.", "i.e.": no claim, though a dot between letters looks like code.
_ABBREVIATION = re.compile(r"[a-z](?:\.[a-z])+\.?", re.IGNORECASE)
_FENCED = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_TOKEN = re.compile(r"\S+")
_TRIM = "\"'“”‘’.,;:!?()[]{}<>*`"
_TRIM_END = "\"'“”‘’.,;:!?`"
#: Also a claim to check, but no command to compare (``FAQ``, ``CRAN``, ``grDevices``).
_COMMAND_LIKE = re.compile(rf"{CODE_LIKE.pattern}|[a-z][A-Z]|^[A-Z]{{2,}}$")
_NUMBER = re.compile(r"\d")
#: Where code splits into parts: spaces, brackets, redirections, pipes, separators.
_CODE_PARTS = re.compile(r"[\s()\[\]{}<>|&;,=\"'`]+")
#: A plain lower-case word after a command stands for what the user types (``filename``).
_PLACEHOLDER = re.compile(r"[a-z]+")
_PREFIXES = frozenset({"sudo"})
_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s+")
#: A passage header as the prompt writes it, "[2] (Debian FAQ, page 3, 6.2 Codenames)".
#: A section may hold brackets of its own: "2.7 Coordinates (default user space)".
_HEADER_ECHO = re.compile(r"[\[【［]\s*\d+\s*[\]】］]\s*\(((?:[^()\n]|\([^()\n]*\))*)\)")
#: A quoted table row with its columns' names: "weight: 423 · feed: sunflower".
_LABELLED_CELL = re.compile(r"[^·:]+: [^·]* · ")
#: A cell that can tell a row from the others: a letter, or a number of two digits or more.
_TELLING_CELL = re.compile(r"[^\W\d]|\d\D*\d")
_DOES_NOT_ANSWER = re.compile(
    r"\b(?:do(?:es)?n[o'’]?t|do(?:es)? not|cannot|can't|no)\b.{0,40}"
    r"\b(?:answer|contain|mention|say|cover|information|know)",
    re.IGNORECASE,
)


def _found(claim: str, haystack: str) -> bool:
    claim = normal(claim)
    if not claim:
        return True
    if not re.search(r"\w", claim):
        return claim in haystack
    # A number is not a part of a longer one: "8" is not in "5.8" nor "8.1".
    before = r"(?<!\w)(?<!\d\.)" if claim[0].isdigit() else r"(?<!\w)"
    after = r"(?!\w)(?!\.\d)" if claim[-1].isdigit() else r"(?!\w)"
    return re.search(rf"{before}{re.escape(claim)}{after}", haystack) is not None


def _supported(claim: str, haystack: str) -> bool:
    """Whether the passages hold ``claim``: as written, or, for code with several parts, its
    command and every part that is more than a plain word (``dpkg --search filename``: a
    model writes a placeholder such as ``filename`` or ``> myselections`` where the documents
    write another or none; ``sudo`` before a command claims nothing)."""
    if _found(claim, haystack):
        return True
    parts = [p for p in (_trim(p) for p in _CODE_PARTS.split(claim)) if re.search(r"\w", p)]
    while parts and parts[0] in _PREFIXES:
        parts.pop(0)
    if not parts or parts == [claim]:
        return False
    needed = parts[:1] + [p for p in parts[1:] if not _PLACEHOLDER.fullmatch(p)]
    return all(_found(p, haystack) for p in needed)


def claims(sentence: str) -> list[str]:
    """Code spans, command-like tokens, numbers and names of ``sentence``, in order."""
    found = [m.group(1).strip() for m in _CODE_SPAN.finditer(sentence)]
    prose = _CODE_WORD.sub(" ", sentence)
    for position, match in enumerate(_TOKEN.finditer(prose)):
        token = _POSSESSIVE.sub("", _trim(match.group()))
        if not token or token in found or _ABBREVIATION.fullmatch(token):
            continue
        if (
            _COMMAND_LIKE.search(token)
            or _NUMBER.search(token)
            or (position > 0 and token[0].isupper() and token != "I")
        ):
            found.append(token)
    return found


def commands(text: str) -> set[str]:
    """The words of code spans and the code-like tokens of ``text``, lower case."""
    found = {_trim(t).lower() for span in _CODE_SPAN.findall(text) for t in span.split()}
    prose = _CODE_WORD.sub(" ", text)
    found |= {c.lower() for c in claims(prose) if CODE_LIKE.search(c)}
    return found - {""}


def _trim(token: str) -> str:
    """A token without the punctuation around it; a call keeps its brackets: ``library()``."""
    token = token.strip(_TRIM_END).lstrip(_TRIM)
    return token if re.search(r"\w\([^()]*\)$", token) else token.strip(_TRIM)


class _Claimed:
    """One answer sentence and what it claims, each worked out once."""

    def __init__(self, sentence: str) -> None:
        self.text = sentence
        self.claims = claims(sentence)
        self.commands = commands(sentence)
        hyphenated = {t for t in map(_trim, _TOKEN.findall(sentence)) if HYPHENATED.match(t)}
        #: What it gives that answers by itself: its commands, numbers and hyphenated names
        #: (``intel-microcode``, ``apt-file``), lower case.
        self.keys = (
            self.commands | {c.lower() for c in self.claims if _NUMBER.search(c)} | hyphenated
        )


@dataclass(frozen=True)
class _Echoes:
    """The question and the passage headers: what an answer may say again without claiming."""

    words: frozenset[str]
    text: str

    def said_again(self, sentence: _Claimed) -> bool:
        """Whether all of ``sentence``'s words are here, and any number or command it gives
        ("Jessie was the codename of Debian 8": "8" is the answer)."""
        if not content_words(sentence.text) <= self.words:
            return False
        return all(_found(k, self.text) for k in sentence.keys)


def _answer_sentences(answer: str, echoes: _Echoes) -> tuple[list[str], list[str]]:
    """The answer's sentences, citation markers and echoed headers removed (a line whose words
    are all in ``echoes``, returned apart); a lead-in ending with ":" joined with what follows
    it; a fenced block's lines each count."""
    text = _HEADER_ECHO.sub(
        lambda m: "\n" if content_words(m.group(1)) <= echoes.words else m[0], answer
    )
    text = strip_markers(text)
    lines = [line for block in _FENCED.findall(text) for line in block.splitlines()]
    text = _FENCED.sub("\n\n", text)
    kept = text.split("\n")
    echoed = [line for line in kept if echoes.said_again(_Claimed(line))]
    text = "\n".join("" if line in echoed else line for line in kept)
    sentences: list[str] = []
    for piece in split_sentences(text):
        sentence = _LIST_MARKER.sub("", " ".join(piece.text.split()))
        if sentences and sentences[-1].endswith(":"):
            sentence = f"{sentences.pop()} {sentence}"
        sentences.append(sentence)
    return sentences + [f"`{line.strip()}`" for line in lines if line.strip()], echoed


def _answers(said: set[str], keys: set[str], asked: set[str], windows: Sequence[Window]) -> bool:
    """Whether one of ``windows`` holds one of ``keys`` (a number only within ``NEAR_WORDS``
    words of one of the question's: a table of ports holds 20 and 993, "imaps 993" answers) or
    at least half of ``said`` (a sentence's words beyond the question's)."""
    for window in windows:
        if any(_found(k, window.text) for k in keys if not _NUMBER.search(k)):
            return True
        if any(_near(k, window.text, asked) for k in keys if _NUMBER.search(k)):
            return True
        if said and len(said & window.words) * 2 >= len(said):
            return True
    return False


def _cells(quoted: Sequence[str], asked_text: str) -> set[str]:
    """The cells of the quoted table rows ("423 | sunflower", or with its columns' names
    "weight: 423 · feed: sunflower") that the question does not name: a sentence that gives
    one answers a look-up ("The chick with weight 423 was in the sunflower feed group": most
    of its words are the user's, not the row's)."""
    found: set[str] = set()
    for text in quoted:
        if _LABELLED_CELL.match(text):
            found |= {cell.split(": ", 1)[-1] for cell in text.split(" · ")}
        elif TABLE_ROW.match(text):
            found |= set(text.split(" | "))
    cells = {normal(cell) for cell in found}
    # A lone digit ("0", "4") is in too many sentences to answer by itself.
    return {c for c in cells if _TELLING_CELL.search(c) and not _found(c, asked_text)}


def _echo_answers(line: str, asked: set[str], evidence: Window) -> bool:
    said = content_words(line) - asked
    return len(said) >= MIN_CONTENT_WORDS and said <= evidence.words


def _near(number: str, text: str, asked: set[str]) -> bool:
    tokens = text.split()
    for i, token in enumerate(tokens):
        if _found(number, token):
            around = tokens[max(0, i - NEAR_WORDS) : i + NEAR_WORDS + 1]
            if content_words(" ".join(around)) & asked:
                return True
    return False


def check_support(
    answer: str,
    question: str,
    passages: Sequence[Passage],
    by_passage: Sequence[Sequence[PassageSentence]],
    evidence: Sequence[str] = (),
    idf: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """The answer's unsupported sentences: ``{"sentence", "reason", "missing", "coverage"}``
    where ``reason`` is ``"not_in_documents"`` (``missing`` lists the claims no passage holds),
    ``"no_close_passage"``, ``"differs_from_evidence"`` (``missing`` is empty: its commands,
    listed in ``"commands"``, are in the documents but none is the ``evidence``'s) or
    ``"does_not_answer"`` (no sentence says what the evidence or a passage sentence on the
    question says), and ``coverage`` is the best share of the sentence's content words found
    in one passage sentence (with the ones around it). ``idf``: the passage words' weights
    (``EvidenceFinder.idf``), worked out from ``by_passage`` when not given."""
    quoted = " ".join(evidence)
    quoted_commands, quoted_text = commands(quoted), normal(quoted)
    asked_text = normal(question)
    echo_text = "\n".join([asked_text, *(normal(f"{p.place} {p.section}") for p in passages)])
    # A document's file and folder names are what the user knows it by ("the FAQ's advice"
    # of /usr/share/doc/debian/FAQ/support.en.html).
    names = (p.path for p in passages)
    haystack = normal("\n".join([echo_text, *names, *(p.text for p in passages)]))
    windows = passage_windows(by_passage)
    answering = [Window(frozenset(content_words(quoted)), quoted_text)]
    if idf is None:
        idf = idf_weights([s for group in by_passage for s in group])
    answering += on_question(question, by_passage, idf) + around(evidence, by_passage)
    asked = content_words(question)
    echoes = _Echoes(
        frozenset(asked | {w for p in passages for w in content_words(f"{p.place} {p.section}")}),
        echo_text,
    )
    unsupported, declined = [], False
    split, echoed = _answer_sentences(answer, echoes)
    sentences = dict.fromkeys(split)  # repeats once
    # A header said again claims nothing, but answers when the evidence holds all it adds to
    # the question ("Platypus stands for "Page Layout and Typography Using Scripts"": the
    # section's name).
    answered = any(_echo_answers(line, asked, answering[0]) for line in echoed)
    cells = _cells(evidence, asked_text)
    for sentence in sentences:
        if _DOES_NOT_ANSWER.search(sentence):
            declined = True
            continue
        claimed, sentence_text = _Claimed(sentence), normal(sentence)
        if echoes.said_again(claimed):
            continue  # the question or a header said again
        given, words = claimed.commands, content_words(_CODE_WORD.sub(" ", sentence))
        keys = {k for k in claimed.keys if not _found(k, asked_text)}  # what it adds
        said = {w for w in words - asked if not _NUMBER.search(w)}  # numbers: in keys
        answered = (
            answered
            or _answers(said, keys, asked, answering)
            or any(_found(c, sentence_text) for c in cells)
        )
        missing = [c for c in claimed.claims if not _supported(c, haystack)]
        shares = (len(words & w.words) / len(words) for w in windows) if words else iter([1.0])
        coverage = max(shares, default=0.0)
        extra: dict[str, Any] = {}
        if missing:
            reason = NOT_IN_DOCUMENTS
        elif len(words) >= MIN_CONTENT_WORDS and coverage < CLOSE_COVERAGE:
            reason = NO_CLOSE_PASSAGE
        elif (
            given
            and quoted_commands
            and not any(c in quoted_commands or _found(c, quoted_text) for c in given)
        ):
            reason, extra = DIFFERS_FROM_EVIDENCE, {"commands": sorted(given)}
        else:
            continue
        entry = {"sentence": sentence, "reason": reason, "missing": missing}
        unsupported.append(entry | {"coverage": round(coverage, 2)} | extra)
    if evidence and not (unsupported or declined or answered):
        first = next(iter(sentences), "")
        unsupported.append(
            {"sentence": first, "reason": DOES_NOT_ANSWER, "missing": [], "coverage": 0.0}
        )
    return unsupported
