"""The support check: which sentences of a generated answer the passages do not back.

A small model answers fluently from passages it misread: "use ``install_package(name, path)``"
when the passage says ``R CMD INSTALL path/pkg_version.tar.gz``, or copies a passage that does
not answer. These checks catch that without another model call (a few milliseconds):

- **Claims that appear nowhere**: code spans, command-like tokens (``a_b``, ``a/b``, ``f()``,
  ``--flag``, ``pkg.tar.gz``, ``CMD``), numbers and names (a capitalised word that does not
  start the sentence) that no passage, passage header or the question contains.
- **No close passage sentence**: fewer than ``CLOSE_COVERAGE`` of the sentence's content words
  are in any one passage sentence together with the sentence after it.
- **Another command than the evidence's**: the sentence gives code or commands, the evidence
  (services/evidence.py) gives others, and they share none. Seen on the R FAQ: asked how to
  install from a local file, the model answered with ``library()``, a command of another
  passage, while the evidence said ``R CMD INSTALL path/pkg_version.tar.gz``.
- **No answer**: the answer gives none of the evidence's commands or numbers, and fewer than
  two of the evidence's words beyond the question's that few passage sentences hold (one when
  it adds a single word: "sid"; it is no answer when it adds nothing). The 135M model often
  answers by copying a passage's header or another passage's sentence ("This question will
  help you choose the stable version"): every word is in the documents, and it answers nothing.

Not checked, as they claim nothing: sentences that say the documents do not answer, sentences
of fewer than ``MIN_CONTENT_WORDS`` content words with no claim, and sentences whose words are
all the question's or a passage header's. The small model often begins by echoing a header
("[1] (Chapter 6. The Debian archives › 6.2 …)" or "The Debian archives, Chapter 6."): such a
line is taken out before the answer is split, so it neither counts as a sentence nor runs into
the next one (a header has no full stop). A lead-in that ends with ":" is checked together with
the line after it ("The species in the iris data are: setosa, versicolor").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from anyllm_desktop.core.answer_types import CODE_LIKE
from anyllm_desktop.core.citations import strip_markers
from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.sentences import content_words, split_sentences
from anyllm_desktop.services.evidence import PassageSentence

CLOSE_COVERAGE = 0.5
MIN_CONTENT_WORDS = 3
NOT_IN_DOCUMENTS = "not_in_documents"
NO_CLOSE_PASSAGE = "no_close_passage"
DIFFERS_FROM_EVIDENCE = "differs_from_evidence"
DOES_NOT_ANSWER = "does_not_answer"
#: An evidence word is specific when at most this share of the passages' sentences (or this
#: many) hold it.
SPECIFIC_SHARE = 0.2
SPECIFIC_AT_MOST = 2
#: Specific evidence words an answer must hold (fewer when it adds fewer to the question).
ANSWER_WORDS = 2

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_FENCED = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_TOKEN = re.compile(r"\S+")
_TRIM = "\"'“”‘’.,;:!?()[]{}<>*"
_TRIM_END = "\"'“”‘’.,;:!?"
#: Also a claim to check, but no command to compare (``FAQ``, ``CRAN``, ``grDevices``).
_COMMAND_LIKE = re.compile(rf"{CODE_LIKE.pattern}|[a-z][A-Z]|^[A-Z]{{2,}}$")
_NUMBER = re.compile(r"\d")
_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s+")
#: A passage header as the prompt writes it, "[2] (Debian FAQ, page 3, 6.2 Codenames)".
_HEADER_ECHO = re.compile(r"[\[【［]\s*\d+\s*[\]】］]\s*\(([^()\n]*)\)")
_DOES_NOT_ANSWER = re.compile(
    r"\b(?:do(?:es)?n[o'’]?t|do(?:es)? not|cannot|can't|no)\b.{0,40}"
    r"\b(?:answer|contain|mention|say|cover|information|know)",
    re.IGNORECASE,
)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _found(claim: str, haystack: str) -> bool:
    claim = _normal(claim)
    if not claim:
        return True
    if not re.search(r"\w", claim):
        return claim in haystack
    return re.search(rf"(?<!\w){re.escape(claim)}(?!\w)", haystack) is not None


def claims(sentence: str) -> list[str]:
    """Code spans, command-like tokens, numbers and names of ``sentence``, in order."""
    found = [m.group(1).strip() for m in _CODE_SPAN.finditer(sentence)]
    prose = _CODE_SPAN.sub(" ", sentence)
    for position, match in enumerate(_TOKEN.finditer(prose)):
        token = _trim(match.group())
        if not token or token in found:
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
    prose = _CODE_SPAN.sub(" ", text)
    found |= {c.lower() for c in claims(prose) if CODE_LIKE.search(c)}
    return found - {""}


def _trim(token: str) -> str:
    """A token without the punctuation around it; a call keeps its brackets: ``library()``."""
    token = token.strip(_TRIM_END).lstrip(_TRIM)
    return token if re.search(r"\w\([^()]*\)$", token) else token.strip(_TRIM)


def _answer_sentences(answer: str, echoes: frozenset[str]) -> list[str]:
    """The answer's sentences, citation markers and echoed headers removed (a line whose words
    are all in ``echoes``); a lead-in ending with ":" joined with what follows it; a fenced
    block's lines each count."""
    text = _HEADER_ECHO.sub(lambda m: "\n" if content_words(m.group(1)) <= echoes else m[0], answer)
    text = strip_markers(text)
    lines = [line for block in _FENCED.findall(text) for line in block.splitlines()]
    text = _FENCED.sub("\n\n", text)
    text = "\n".join("" if content_words(line) <= echoes else line for line in text.split("\n"))
    sentences: list[str] = []
    for piece in split_sentences(text):
        sentence = _LIST_MARKER.sub("", " ".join(piece.text.split()))
        if sentences and sentences[-1].endswith(":"):
            sentence = f"{sentences.pop()} {sentence}"
        sentences.append(sentence)
    return sentences + [f"`{line.strip()}`" for line in lines if line.strip()]


