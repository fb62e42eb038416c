"""The contract every chat backend follows: a generator of typed events.

Providers are plain Python generators (simonw/llm style), not QObjects: the CLI and the tests
iterate them directly and ``workers`` adapts them to Qt signals at the edge. A provider yields
:class:`Token` events while it streams, then one :class:`Usage` and one :class:`Done` whose
result is a :class:`Completion`; a failure is an :class:`Error` event, never an exception, so a
broken backend becomes a message in the chat instead of a crash.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Event

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class GenerationOptions:
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int | None = None
    #: Penalty on tokens already in the answer (1.0 = none); small models loop without it.
    repeat_penalty: float = 1.1
    #: A llama.cpp grammar (GBNF text) the output must match: constrained decoding, so a
    #: classification is always one of its labels and an extraction always parses. The local
    #: provider applies it; cloud providers read ``json_schema`` instead.
    grammar: str | None = None
    #: The JSON schema (an object) the answer must match: a cloud provider's structured output
    #: (OpenAI ``response_format``, Gemini ``responseSchema``, an Anthropic forced tool call).
    json_schema: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, not {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], not {self.top_p}")
        if not 1.0 <= self.repeat_penalty <= 2.0:
            raise ValueError(f"repeat_penalty must be between 1 and 2, not {self.repeat_penalty}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {self.max_tokens}")


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, so callers adapt instead of guessing."""

    #: Runs on this machine (nothing leaves it): in-process, or a server on loopback.
    local: bool
    streaming: bool = True
    system_prompt: bool = True
    #: Counts tokens exactly (else callers estimate ~4 characters a token).
    exact_token_count: bool = False
    #: Reuses the evaluated prompt prefix between calls (cached_tokens is meaningful).
    prompt_cache: bool = False
    #: Follows a GBNF grammar (GenerationOptions.grammar); else it is given the JSON schema.
    grammar: bool = False


@dataclass(frozen=True)
class Completion:
    """What :class:`Done` carries at the end of a stream."""

    text: str
    #: Cut short by the user (the partial text is kept).
    stopped: bool
    #: Seconds from the call to the first token (prompt evaluation included).
    ttft_s: float
    tokens_per_s: float
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    #: "stop" (natural end), "length" (max tokens), "cancelled".
    finish_reason: str = "stop"


class ChatProvider(Protocol):
    name: str
    capabilities: Capabilities

    @property
    def model(self) -> str:
        """The model answering (a file name or a provider's model id)."""
        ...

    @property
    def context_size(self) -> int: ...

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int: ...

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]: ...


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors: a local ONNX model or a cloud API."""

    #: Runs on this machine; otherwise every text embedded is sent over the network.
    local: bool
    #: Longest text it reads, in tokens; longer text is truncated (and invisible to search).
    max_input_tokens: int
    #: Bounds on one call: texts, and (texts x longest text) in tokens; texts longer than
    #: ``batch_quadratic_from`` count for more (their attention memory), None for no such rule.
    batch_texts: int
    batch_tokens: int
    batch_quadratic_from: int | None
    #: Batches that may be embedded at the same time (from as many threads).
    concurrent_batches: int

    @property
    def dim(self) -> int: ...

    def for_bulk(self) -> Embedder:
        """The embedder for many batches in a row (ingestion, re-embedding): itself, or a
        sibling tuned for throughput, which frees its memory on ``unload``."""
        ...

    def embed(
        self, texts: Sequence[str], batch_size: int = 16, cancel: CancelToken | None = None
    ) -> np.ndarray:
        """One row per text; a cloud embedder stops between requests when ``cancel`` is set
        and raises ProviderError when it fails."""
        ...

    def unload(self) -> None:
        """Free what ``embed`` loaded; the next call loads it again."""
        ...

    def release_memory(self) -> None:
        """Return memory kept from the largest call so far."""
        ...
