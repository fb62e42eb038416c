"""Request bodies checked before anything runs: a malformed one is a :class:`RequestError`,
answered 400 in OpenAI's error shape with the reason and the field it is about."""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from anyllm_desktop.core.conversation import ChatMessage

#: The prefix of a workspace's model id in /v1/models.
WORKSPACE_PREFIX = "workspace:"
_ROLES = ("system", "user", "assistant")
#: A request may not ask for more than this many answer tokens (the local window is small).
MAX_TOKENS_LIMIT = 8192


class RequestError(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[ChatMessage]
    stream: bool
    max_tokens: int | None
    temperature: float | None
    top_p: float | None

    @property
    def workspace(self) -> str | None:
        """The workspace a ``workspace:NAME`` model names, else None (a plain model)."""
        if self.model.startswith(WORKSPACE_PREFIX):
            return self.model[len(WORKSPACE_PREFIX) :]
        return None

    @property
    def question(self) -> str:
        """The last user message: what a workspace model answers from its documents."""
        return next(m.content for m in reversed(self.messages) if m.role == "user")

    @property
    def earlier_turns(self) -> list[tuple[str, str]]:
        """The (question, answer) pairs before the last user message, as the client kept the
        conversation (a workspace model answers a follow-up with them)."""
        last = max(i for i, m in enumerate(self.messages) if m.role == "user")
        earlier = self.messages[:last]
        return [(q.content, a.content) for q, a in pairwise(earlier)
                if q.role == "user" and a.role == "assistant" and a.content]  # fmt: skip


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    texts: list[str]
    base64: bool


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise RequestError("The request body must be a JSON object.")
    return data


def _model(data: dict[str, Any]) -> str:
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RequestError("'model' is required: a model id from GET /v1/models.", "model")
    return model.strip()


def _number(data: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RequestError(f"'{name}' must be a number from {low} to {high}.", name)
    return float(value)


def _content(message: dict[str, Any], at: int) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # parts: only text parts are understood
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if len(texts) == len(content) and all(isinstance(t, str) for t in texts):
            return "".join(texts)  # type: ignore[arg-type]
    raise RequestError(f"messages[{at}].content must be a string (or text parts).",
                       f"messages[{at}].content")  # fmt: skip


def chat_request(body: bytes) -> ChatRequest:
    data = parse_json(body)
    model = _model(data)
    raw = data.get("messages")
    if not isinstance(raw, list) or not raw:
        raise RequestError("'messages' must be a non-empty list of {role, content}.", "messages")
    messages = []
    for at, message in enumerate(raw):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise RequestError(f"messages[{at}] needs a role, one of {', '.join(_ROLES)}.",
                               f"messages[{at}].role")  # fmt: skip
        messages.append(ChatMessage(message["role"], _content(message, at)))
    if not any(m.role == "user" for m in messages):
        raise RequestError("'messages' holds no user message to answer.", "messages")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("'stream' must be true or false.", "stream")
    limit = data.get("max_completion_tokens", data.get("max_tokens"))
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TOKENS_LIMIT
    ):
        raise RequestError(f"'max_tokens' must be a whole number from 1 to {MAX_TOKENS_LIMIT}.",
                           "max_tokens")  # fmt: skip
    return ChatRequest(
        model=model,
        messages=messages,
        stream=stream,
        max_tokens=limit,
        temperature=_number(data, "temperature", 0.0, 2.0),
        top_p=_number(data, "top_p", 0.0, 1.0),
    )


def embedding_request(body: bytes) -> EmbeddingRequest:
    data = parse_json(body)
    model = _model(data)
    raw = data.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise RequestError("'input' must be a string or a non-empty list of strings.", "input")
    encoding = data.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise RequestError("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
    return EmbeddingRequest(model=model, texts=texts, base64=encoding == "base64")
