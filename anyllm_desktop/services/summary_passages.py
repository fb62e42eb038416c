"""A document's summary as a passage of its own in the workspace's index, so chat finds it:
"what is this document about?", "compare these two reports".

A workflow's output step with ``summary: true`` (the built-in ``document-summary``, so also
``anyllm summarize`` and the Summarize quick action) keeps its report here when the run covered
one document. The summary is a row of the workspace's table like the document's passages, with
the document's id and chunk number ``SUMMARY_CHUNK`` (passages count from 0), embedded by the
workspace's own embedder and searchable by words and meaning. It goes with the document: a
changed file is indexed again under a new record and a removed one takes its rows along, so no
summary outlives the text it summarizes. A new summary of the same document replaces the last.
Counts of a document's passages (integrity checks, the documents panel) leave it out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anyllm_desktop.store.vectors import SUMMARY_CHUNK, PassageRow

if TYPE_CHECKING:
    from anyllm_desktop.core.workspace import Document, Workspace
    from anyllm_desktop.services.library import Library

#: The section a summary passage shows where a passage shows its heading.
SUMMARY_SECTION = "Summary of the whole document"


def keep_summary(library: Library, workspace: Workspace, document: Document, text: str) -> None:
    """Store ``text`` as ``document``'s summary passage (replacing an earlier one)."""
    embedder = library.embedder(workspace.embedding_model, workspace)
    with library.priority.foreground():
        vector = embedder.embed([text], 1)[0]
    table = library.table(workspace)
    vectors = library.vectors_for(workspace)
    vectors.delete_rows(table, document.id, SUMMARY_CHUNK)
    tokens = max(1, len(text) // 4)  # what the prompt counts again with the chat model
    row = PassageRow(document.id, SUMMARY_CHUNK, text, f"{document.title}: summary",
                     SUMMARY_SECTION, None, "", tokens, vector)  # fmt: skip
    vectors.add(table, [row])
    vectors.finish_writes(table)
