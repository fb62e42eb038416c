"""What every cloud chat provider shares: one HTTP client (httpx), server-sent events, cancel
between chunks, an answer's deadlines and caps; its requests, retries and errors written for
people are ``cloud_requests``.

Why httpx rather than three vendor SDKs: the three wire formats (OpenAI-compatible, Anthropic,
Gemini) are small JSON-over-SSE protocols; one client gives the same timeouts, retry policy,
cancel and error wording for all of them, adds one dependency instead of three SDKs (each with
its own retry logic, pydantic models and update cadence), and sends every byte that leaves the
machine through one client. A provider subclass says how to build its request and how to read one
event of its stream.

Nothing a server sends is trusted (``cloud_wire``): lines, error bodies and answers are read up
to a limit; an answer has an overall deadline, an idle timeout that keep-alives do not reset,
and a cap on its length; a reply of the wrong shape is named, never a Python error.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Event, Token, Usage
from anyllm_desktop.providers.base import Capabilities, Completion, GenerationOptions
from anyllm_desktop.providers.cloud_requests import (
    Endpoint,
    ProviderError,
    connection_errors,
    explain,
    read_json,
    responses,
    unreadable,
)
from anyllm_desktop.providers.cloud_requests import (  # the formats import it from here
    bearer_headers as bearer_headers,
)
from anyllm_desktop.providers.cloud_wire import (
    END,
    MAX_ERROR_BYTES,
    Pump,
    TooLarge,
    read_at_most,
    size_text,
    split_lines,
)


class Stalled(ProviderError):
    """The answer passed its deadline or its idle timeout (what came so far is kept)."""


def answer_token_cap(max_tokens: int) -> int:
    """How far an answer may run past the tokens asked for (servers count a little
    differently, and text is estimated at 4 characters a token) before it is cut off."""
    return 2 * max_tokens + 64


#: What the stream's reader hands over once the response has started (the idle clock starts).
_OPENED = object()


@dataclass
class Chunk:
    """What one stream event carried."""

    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    done: bool = False
    #: A keep-alive event (Anthropic's ``ping``): not progress.
    keepalive: bool = False


class _Clock:
    """An answer's two clocks: the overall deadline, and the time since the last content."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.deadline = time.monotonic() + endpoint.deadline_s
        self.last: float | None = None  # counted from the moment the response started

    def progress(self) -> None:
        self.last = time.monotonic()

    def check(self) -> None:
        now, end = time.monotonic(), self.endpoint
        if now >= self.deadline:
            raise Stalled(f"{end.label} was still answering after {end.deadline_s:g} s; stopped.")
        if self.last is not None and now - self.last >= end.timeout_s:
            raise Stalled(f"{end.label} sent nothing for {end.timeout_s:g} s; stopped.")


