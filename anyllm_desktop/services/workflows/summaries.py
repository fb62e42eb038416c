"""A reduce's parts: many outputs combined in groups that fit the model, level by level, with
their citations kept.

Each map output enters as ``[p. 12–14, §3.2] its text`` (the piece's pages and first section;
the file name too when the map read several documents). A group is as many consecutive parts as
the reduce model's context holds beside its instruction and answer, counted with the model's own
tokenizer (a cloud provider's ``count_tokens`` is its estimate); groups are reduced, their
outputs become the next level's parts, until one remains. The prompt asks to keep the tags; an
output that kept none of its group's gets the group's span (``[p. 3–9, §Intro]``) appended, so
every level still says where its text came from. The result cites the tags its text holds.

A reduce with ``chapters: true`` groups the parts by chapter first (the shallowest level of the
document's outline with more than one heading; the document, when the map read several), so
each chapter's text comes from that chapter alone and keeps its citation whatever the model
does with the tags; an overview combines the chapters' texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

from anyllm_desktop.core.events import Event
from anyllm_desktop.ingest.chunking import SECTION_SEPARATOR
from anyllm_desktop.services.workflows.results import Citation

#: Tokens kept free beyond the answer (the chat template's tokens a count may miss).
SAFETY_TOKENS = 16
#: The fewest tokens a part may be cut to (a tag and a few words).
MIN_PART_TOKENS = 24
#: The most chapters a summary lists; more are joined in runs of neighbours ("A – C").
MAX_CHAPTERS = 24
SECTION_CHARS = 40
_TAG = re.compile(r"\[[^\[\]\n]{1,160}\]")


@dataclass(frozen=True)
class Part:
    """One output as the reduce reads it (its citation tags inside) and where it came from."""

    text: str
    citations: tuple[Citation, ...]


def tag(citation: Citation, with_document: bool = False) -> str:
    """``[p. 12–14, §3.2]``: the pages and the first section's heading, or without pages the
    first and last section's (``[§Install–§Usage]``), and the file name when asked."""
    bits = [citation.document] if with_document or not citation.pages + citation.sections else []
    if citation.pages:
        first, last = citation.pages[0], citation.pages[-1]
        bits.append(f"p. {first}" + (f"–{last}" if last != first else ""))
    shown = citation.sections[:1] + (() if citation.pages else citation.sections[-1:])
    heads = list(dict.fromkeys(_heading(s) for s in shown))
    if heads:
        bits.append("–".join(f"§{h}" for h in heads))
    return "[" + ", ".join(bits).replace("[", "(").replace("]", ")") + "]"


def _heading(section: str) -> str:
    """A section path's own heading ("Guide › Install" -> "Install"), cut at a word."""
    heading = " ".join(section.split(SECTION_SEPARATOR)[-1].split())
    if len(heading) <= SECTION_CHARS:
        return heading
    return heading[:SECTION_CHARS].rsplit(" ", 1)[0] + "…"


def merged(citations: Sequence[Citation]) -> tuple[Citation, ...]:
    """One citation per document for many: the union of its pages, its sections in order."""
    out = []
    for name in dict.fromkeys(c.document for c in citations):
        mine = [c for c in citations if c.document == name]
        pages = sorted({p for c in mine for p in c.pages})
        sections = list(dict.fromkeys(s for c in mine for s in c.sections))
        out.append(Citation(name, tuple(pages), tuple(sections)))
    return tuple(out)


class Tags:
    """The citations by their tag, to read back the ones a text holds."""

    def __init__(self, with_document: bool) -> None:
        self.with_document = with_document
        self.known: dict[str, Citation] = {}
        #: Combined outputs in which the model kept none of its inputs' tags.
        self.dropped = 0

    def add(self, citation: Citation) -> str:
        key = tag(citation, self.with_document)
        held = self.known.get(key)
        self.known[key] = merged([held, citation])[0] if held else citation
        return key

    def found(self, text: str) -> list[str]:
        return [t for t in dict.fromkeys(_TAG.findall(text)) if t in self.known]

    def cited(self, text: str) -> list[Citation]:
        return [self.known[t] for t in self.found(text)]

    def kept(self, output: str, group: Sequence[Part]) -> Part:
        """The group's output, given the group's span (per document) when the model dropped
        every tag."""
        citations = merged([c for p in group for c in p.citations])
        if not self.found(output):
            self.dropped += 1
            output = " ".join([output.rstrip(), *(self.add(c) for c in citations)])
        return Part(output, citations)


