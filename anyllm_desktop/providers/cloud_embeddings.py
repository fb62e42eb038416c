"""Embeddings from a provider's HTTP API: OpenAI-compatible ``/embeddings`` (OpenAI, Ollama,
LM Studio, vLLM, llama.cpp server, Mistral, Together, ...), Azure OpenAI's deployments, and
Gemini's ``batchEmbedContents``. Same client, retries and error wording as the chat providers
(``cloud_http``); every request is reported to ``on_request`` for the outbound log."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.redaction import Redactions, redact
from anyllm_desktop.providers.cloud_http import (
    Endpoint,
    ProviderError,
    bearer_headers,
    connection_errors,
    read_json,
    responses,
    unreadable,
)
from anyllm_desktop.providers.model_ids import (  # kept here for older imports
    cloud_model_id as cloud_model_id,
)
from anyllm_desktop.providers.model_ids import (
    parse_cloud_model_id as parse_cloud_model_id,
)

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class KnownModel:
    dim: int
    max_input_tokens: int


#: Published sizes, so choosing one of these costs no probe request.
KNOWN_MODELS: dict[str, KnownModel] = {
    "text-embedding-3-small": KnownModel(1536, 8191),
    "text-embedding-3-large": KnownModel(3072, 8191),
    "text-embedding-ada-002": KnownModel(1536, 8191),
    "gemini-embedding-001": KnownModel(3072, 2048),
    "text-embedding-004": KnownModel(768, 2048),
    "mistral-embed": KnownModel(1024, 8192),
    "nomic-embed-text": KnownModel(768, 2048),
}
#: What an unknown model is assumed to read (most open embedding models read 512).
DEFAULT_MAX_INPUT_TOKENS = 512

#: A request's report: (tokens sent, texts sent, what was removed, error or "").
RequestReport = Callable[[int, int, Redactions, str], None]


class CloudEmbedder:
    """Embeds texts with a provider's API. Subclasses say how to build a request and read
    its answer. ``redact`` removes personal data from texts before they leave."""

    local = False
    #: One request: at most this many texts (Gemini's limit is 100) and tokens.
    batch_texts = 96
    batch_tokens = 60_000
    batch_quadratic_from = None
    concurrent_batches = 1

    def __init__(
        self, endpoint: Endpoint, *, name: str, redact: bool = False,
        on_request: RequestReport | None = None, backoff_s: float = 1.0,
    ) -> None:  # fmt: skip
        self.endpoint = endpoint
        self.name = name
        self.redact = redact
        self.on_request = on_request
        self.backoff_s = backoff_s
        known = KNOWN_MODELS.get(endpoint.model.split(":")[0])
        self.max_input_tokens = known.max_input_tokens if known else DEFAULT_MAX_INPUT_TOKENS
        self._dim = known.dim if known else 0

    @property
    def model(self) -> str:
        return self.endpoint.model

    @property
    def dim(self) -> int:
        """The vectors' length: published for known models, else asked once with a probe."""
        if not self._dim:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def for_bulk(self) -> CloudEmbedder:
        """Requests go one at a time (providers rate-limit)."""
        return self

    def unload(self) -> None:
        """Nothing is loaded here."""

    def release_memory(self) -> None:
        """Nothing is kept here."""

    # -- what subclasses say ------------------------------------------------------------------

    def request(self, texts: list[str]) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, headers and JSON body embedding ``texts``."""
        raise NotImplementedError

    def read(self, body: dict[str, Any]) -> tuple[list[list[float]], int]:
        """The vectors in input order, and the tokens the provider counted (0 if none)."""
        raise NotImplementedError

    # -- the call -----------------------------------------------------------------------------

    def embed(
        self, texts: Sequence[str], batch_size: int = 16, cancel: CancelToken | None = None
    ) -> np.ndarray:
        """One L2-normalised float32 row per text; raises :class:`ProviderError` with a
        message for people."""
        import numpy as np

        rows: list[np.ndarray] = []
        step = max(1, min(batch_size, self.batch_texts))
        for start in range(0, len(texts), step):
            rows.append(self._embed_batch(list(texts[start : start + step]), cancel))
        if not rows:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.concatenate(rows)

    def _embed_batch(self, texts: list[str], cancel: CancelToken | None) -> np.ndarray:
        import httpx
        import numpy as np

        removed = Redactions()
        if self.redact:
            texts = [redact(t, removed) for t in texts]
        url, headers, body = self.request(texts)
        timeout = httpx.Timeout(self.endpoint.timeout_s, connect=min(10.0, self.endpoint.timeout_s))
        answers: list[tuple[Any, str]] = []
        try:
            with (
                httpx.Client(timeout=timeout, trust_env=False) as client,
                connection_errors(self.endpoint, url),
            ):
                for response in responses(client, url, headers, body, self.endpoint,
                                          cancel or CancelToken(), self.backoff_s):  # fmt: skip
                    answers.append(read_json(self.endpoint, response))
            if not answers:
                raise ProviderError(f"Embedding with {self.endpoint.label} was cancelled.")
            matrix, tokens = self._matrix(*answers[0], count=len(texts))
        except ProviderError as exc:
            self._report(0, len(texts), removed, str(exc))
            raise
        self._report(tokens or sum(len(t) // 4 + 1 for t in texts), len(texts), removed, "")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms > 0, norms, 1.0)

    def _matrix(self, answer: Any, text: str, *, count: int) -> tuple[np.ndarray, int]:
        """The answer's vectors as a (count x dim) float32 matrix, and its token count; a
        reply of another shape or size raises :class:`ProviderError` naming what it sent."""
        import numpy as np

        try:
            vectors, tokens = self.read(answer)
            if len(vectors) != count:
                raise ProviderError(f"{self.endpoint.label} returned {len(vectors)} vectors for "
                                    f"{count} texts.")  # fmt: skip
            matrix = np.asarray(vectors, dtype=np.float32)
            if matrix.ndim != 2 or not matrix.shape[1]:
                raise ValueError(f"vectors of shape {matrix.shape}")
            return matrix, int(tokens)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise unreadable(self.endpoint, text, "not a list of embeddings") from exc

    def _report(self, tokens: int, count: int, removed: Redactions, error: str) -> None:
        if self.on_request is not None:
            self.on_request(tokens, count, removed, error)


class OpenAIEmbedder(CloudEmbedder):
    def request(self, texts: list[str]) -> tuple[str, dict[str, str], dict[str, Any]]:
        body = {"model": self.endpoint.model, "input": texts}
        url = f"{self.endpoint.base_url.rstrip('/')}/embeddings"
        return url, bearer_headers(self.endpoint), body

    def read(self, body: dict[str, Any]) -> tuple[list[list[float]], int]:
        data = sorted(body["data"], key=lambda d: d.get("index", 0))
        usage = body.get("usage") or {}
        return [d["embedding"] for d in data], int(usage.get("prompt_tokens") or 0)


class AzureOpenAIEmbedder(OpenAIEmbedder):
    """The base URL is a deployment's (``.../openai/deployments/CHAT``); embeddings go to the
    deployment named by the model (``.../openai/deployments/EMBEDDING/embeddings``)."""

    api_version = "2024-10-21"

    def request(self, texts: list[str]) -> tuple[str, dict[str, str], dict[str, Any]]:
        base = self.endpoint.base_url.rstrip("/")
        if "/deployments/" in base:
            base = base.rsplit("/deployments/", 1)[0]
        url = f"{base}/deployments/{self.endpoint.model}/embeddings?api-version={self.api_version}"
        return url, {"api-key": self.endpoint.api_key}, {"input": texts}


class GeminiEmbedder(CloudEmbedder):
    def request(self, texts: list[str]) -> tuple[str, dict[str, str], dict[str, Any]]:
        model = f"models/{self.endpoint.model}"
        body = {"requests": [{"model": model, "content": {"parts": [{"text": t}]}} for t in texts]}
        url = f"{self.endpoint.base_url.rstrip('/')}/v1beta/{model}:batchEmbedContents"
        return url, {"x-goog-api-key": self.endpoint.api_key}, body

    def read(self, body: dict[str, Any]) -> tuple[list[list[float]], int]:
        return [e["values"] for e in body["embeddings"]], 0
