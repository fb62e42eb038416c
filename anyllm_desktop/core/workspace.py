"""Workspaces, documents and chunks: the plain records every layer passes around."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

SearchMode = Literal["hybrid", "vector", "fulltext"]
SEARCH_MODES: tuple[str, ...] = ("hybrid", "vector", "fulltext")

DocumentStatus = Literal["queued", "indexing", "indexed", "failed"]


@dataclass(frozen=True)
class RetrievalSettings:
    """Per-workspace retrieval settings, with defaults tuned on real documents."""

    #: Passages given to the model per answer.
    top_k: int = 4
    #: Minimum cosine similarity (0..1) of a passage to the question; 0 keeps everything.
    similarity_threshold: float = 0.0
    #: Chunk size in the embedder's own tokens (all-MiniLM-L6-v2 reads at most 256).
    chunk_tokens: int = 200
    #: Tokens repeated between neighbouring chunks of the same section.
    chunk_overlap: int = 32
    search_mode: str = "hybrid"

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.top_k <= 100:
            problems.append(f"top_k must be 1..100, not {self.top_k}")
        if not 0.0 <= self.similarity_threshold <= 1.0:
            problems.append(f"similarity_threshold must be 0..1, not {self.similarity_threshold}")
        if not 32 <= self.chunk_tokens <= 8192:
            problems.append(f"chunk_tokens must be 32..8192, not {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            problems.append(
                f"chunk_overlap must be 0..{self.chunk_tokens // 2 - 1}, not {self.chunk_overlap}"
            )
        if self.search_mode not in SEARCH_MODES:
            problems.append(f"search_mode must be one of {SEARCH_MODES}, not {self.search_mode!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrievalSettings:
        """Known keys only; a stored value that no longer validates falls back to its default."""
        result = cls()
        for f in fields(cls):
            if f.name in data:
                try:
                    result = replace(result, **{f.name: data[f.name]})
                except (TypeError, ValueError):
                    continue
        return result


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    created_at: float
    embedding_model: str
    #: The LanceDB table holding this workspace's vectors (changes when it is re-embedded).
    vector_table: str
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)


@dataclass(frozen=True)
class Document:
    id: int
    workspace_id: int
    content_hash: str
    path: str
    title: str
    kind: str
    size: int
    status: str
    error: str | None
    chunks: int
    pages: int | None
    added_at: float
    indexed_at: float | None


@dataclass(frozen=True)
class Chunk:
    """A passage ready to embed: its text plus where it came from."""

    text: str
    #: 1-based page (PDF), slide (PPTX) or sheet number (XLSX); None where there is none.
    page: int | None
    #: Heading path, e.g. "Design FAQ › Why are strings immutable?".
    section: str
    #: "Document title › section": embedded and indexed with the text, so a passage is found
    #: by the words of its headings too.
    context: str = ""
    #: Sheet name for spreadsheets, else "".
    sheet: str = ""
    #: Tokens of ``embed_text`` in the embedder's tokenizer.
    tokens: int = 0

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text