def groups(parts: Sequence[Part], cost: Callable[[Sequence[Part]], int],
           room: int) -> list[list[Part]]:  # fmt: skip
    """Consecutive parts in groups whose prompt (``cost``: its tokens) fits ``room``, at least
    two to a group where there are two, so every level at least halves their number (parts
    are cut to half the room beforehand, so two always fit)."""
    base = cost([])
    sizes = [max(1, cost([p]) - base) for p in parts]
    out: list[list[Part]] = [[]]
    used = base
    for part, size in zip(parts, sizes, strict=True):
        if len(out[-1]) > 1 and used + size > room:
            out.append([])
            used = base
        out[-1].append(part)
        used += size
    checked: list[list[Part]] = []
    for group in out:  # the sum of parts is an estimate of the whole: check it
        while len(group) > 2 and cost(group) > room:
            checked.append(group[: len(group) // 2])
            group = group[len(group) // 2 :]
        checked.append(group)
    return checked


def fitted(part: Part, tokens: int, limit: int) -> Part:
    """The part cut to about ``limit`` tokens (by its own characters a token)."""
    if tokens <= limit:
        return part
    keep = max(1, len(part.text) * limit // tokens)
    return Part(part.text[:keep].rstrip() + " …", part.citations)


def combined(parts: list[Part], count: Callable[[Sequence[Part]], int], room: int, tags: Tags,
             ask: Callable[[Sequence[Part], str], str],
             say: Callable[[str], Event]) -> Generator[Event, None, Part]:  # fmt: skip
    """``parts`` combined level by level to one: each level's groups fit ``room`` (by
    ``count``, the model's tokens), ``ask`` combines one group, ``say`` is the progress."""
    half, level = (room - count([])) // 2, 0
    while len(parts) > 1:
        level += 1
        parts = [fitted(p, count([p]) - count([]), half) for p in parts]
        grouped = groups(parts, count, room)
        parts = []
        for g, group in enumerate(grouped):
            yield say(f"level {level}, part {g + 1} of {len(grouped)}")
            if len(group) == 1:
                parts.append(group[0])
                continue
            parts.append(tags.kept(ask(group, f"level {level}"), group))
    return parts[0]


def chapters(citations: Sequence[Citation]) -> list[tuple[str, list[int]]]:
    """The parts (by index, in order) grouped by chapter, each with its heading: by document
    when there are several, else by the shallowest outline level at which consecutive parts'
    first sections differ (a title above every chapter is skipped). A part without a section
    joins the chapter before it (the first one, at the start). One group when there is no
    outline; at most ``MAX_CHAPTERS``, neighbours joined."""
    if len({c.document for c in citations}) > 1:
        keys = [c.document for c in citations]
    else:
        paths = [c.sections[0].split(SECTION_SEPARATOR) if c.sections else [] for c in citations]
        keys = [""] * len(citations)
        for level in range(max((len(p) for p in paths), default=0)):
            keys = [_heading(p[min(level, len(p) - 1)]) if p else "" for p in paths]
            if len({k for k in keys if k}) > 1:
                break
        known = next((k for k in keys if k), "")
        for i, key in enumerate(keys):  # a part without a section: the chapter it sits in
            keys[i] = known = key or known
    runs: list[tuple[str, list[int]]] = []
    for i, key in enumerate(keys):
        if runs and runs[-1][0] == key:
            runs[-1][1].append(i)
        else:
            runs.append((key, [i]))
    size = -(-len(runs) // MAX_CHAPTERS)  # neighbours joined so that at most MAX_CHAPTERS remain
    joined = [runs[i : i + size] for i in range(0, len(runs), size)]
    return [(run[0][0] if len(run) == 1 else f"{run[0][0]} – {run[-1][0]}",
             [i for _, ix in run for i in ix]) for run in joined]  # fmt: skip
