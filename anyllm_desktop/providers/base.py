"""The contract every chat backend follows: a generator of typed events.

Providers are plain Python generators (simonw/llm style), not QObjects: the CLI and the tests
iterate them directly and ``workers`` adapts them to Qt signals at the edge.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Event

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, not {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], not {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {self.max_tokens}")


class ChatProvider(Protocol):
    """Streams an answer as :class:`Token` events, then :class:`Usage` and :class:`Done`.

    Failures are yielded as :class:`Error` events rather than raised, so a broken backend
    becomes a message in the chat instead of a crash.
    """

    name: str

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]: ...
