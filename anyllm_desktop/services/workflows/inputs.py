"""What a workflow runs over: the workspace's chosen documents, each read back from its
indexed passages (in order, with their pages and sections for citations), or the given text."""

from __future__ import annotations

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
    #: Only the first part was read (longer than the map's max_document_tokens).
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


def read_document(library: Library, workspace: Workspace, document: Document,
                  budget_tokens: int) -> Item:  # fmt: skip
    """The document's text from its passages, the first ``budget_tokens`` (about) of it.

    TODO(issue 16): a longer document is cut here; hierarchical map/reduce summaries over
    section-sized pieces come next.
    """
    table = library.table(workspace, create=False)
    hits = library.vectors.passages(table, document.id, range(document.chunks))
    budget = budget_tokens * CHARS_PER_TOKEN
    text, pages, sections = "", [], []
    used = 0
    for chunk in sorted(hits):
        hit = hits[chunk]
        if text and len(text) + len(hit.text) > budget:
            break
        text = join_overlapping(text, hit.text) if text else hit.text
        used += 1
        if hit.page is not None and hit.page not in pages:
            pages.append(hit.page)
        if hit.section and hit.section not in sections:
            sections.append(hit.section)
    truncated = used < len(hits)
    if len(text) > budget:
        text, truncated = text[:budget], True
    metadata = {"title": document.title, "path": document.path, "kind": document.kind,
                "pages": document.pages}  # fmt: skip
    name = file_name(document)
    return Item(name, text, Citation(name, tuple(sorted(pages)), tuple(sections)), metadata,
                truncated)  # fmt: skip
