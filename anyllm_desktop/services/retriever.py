"""Finding the passages that answer a question: hybrid search, the best passage joined with its
neighbours, places kept for the embedding model's best, near-duplicates collapsed.

The seams for what comes next: ``rewriters`` turn the question into the query that is searched
(a spelling fix, an expansion by a model), and a ``reranker`` re-orders the results (a
cross-encoder, a model's judgment). Both see the workspace, so a setting can switch them on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.workspace import RetrievalSettings, Workspace
from anyllm_desktop.services.index_health import IndexProblem, index_errors
from anyllm_desktop.services.retrieval import (
    CANDIDATES_PER_RESULT,
    MIN_CANDIDATES,
    VECTOR_PLACES,
    collapse_near_duplicates,
    fuse,
    join_overlapping,
    keep_places,
)
from anyllm_desktop.store.vectors import Hit, VectorStore

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library


@dataclass(frozen=True)
class SearchResult:
    rank: int
    #: Fused score, 0..1 (higher is better): cosine similarity and normalised BM25 combined.
    score: float
    #: Cosine similarity of the passage to the query.
    similarity: float
    document: str
    path: str
    #: 1-based page (PDF), slide (PPTX) or sheet number; None where there is none.
    page: int | None
    section: str
    sheet: str
    text: str
    doc_id: int
    chunk: int

    def to_json(self) -> dict[str, object]:
        """As ``anyllm search --json`` and the MCP ``search`` tool give it."""
        shown = ("rank", "score", "similarity", "document", "path", "page", "section", "text")
        return {name: getattr(self, name) for name in shown} | {"sheet": self.sheet or None}


QueryRewriter = Callable[[Workspace, str], str]
Reranker = Callable[[Workspace, str, list[SearchResult]], list[SearchResult]]


class Retriever:
    def __init__(self, library: Library) -> None:
        self.library = library
        self.rewriters: list[QueryRewriter] = []
        self.reranker: Reranker | None = None

    def search(
        self, workspace: Workspace, query: str, *, k: int | None = None, mode: str | None = None
    ) -> list[SearchResult]:
        """The ``k`` best passages for ``query`` (the workspace's settings by default)."""
        settings: RetrievalSettings = workspace.retrieval
        k = k or settings.top_k
        mode = mode or settings.search_mode
        if not query.strip():
            return []
        vectors = self.library.vectors_for(workspace)
        with index_errors(workspace, vectors):
            self.library.shared.refresh(workspace)  # what other homes added or removed
            if not vectors.has_table(workspace.vector_table):
                if self.library.records.document_counts().get(workspace.id):
                    raise IndexProblem.missing(workspace, self.library)
                return []
        for rewriter in self.rewriters:
            query = rewriter(workspace, query)
        with index_errors(workspace, vectors):
            results = self._search(workspace, vectors, query, k, mode)
        return self.reranker(workspace, query, results) if self.reranker else results

    def _search(
        self, workspace: Workspace, vectors: VectorStore, query: str, k: int, mode: str
    ) -> list[SearchResult]:
        settings = workspace.retrieval
        table = self.library.table(workspace)
        candidates = max(MIN_CANDIDATES, k * CANDIDATES_PER_RESULT)
        # A cloud embedder's failure raises ProviderError with a message for people.
        query_vector = self.library.embedder(workspace.embedding_model, workspace).embed([query])[0]
        vector_hits: list[Hit] = []
        text_hits: list[Hit] = []
        # Sequential on purpose: LanceDB serves a process's queries from one event loop, and two
        # threads side by side measured slower (22 ms a query) than one after the other (19 ms).
        if mode in ("hybrid", "vector"):
            vector_hits = vectors.vector_search(table, query_vector, candidates)
        if mode in ("hybrid", "fulltext"):
            text_hits = vectors.text_search(table, query, candidates, query_vector)
        items = fuse(vector_hits, text_hits)
        if settings.similarity_threshold > 0:
            threshold = settings.similarity_threshold
            items = [i for i in items if i.similarity >= threshold]
        documents = self.library.records.documents_by_id(sorted({i.hit.doc_id for i in items}))
        # Passages of a document still being written (or interrupted) are not shown.
        items = [
            i
            for i in items
            if i.hit.doc_id in documents and documents[i.hit.doc_id].status == "indexed"
        ]
        if not items:
            return []
        # The best passage comes with its neighbours in the same section: they are not listed
        # again, so their places go to other passages.
        best = items[0]
        best_text, joined = _with_neighbours(
            vectors, table, best.hit, documents[best.hit.doc_id].chunks - 1
        )
        rest = [i for i in items[1:] if (i.hit.doc_id, i.hit.chunk) not in joined]
        ranked = [best, *rest]
        if vector_hits and text_hits:
            # Full-text scores re-order the embedding model's best passages, but do not push them
            # out: words shared with many passages ("package", "file") lifted others above
            # them, and the answer went missing where vector search alone found it.
            reserved = [(h.doc_id, h.chunk) for h in vector_hits[: int(k * VECTOR_PLACES)]]
            ranked = keep_places(ranked, reserved, k)
        results = []
        for rank, item in enumerate(collapse_near_duplicates(ranked, k), start=1):
            document = documents[item.hit.doc_id]
            results.append(
                SearchResult(
                    rank=rank,
                    score=round(item.score, 6),
                    similarity=round(item.similarity, 4),
                    document=document.title,
                    path=document.path,
                    page=item.hit.page,
                    section=item.hit.section,
                    sheet=item.hit.sheet,
                    text=best_text if rank == 1 else item.hit.text,
                    doc_id=item.hit.doc_id,
                    chunk=item.hit.chunk,
                )
            )
        return results


def _with_neighbours(
    vectors: VectorStore, table: Any, hit: Hit, last_chunk: int
) -> tuple[str, set[tuple[int, int]]]:
    """The best passage's text joined with the passages before and after it in the same
    section and page (an answer often starts or ends across a cut between passages: a
    section's opening warning, a list that runs on, and the best passage is where it most
    likely is), and the (document, chunk) of the passages joined."""
    neighbours = vectors.neighbours(table, hit, last_chunk)
    place = (hit.section, hit.page, hit.sheet)
    text = hit.text
    joined: set[tuple[int, int]] = set()
    before = neighbours.get(hit.chunk - 1)
    if before is not None and (before.section, before.page, before.sheet) == place:
        text = join_overlapping(before.text, text)
        joined.add((hit.doc_id, hit.chunk - 1))
    after = neighbours.get(hit.chunk + 1)
    if after is not None and (after.section, after.page, after.sheet) == place:
        text = join_overlapping(text, after.text)
        joined.add((hit.doc_id, hit.chunk + 1))
    return text, joined
