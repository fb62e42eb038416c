"""What the chat service adds around a generated answer so the user reads the right thing: the
evidence quoted from the passages, the support check, the plain word when no passage matched or
files are still being indexed, and in query mode the evidence instead of an unchecked answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.filenames import path_from_stored
from anyllm_desktop.core.sentences import evidence_text
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.services.evidence import EvidenceFinder
from anyllm_desktop.services.integrity import database_file
from anyllm_desktop.services.support_check import check_support
from anyllm_desktop.store.jobs import Jobs

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library

#: Queued jobs are among the newest; this many records are enough to find them.
JOBS_LOOKED_AT = 200
#: The first words of an answer given no passage (the model's own knowledge, chat mode).
NO_PASSAGE = "Nothing in your documents matches this question, so this answer is not from them:\n\n"
NOT_CHECKED = "The model's answer could not be checked against your documents, so it is not shown."


def indexing_note(library: Library, workspace: Workspace) -> str | None:
    """ "N files are still being indexed" while documents of the workspace are, or wait in a
    queued indexing job (their passages are not searched until they are done)."""
    count = len(library.records.interrupted(workspace.id))
    folders = 0
    store = Jobs(database_file(library.runtime.paths))
    try:
        queued = [j for j in store.recent(JOBS_LOOKED_AT) if j.kind == "ingest"
                  and j.state == "queued" and j.workspace_uid == workspace.uid]  # fmt: skip
    finally:
        store.close()
    for job in queued:
        paths = [path_from_stored(p) for p in job.params.get("paths", [])]
        count += sum(p.is_file() for p in paths)
        folders += sum(p.is_dir() for p in paths)
    if not count and not folders:
        return None
    files = "1 file" if count == 1 else f"{count} files"
    folder = "1 folder" if folders == 1 else f"{folders} folders"
    if count and folders:
        what = f"{files} and the files of {folder} are"
    elif folders:
        what = f"The files of {folder} are"
    else:
        what = "1 file is" if count == 1 else f"{files} are"
    return f"{what} still being indexed; this answer could not use them yet."


def evidence_finder(
    library: Library, workspace: Workspace, question: str, passages: Sequence[Passage]
) -> EvidenceFinder:
    """The question's evidence finder: candidates embedded by the workspace's embedder when
    it is local (ingestion waits meanwhile: the cores are the answer's); lexical only for a
    cloud one (no extra request leaves the machine for it)."""
    embed = None
    if passages:
        try:
            embedder = library.embedder(workspace.embedding_model, workspace)
        except ProviderError:
            embedder = None
        if embedder is not None and embedder.local:

            def embed(texts: list[str]) -> Any:
                # One by one: a batch pads every text to its longest, and the candidates of
                # the 88 kept answers embedded in 24.6 ms one by one against 28.8 ms batched.
                with library.priority.foreground():
                    return embedder.embed(texts, 1)

    return EvidenceFinder(question, passages, embed)


@dataclass(frozen=True)
class Checked:
    """The answer as shown, with its evidence and support check."""

    text: str
    #: The model's own text where ``text`` differs from it, else None.
    generated: str | None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    unsupported: list[dict[str, Any]] = field(default_factory=list)


def check(
    finder: EvidenceFinder,
    *,
    question: str,
    shown: str,
    generated: str,
    passages: Sequence[Passage],
    replace_unsupported: bool,
    refusal: str,
) -> Checked:
    """Evidence and support check of ``generated`` (``shown`` is what streamed: citations to
    no passage removed). With ``replace_unsupported`` (query mode), an answer with an
    unsupported sentence is replaced by the evidence and a plain statement."""
    evidence = finder.evidence(generated)
    quoted = [evidence_text(item) for item in evidence]  # a table row with its columns
    unsupported = check_support(
        generated, question, passages, finder.by_passage, quoted, idf=finder.idf
    )
    if replace_unsupported and unsupported and passages:
        shown = replacement(evidence, refusal)
    return Checked(shown, generated if shown != generated else None, evidence, unsupported)


def replacement(evidence: Sequence[dict[str, Any]], refusal: str) -> str:
    """The statement and the evidence quoted with its citation and place."""
    if not evidence:
        return f"{NOT_CHECKED} {refusal}"
    quotes = []
    for item in evidence:
        page = f", page {item['page']}" if item.get("page") is not None else ""
        quotes.append(f"> {evidence_text(item)} [{item['n']}] ({item['document']}{page})")
    return f"{NOT_CHECKED} From your documents:\n\n" + "\n>\n".join(quotes)