def _checked(chunk: Chunk) -> Chunk:
    """``chunk`` with numbers as ints; TypeError when a field has the wrong type."""
    if not isinstance(chunk.text, str) or not isinstance(chunk.finish_reason, str | None):
        raise TypeError("text and finish_reason must be strings")
    for name in ("prompt_tokens", "completion_tokens"):
        value = getattr(chunk, name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number")
            setattr(chunk, name, int(value))
    return chunk


class CloudChatProvider:
    """Streams from an HTTP API. Subclasses implement ``request`` and ``read``."""

    name = "cloud"
    capabilities = Capabilities(local=False)

    def __init__(self, endpoint: Endpoint, *, backoff_s: float = 1.0) -> None:
        self.endpoint = endpoint
        self.backoff_s = backoff_s

    @property
    def model(self) -> str:
        return self.endpoint.model

    @property
    def context_size(self) -> int:
        return self.endpoint.context_size

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """An estimate (about 4 characters a token, plus a few per message)."""
        return sum(len(m.content) // 4 + 4 for m in messages)

    # -- what subclasses say ------------------------------------------------------------------

    def request(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, headers and JSON body of a streaming completion."""
        raise NotImplementedError

    def read(self, event: dict[str, Any]) -> Chunk:
        """One decoded stream event."""
        raise NotImplementedError

    def models_request(self) -> tuple[str, dict[str, str]]:
        """URL and headers of the provider's model list."""
        raise NotImplementedError

    def read_models(self, body: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def list_models(self) -> list[str]:
        """The model ids the provider offers, in the order it lists them."""
        import httpx

        url, headers = self.models_request()
        with (
            httpx.Client(timeout=self.endpoint.timeout_s, trust_env=False) as client,
            connection_errors(self.endpoint, url),
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code >= 400:
                text = read_at_most(response, MAX_ERROR_BYTES)[0].decode("utf-8", "replace")
                raise ProviderError(explain(self.endpoint, response.status_code, text, 0))
            body, text = read_json(self.endpoint, response)
        try:
            return list(self.read_models(body))
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            raise unreadable(self.endpoint, text) from exc

    # -- the stream ---------------------------------------------------------------------------

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]:
        started = time.perf_counter()
        parts: list[str] = []
        size = 0
        first_at: float | None = None
        prompt_tokens = completion_tokens = 0
        finish = "stop"
        url, headers, body = self.request(messages, options)
        clock = _Clock(self.endpoint)
        cap = answer_token_cap(options.max_tokens)
        try:
            for data in self._data(url, headers, body, cancel, clock):
                chunk = self._read_checked(data)
                if not chunk.keepalive:
                    clock.progress()
                if chunk.text:
                    first_at = first_at or time.perf_counter()
                    parts.append(chunk.text)
                    size += len(chunk.text)
                    yield Token(chunk.text)
                prompt_tokens = chunk.prompt_tokens or prompt_tokens
                completion_tokens = chunk.completion_tokens or completion_tokens
                finish = chunk.finish_reason or finish
                if chunk.done:
                    break
                if max(len(parts), size // 4) >= cap:  # a server that does not stop: cut here
                    finish = "length"
                    break
        except ProviderError as exc:
            kept = " The partial answer is kept." if parts and isinstance(exc, Stalled) else ""
            yield Error(f"{exc}{kept}")
            return
        stopped = cancel.cancelled
        finished = time.perf_counter()
        generating = finished - first_at if first_at else 0.0
        # Servers that send no usage (llama.cpp's, some proxies): estimates, not zeros.
        completion_tokens = completion_tokens or len(parts)
        prompt_tokens = prompt_tokens or self.count_tokens(messages)
        yield Usage(prompt_tokens, completion_tokens, 0)
        yield Done(
            Completion(
                text="".join(parts),
                stopped=stopped,
                ttft_s=(first_at or finished) - started,
                tokens_per_s=(completion_tokens - 1) / generating
                if generating > 0 and completion_tokens > 1
                else 0.0,
                prompt_tokens=prompt_tokens,
                cached_tokens=0,
                completion_tokens=completion_tokens,
                finish_reason="cancelled" if stopped else finish,
            )
        )

    def _read_checked(self, data: str) -> Chunk:
        """One event's payload read by the format; a reply of another shape is named."""
        try:
            return _checked(self.read(json.loads(data)))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise unreadable(self.endpoint, data) from exc

    def _data(
        self, url: str, headers: dict[str, str], body: dict[str, Any], cancel: CancelToken,
        clock: _Clock,
    ) -> Iterator[str]:  # fmt: skip
        """The payloads of the stream's ``data:`` lines, until ``[DONE]`` or a cancel. The
        network is read by a :class:`Pump`, so a cancel, the deadline or a stalled server end
        the wait within a tenth of a second, whatever the socket does."""
        with Pump(self._lines(url, headers, body, cancel)) as pump:
            while not cancel.cancelled:
                clock.check()
                try:
                    line = pump.get(timeout=0.1)
                except queue.Empty:
                    continue
                if line is END:
                    return
                if line is _OPENED:
                    clock.progress()
                    continue
                assert isinstance(line, str)
                if not line.startswith("data:"):
                    continue  # comments (": ping"), event names, the blank lines between events
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                yield data

    def _lines(
        self, url: str, headers: dict[str, str], body: dict[str, Any], cancel: CancelToken
    ) -> Iterator[str | object]:
        """On the pump's thread: the response's lines (``_OPENED`` first), each at most
        :data:`~cloud_wire.MAX_LINE_BYTES`; retried with backoff until the stream started."""
        import httpx

        timeout = httpx.Timeout(self.endpoint.timeout_s, connect=min(10.0, self.endpoint.timeout_s))
        with (
            httpx.Client(timeout=timeout, trust_env=False) as client,
            connection_errors(self.endpoint, url),
        ):
            for response in responses(client, url, headers, body, self.endpoint, cancel,
                                      self.backoff_s):  # fmt: skip
                yield _OPENED
                try:
                    yield from split_lines(response.iter_bytes())
                except TooLarge as exc:
                    raise ProviderError(f"{self.endpoint.label} sent a line longer than "
                                        f"{size_text(exc.limit)}; stopped.") from exc  # fmt: skip
