"""Workspaces, documents and chunks: the plain records every layer passes around."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, Self

SearchMode = Literal["hybrid", "vector", "fulltext"]
SEARCH_MODES: tuple[str, ...] = ("hybrid", "vector", "fulltext")

DocumentStatus = Literal["queued", "indexing", "indexed", "failed"]


class _StoredSettings:
    """Settings kept as a JSON object: known keys only; a stored value that no longer validates
    falls back to its default."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        result = cls()
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                try:
                    result = replace(result, **{f.name: data[f.name]})  # type: ignore[type-var]
                except (TypeError, ValueError):
                    continue
        return result


@dataclass(frozen=True)
class RetrievalSettings(_StoredSettings):
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


CHAT_MODES: tuple[str, ...] = ("chat", "query")

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant for the documents in the workspace {workspace}. Today is {date}."
)
DEFAULT_REFUSAL = (
    "I could not find anything about that in this workspace's documents, so I can't answer it "
    "from them. Try rephrasing, or add documents that cover it."
)
#: Variables a system prompt may use.
PROMPT_VARIABLES: tuple[str, ...] = ("date", "time", "workspace")


@dataclass(frozen=True)
class ChatSettings(_StoredSettings):
    """Per-workspace answering settings."""

    #: "chat": documents plus the model's own knowledge; "query": documents only.
    mode: str = "chat"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    temperature: float = 0.2
    top_p: float = 0.95
    max_answer_tokens: int = 512
    #: Earlier question/answer pairs given to the model with a new question.
    history_turns: int = 8
    #: The reply in query mode when no passage passes the similarity threshold.
    refusal_message: str = DEFAULT_REFUSAL
    #: Who answers in this workspace: "" for the app's default, "local", or a cloud provider's
    #: name; and its model ("" for the provider's default).
    provider: str = ""
    model: str = ""
    #: Never send this workspace's documents to a cloud provider.
    local_only: bool = False
    #: Remove e-mail addresses, phone numbers, IBANs and card numbers before sending to a cloud.
    redact_personal_data: bool = False
    #: Cloud providers the user agreed to send this workspace's passages to.
    cloud_consent: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if self.mode not in CHAT_MODES:
            problems.append(f"mode must be one of {CHAT_MODES}, not {self.mode!r}")
        if not 0.0 <= self.temperature <= 2.0:
            problems.append(f"temperature must be 0..2, not {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            problems.append(f"top_p must be in (0, 1], not {self.top_p}")
        if not 16 <= self.max_answer_tokens <= 32768:
            problems.append(f"max_answer_tokens must be 16..32768, not {self.max_answer_tokens}")
        if not 0 <= self.history_turns <= 100:
            problems.append(f"history_turns must be 0..100, not {self.history_turns}")
        if not self.refusal_message.strip():
            problems.append("refusal_message must not be empty")
        if not isinstance(self.provider, str) or not isinstance(self.model, str):
            problems.append("provider and model must be text")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    created_at: float
    embedding_model: str
    #: The LanceDB table holding this workspace's vectors (changes when it is re-embedded).
    vector_table: str
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    #: Never reused (ids are): names the workspace's tables and its writer lock.
    uid: str = ""


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
