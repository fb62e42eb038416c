"""What a workflow runs over: the workspace's chosen documents, each read back from its
indexed passages (in order, with their pages and sections for citations), or the given text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.workflow_spec import DocumentSelection, WorkflowSpec
from anyllm_desktop.core.workspace import Document, Workspace
from anyllm_desktop.services.retrieval import join_overlapping
from anyllm_desktop.services.workflows.results import Citation

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library

#: Characters a token, to keep a document within a step's budget (English prose, BPE).
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Item:
    """One document (or the input text) as a map step's sub-steps see it."""

    name: str
    text: str
    citation: Citation
    metadata: dict[str, Any]
    #: Only the first part was read (longer than the map's max_document_tokens), or, for a
    #: section, its one passage was longer than that and was cut.
    truncated: bool = False

    def scope(self) -> dict[str, Any]:
        return {**self.metadata, "text": self.text, "name": self.name}


class InputProblem(ValueError):
    """The documents asked for are not in the workspace (the message names them)."""


def file_name(document: Document) -> str:
    return Path(document.path).name or document.title


def choose(documents: list[Document], selection: DocumentSelection,
           names: list[str] | None = None) -> list[Document]:  # fmt: skip
    """The indexed documents the workflow (or ``names``: file names, titles or ids) asks for."""
    indexed = [d for d in documents if d.status == "indexed"]
    if names is None and selection.mode == "glob":
        return [d for d in indexed if fnmatch(file_name(d), selection.glob)]
    wanted = names if names is not None else list(selection.names)
    if names is None and selection.mode == "all":
        return indexed
    chosen, missing = [], []
    for name in wanted:
        found = [d for d in indexed if name in (file_name(d), d.title, str(d.id))]
        chosen += [d for d in found if d not in chosen]
        if not found:
            missing.append(name)
    if missing:
        known = ", ".join(file_name(d) for d in indexed) or "none indexed"
        raise InputProblem(f"No indexed document is named {', '.join(missing)} "
                           f"(documents: {known}).")  # fmt: skip
    return chosen


def text_item(spec: WorkflowSpec) -> Item:
    text = spec.text or ""
    return Item("text", text, Citation("text"), {"title": "text", "path": "", "kind": "text",
                                                 "pages": None})  # fmt: skip


def _metadata(document: Document) -> dict[str, Any]:
    return {"title": document.title, "path": document.path, "kind": document.kind,
            "pages": document.pages}  # fmt: skip


def _piece(name: str, hits: list[Any], budget: int | None, metadata: dict[str, Any],
           more: bool) -> Item:  # fmt: skip
    """Consecutive passages as one text (their overlaps written once), cut at ``budget``
    characters (None: not cut), citing their pages and sections."""
    text, pages, sections = "", [], []
    for hit in hits:
        text = join_overlapping(text, hit.text) if text else hit.text
        if hit.page is not None and hit.page not in pages:
            pages.append(hit.page)
        if hit.section and hit.section not in sections:
            sections.append(hit.section)
    truncated = more or (budget is not None and len(text) > budget)
    return Item(name, text[:budget], Citation(name, tuple(sorted(pages)), tuple(sections)),
                metadata, truncated)  # fmt: skip


def _passages(library: Library, workspace: Workspace, document: Document) -> list[Any]:
    """The document's passages in document order."""
    table = library.table(workspace, create=False)
    hits = library.vectors_for(workspace).passages(table, document.id, range(document.chunks))
    return [hits[chunk] for chunk in sorted(hits)]


def _packed(hits: list[Any], budget: int) -> list[list[Any]]:
    """Consecutive passages in groups of about ``budget`` characters at most (a longer passage
    is a group of its own)."""
    groups: list[list[Any]] = [[]]
    text = ""
    for hit in hits:
        if text and len(text) + len(hit.text) > budget:
            groups.append([])
            text = ""
        groups[-1].append(hit)
        text = join_overlapping(text, hit.text) if text else hit.text
    return [g for g in groups if g]


def read_document(library: Library, workspace: Workspace, document: Document,
                  budget_tokens: int) -> Item:  # fmt: skip
    """The document's text from its passages, the first ``budget_tokens`` (about) of it
    (``truncated`` when there was more: a map ``over: sections`` reads all of it)."""
    packed = _packed(_passages(library, workspace, document), budget_tokens * CHARS_PER_TOKEN)
    first = packed[0] if packed else []
    return _piece(file_name(document), first, budget_tokens * CHARS_PER_TOKEN,
                  _metadata(document), more=len(packed) > 1)  # fmt: skip


def read_sections(library: Library, workspace: Workspace, document: Document,
                  budget_tokens: int, count: Callable[[str], int]) -> list[Item]:  # fmt: skip
    """The whole document as section-sized pieces in document order: consecutive passages up
    to ``budget_tokens`` each by ``count`` (the model's tokens of a text; the embedded model
    makes ~4.4 characters a token of English prose but ~3.2 of Markdown with code, HTML or
    French, so CHARS_PER_TOKEN would overfill a piece), each citing its pages and sections."""
    name, metadata = file_name(document), _metadata(document)
    hits = _passages(library, workspace, document)
    sizes = [max(1, count(hit.text)) for hit in hits]
    groups: list[list[int]] = [[]]
    used = 0
    for index, size in enumerate(sizes):
        if groups[-1] and used + size > budget_tokens:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += size
    pieces = []
    for group in (g for g in groups if g):
        first = group[0]
        # One passage over the budget is cut to it (by its own characters a token).
        over = len(group) == 1 and sizes[first] > budget_tokens
        chars = len(hits[first].text) * budget_tokens // sizes[first] if over else None
        pieces.append(_piece(name, [hits[i] for i in group], chars, metadata, more=False))
    return pieces
