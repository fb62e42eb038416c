"""A cloud provider's requests: where it is (:class:`Endpoint`), a POST retried with backoff on
429/5xx and refused connections, a reply read whole within a limit, and every failure — an HTTP
status, a dropped connection, a reply of the wrong shape — as a :class:`ProviderError` whose
message says what happened and what to do. Shared by the chat providers (``cloud_http``) and the
embedders (``cloud_embeddings``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.providers.cloud_wire import (
    MAX_ANSWER_BYTES,
    MAX_ERROR_BYTES,
    TooLarge,
    read_at_most,
    read_whole,
    size_text,
)

RETRY_STATUSES = {429, 500, 502, 503, 504, 529}


class ProviderError(RuntimeError):
    """A failure with a message for the chat."""


@dataclass
class Endpoint:
    """A configured provider: where, which model, which key (never logged or stored here)."""

    label: str
    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    context_size: int = 128_000
    #: Seconds the server may send nothing; once an answer has started, also the seconds it
    #: may send no content (keep-alive comments and pings do not count).
    timeout_s: float = 60.0
    retries: int = 3
    #: The longest one answer may take, from the request to its last token.
    deadline_s: float = 600.0


def unreadable(endpoint: Endpoint, sent: str, expected: str = "") -> ProviderError:
    """A reply of the wrong shape, named with what it was (never a Python error's text)."""
    what = f" ({expected})" if expected else ""
    return ProviderError(f"{endpoint.label} sent a reply this app cannot read{what}: {sent[:200]}")


def read_json(endpoint: Endpoint, response: Any) -> tuple[Any, str]:
    """A JSON answer read whole, up to :data:`MAX_ANSWER_BYTES`, and its text."""
    try:
        raw = read_whole(response, MAX_ANSWER_BYTES)
    except TooLarge as exc:
        raise ProviderError(f"{endpoint.label} sent an answer larger than "
                            f"{size_text(exc.limit)}; stopped.") from exc  # fmt: skip
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text), text
    except ValueError as exc:
        raise unreadable(endpoint, text) from exc


def bearer_headers(endpoint: Endpoint) -> dict[str, str]:
    """The OpenAI-style ``Authorization`` header, or none for a server without a key."""
    return {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}


def responses(
    client: Any, url: str, headers: dict[str, str], body: dict[str, Any], endpoint: Endpoint,
    cancel: CancelToken, backoff_s: float,
) -> Iterator[Any]:  # fmt: skip
    """The one successful response to a POST (open while the caller reads it), after retries
    with backoff on 429/5xx and refused connections; nothing when cancelled. A failure raises
    :class:`ProviderError` with a message for people (wrap the loop in
    :func:`connection_errors` for failures while reading)."""
    import httpx

    for attempt in range(endpoint.retries + 1):
        if cancel.cancelled:
            return
        try:
            with client.stream("POST", url, headers=headers, json=body) as response:
                if response.status_code >= 400:
                    text = read_at_most(response, MAX_ERROR_BYTES)[0].decode("utf-8", "replace")
                    if (
                        response.status_code in RETRY_STATUSES
                        and not _is_quota(text)
                        and (attempt < endpoint.retries)
                    ):
                        _wait(backoff_s, attempt, response.headers.get("retry-after"), cancel)
                        continue
                    raise ProviderError(explain(endpoint, response.status_code, text, attempt))
                yield response
                return
        except httpx.ConnectError:
            if attempt < endpoint.retries:
                _wait(backoff_s, attempt, None, cancel)
                continue
            raise


@contextmanager
def connection_errors(endpoint: Endpoint, url: str) -> Iterator[None]:
    """httpx's exceptions as :class:`ProviderError` messages that say what happened."""
    import httpx

    label = endpoint.label
    try:
        yield
    except httpx.ConnectError as exc:
        host = httpx.URL(url).host
        raise ProviderError(
            f"Cannot reach {label} at {host}: no network connection, or the server is down."
        ) from exc
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{label} did not answer within {endpoint.timeout_s:g} s.") from exc
    except httpx.HTTPError as exc:
        raise ProviderError(f"The connection to {label} failed: {exc}") from exc


def _wait(backoff_s: float, attempt: int, retry_after: str | None, cancel: CancelToken) -> None:
    delay = backoff_s * 2**attempt
    if retry_after and retry_after.replace(".", "", 1).isdigit():
        delay = min(float(retry_after), 20.0)
    end = time.monotonic() + delay
    while time.monotonic() < end and not cancel.cancelled:
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))


def explain(endpoint: Endpoint, status: int, body: str, attempt: int) -> str:
    """An HTTP error status as a sentence for the chat (the provider's own message added)."""
    label, model = endpoint.label, endpoint.model
    detail = _error_detail(body)
    lowered = body.lower()
    if status in (401, 403):
        return (f"{label} refused the API key (HTTP {status}). Check it in "
                "Settings → Providers.")  # fmt: skip
    if status == 404:
        return f"{label} does not know the model {model!r} (HTTP 404). {detail}".strip()
    if status in (400, 413) and any(
        k in lowered for k in ("context", "too long", "too many tokens", "maximum")
    ):
        return (f"The prompt is longer than {model}'s context window allows (HTTP {status}). "
                "Shorten the history or use fewer passages. " + detail).strip()  # fmt: skip
    if status == 429 and _is_quota(body):
        return f"{label}: the account's quota is used up (HTTP 429). {detail}".strip()
    if status == 429:
        return (f"{label} is rate-limiting requests (HTTP 429), still after {attempt + 1} "
                "tries. Wait a moment and try again.")  # fmt: skip
    if status >= 500:
        return (f"{label} had a server error (HTTP {status}) {attempt + 1} times in a row; "
                "try again later.")  # fmt: skip
    return f"{label} rejected the request (HTTP {status}). {detail}".strip()


def _is_quota(body: str) -> bool:
    lowered = body.lower()
    return any(k in lowered for k in ("insufficient_quota", "quota", "billing", "credit"))


def _error_detail(body: str) -> str:
    """The provider's own message from a JSON error body, if any (never the request)."""
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return ""
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", ""))[:300]
    if isinstance(error, str):
        return error[:300]
    return ""