def _specific(
    quoted: str, asked: set[str], by_passage: Sequence[Sequence[PassageSentence]]
) -> set[str]:
    """The evidence's words beyond the question's that few passage sentences hold (at most a
    fifth of them, or two): sharing "version" with the evidence is no answer, "sid" is."""
    counts = Counter(w for group in by_passage for s in group for w in s.words)
    total = sum(len(group) for group in by_passage)
    most = max(SPECIFIC_AT_MOST, total * SPECIFIC_SHARE)
    return {w for w in content_words(quoted) - asked if counts[w] <= most}


def check_support(
    answer: str,
    question: str,
    passages: Sequence[Passage],
    by_passage: Sequence[Sequence[PassageSentence]],
    evidence: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The answer's unsupported sentences: ``{"sentence", "reason", "missing", "coverage"}``
    where ``reason`` is ``"not_in_documents"`` (``missing`` lists the claims no passage holds),
    ``"no_close_passage"`` or ``"differs_from_evidence"`` (``missing`` is empty: its commands,
    listed in ``"commands"``, are in the documents but none is the ``evidence``'s), and
    ``coverage`` is the best share of the sentence's content words found in one passage
    sentence (with the one after it)."""
    quoted = " ".join(evidence)
    quoted_commands, quoted_text = commands(quoted), _normal(quoted)
    haystack = _normal(
        "\n".join([question, *(f"{p.place} {p.section}\n{p.text}" for p in passages)])
    )
    windows = [
        group[i].words | (group[i + 1].words if i + 1 < len(group) else frozenset())
        for group in by_passage
        for i in range(len(group))
    ]
    asked = content_words(question)
    echoes = asked | {w for p in passages for w in content_words(f"{p.place} {p.section}")}
    unsupported, said, cited, declined = [], set(), set(), False
    sentences = dict.fromkeys(_answer_sentences(answer, frozenset(echoes)))  # repeats once
    for sentence in sentences:
        if _DOES_NOT_ANSWER.search(sentence):
            declined = True
            continue
        every = content_words(sentence)
        if every <= echoes:
            continue  # the question or a header said again
        said |= every - asked
        cited |= (given := commands(sentence)) & quoted_commands
        cited |= {c for c in claims(sentence) if _NUMBER.search(c) and _found(c, quoted_text)}
        words = content_words(_CODE_SPAN.sub(" ", sentence))
        missing = [c for c in claims(sentence) if not _found(c, haystack)]
        shares = (len(words & w) / len(words) for w in windows) if words else iter([1.0])
        coverage = max(shares, default=0.0)
        extra: dict[str, Any] = {}
        if missing:
            reason = NOT_IN_DOCUMENTS
        elif len(words) >= MIN_CONTENT_WORDS and coverage < CLOSE_COVERAGE:
            reason = NO_CLOSE_PASSAGE
        elif given and quoted_commands and not given & quoted_commands:
            reason, extra = DIFFERS_FROM_EVIDENCE, {"commands": sorted(given)}
        else:
            continue
        entry = {"sentence": sentence, "reason": reason, "missing": missing}
        unsupported.append(entry | {"coverage": round(coverage, 2)} | extra)
    # One shared word can be chance ("version"): two are needed when the answer adds two.
    shared = said & _specific(quoted, asked, by_passage)
    answered = cited or (said and len(shared) >= min(ANSWER_WORDS, len(said)))
    if evidence and not (unsupported or declined or answered):
        first = next(iter(sentences), "")
        unsupported.append(
            {"sentence": first, "reason": DOES_NOT_ANSWER, "missing": [], "coverage": 0.0}
        )
    return unsupported
