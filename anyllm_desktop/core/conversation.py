"""Threads and their messages: the plain records of a conversation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One message of a prompt, as providers receive it."""

    role: Role
    content: str


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as given to the model, numbered from 1 for citations."""

    n: int
    document: str
    path: str
    page: int | None
    section: str
    text: str
    score: float = 0.0
    sheet: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def place(self) -> str:
        """Document and page (or sheet), e.g. "User Guide, page 49"."""
        if self.page is None:
            return self.document
        return f"{self.document}, {'sheet' if self.sheet else 'page'} {self.page}"

    @property
    def where(self) -> str:
        """The place and the section, the section's repeat of the document's title left out:
        "Chapter 6. The Debian archives — 6.2. What are all those names …", not the title twice."""
        section = self.section
        if self.document and section.startswith(self.document):
            section = section[len(self.document) :].lstrip(" ›>—–-:|")
        return f"{self.place} — {section}" if section else self.place

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return cls(
            int(data["n"]),
            str(data.get("document", "")),
            str(data.get("path", "")),
            data.get("page"),
            str(data.get("section", "")),
            str(data.get("text", "")),
            float(data.get("score", 0.0)),
            str(data.get("sheet", "")),
        )


@dataclass(frozen=True)
class ThreadInfo:
    id: int
    workspace_id: int
    title: str
    #: The system prompt as rendered for the thread's first answer, kept so every later turn
    #: starts with the same tokens (and llama.cpp reuses their KV cache).
    system_prompt: str | None
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Message:
    id: int
    thread_id: int
    role: Role
    #: What the user typed, or the answer as shown.
    content: str
    created_at: float
    #: A user message as sent to the model (question plus its numbered passages).
    sent_content: str | None = None
    #: Passages given with this turn (on the assistant message).
    sources: list[Passage] = field(default_factory=list)
    #: Citations parsed from the answer: {"n", "valid", ...passage fields}.
    citations: list[dict[str, Any]] = field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    stopped: bool = False
    error: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    #: Sentences of the passages that answer the question (services/evidence.py).
    evidence: list[dict[str, Any]] = field(default_factory=list)
    #: Sentences of the answer the passages do not back (services/support_check.py).
    unsupported: list[dict[str, Any]] = field(default_factory=list)
    #: The model's own text where ``content`` shows something else (None where it does not).
    generated: str | None = None
    #: An earlier version (the question and answer before a Regenerate): kept, not in the chat.
    superseded: bool = False
    #: The user's verdict on an answer: 1 good, -1 bad, 0 none.
    rating: int = 0
    #: The answer as the user corrected it (a training example's target).
    correction: str | None = None
