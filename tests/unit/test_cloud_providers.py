"""Cloud chat providers against a real HTTP server on loopback that replays each vendor's
streaming wire format (server-sent events as OpenAI, Anthropic and Gemini send them), and the
failures people meet: bad key, rate limit then success, quota, server errors, timeout, refused
connection, stop mid-answer. The key never shows up in a message."""

from __future__ import annotations

import json

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Event, Token, Usage
from anyllm_desktop.providers.base import GenerationOptions
from anyllm_desktop.providers.cloud_formats import (
    AnthropicProvider,
    AzureOpenAIProvider,
    GeminiProvider,
    OpenAICompatibleProvider,
)
from anyllm_desktop.providers.cloud_http import Endpoint, ProviderError
from tests.replay_server import Replay, Reply

KEY = "sk-test-PLANTED-7f3a9c"
MESSAGES = [ChatMessage("system", "Cite passages."), ChatMessage("user", "What is sid?")]
OPTIONS = GenerationOptions(temperature=0.0, max_tokens=32)


def sse(*events: object, done: bool = False) -> list[bytes]:
    lines = [f"data: {json.dumps(e)}\n\n".encode() for e in events]
    return lines + ([b"data: [DONE]\n\n"] if done else [])


OPENAI_STREAM = sse(
    {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]},
    {"choices": [{"delta": {"content": "Sid is "}, "finish_reason": None}]},
    {"choices": [{"delta": {"content": "unstable [1]."}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 5}},
    done=True,
)
ANTHROPIC_STREAM = [
    b'event: message_start\ndata: {"type": "message_start", "message": {"usage": '
    b'{"input_tokens": 19, "output_tokens": 1}}}\n\n',
    b'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, '
    b'"content_block": {"type": "text", "text": ""}}\n\n',
    b'event: ping\ndata: {"type": "ping"}\n\n',
    b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
    b'"delta": {"type": "text_delta", "text": "Sid is "}}\n\n',
    b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
    b'"delta": {"type": "text_delta", "text": "unstable [1]."}}\n\n',
    b'event: content_block_stop\ndata: {"type": "content_block_stop", "index": 0}\n\n',
    b'event: message_delta\ndata: {"type": "message_delta", "delta": {"stop_reason": '
    b'"end_turn"}, "usage": {"output_tokens": 6}}\n\n',
    b'event: message_stop\ndata: {"type": "message_stop"}\n\n',
]
GEMINI_STREAM = sse(
    {"candidates": [{"content": {"parts": [{"text": "Sid is "}], "role": "model"}}],
     "usageMetadata": {"promptTokenCount": 17}},
    {"candidates": [{"content": {"parts": [{"text": "unstable [1]."}], "role": "model"},
                     "finishReason": "STOP"}],
     "usageMetadata": {"promptTokenCount": 17, "candidatesTokenCount": 5}},
)  # fmt: skip


def _endpoint(url: str, **changes: object) -> Endpoint:
    values: dict[str, object] = {"label": "TestCloud", "base_url": url, "model": "m-1",
                                 "api_key": KEY, "timeout_s": 5.0, "retries": 2}  # fmt: skip
    values.update(changes)
    return Endpoint(**values)  # type: ignore[arg-type]


def _run(provider: object, cancel: CancelToken | None = None) -> list[Event]:
    return list(provider.stream(MESSAGES, OPTIONS, cancel or CancelToken()))  # type: ignore[attr-defined]


def _answer(events: list[Event]) -> Done:
    assert isinstance(events[-1], Done), events
    return events[-1]


@pytest.mark.parametrize(
    ("provider_class", "stream", "path", "auth_header", "prompt_tokens"),
    [
        (OpenAICompatibleProvider, OPENAI_STREAM, "/v1/chat/completions", "authorization", 21),
        (AnthropicProvider, ANTHROPIC_STREAM, "/v1/messages", "x-api-key", 19),
        (
            GeminiProvider,
            GEMINI_STREAM,
            "/v1beta/models/m-1:streamGenerateContent?alt=sse",
            "x-goog-api-key",
            17,
        ),
    ],
    ids=["openai", "anthropic", "gemini"],
)
def test_each_wire_format_streams_tokens_usage_and_done(
    server: Replay, provider_class: type, stream: list[bytes], path: str, auth_header: str,
    prompt_tokens: int,
) -> None:  # fmt: skip
    server.replies = [Reply(chunks=stream)]
    base = f"{server.url}/v1" if provider_class is OpenAICompatibleProvider else server.url
    events = _run(provider_class(_endpoint(base)))
    tokens = [e.text for e in events if isinstance(e, Token)]
    assert "".join(tokens) == "Sid is unstable [1]."
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.prompt_tokens == prompt_tokens and usage.completion_tokens in (5, 6)
    done = _answer(events).result
    assert done.text == "Sid is unstable [1]." and not done.stopped and done.finish_reason == "stop"
    sent = server.requests[0]
    assert sent["path"] == path
    headers = {k.lower(): v for k, v in sent["headers"].items()}  # type: ignore[union-attr]
    assert KEY in headers[auth_header]
    body = json.dumps(sent["body"])
    assert "Cite passages." in body and "What is sid?" in body  # system prompt carried


def test_anthropic_and_gemini_put_the_system_prompt_where_their_apis_want_it(
    server: Replay,
) -> None:
    server.replies = [Reply(chunks=ANTHROPIC_STREAM), Reply(chunks=GEMINI_STREAM)]
    _run(AnthropicProvider(_endpoint(server.url)))
    _run(GeminiProvider(_endpoint(server.url)))
    anthropic, gemini = (r["body"] for r in server.requests)
    assert anthropic["system"] == "Cite passages."  # type: ignore[index]
    assert [m["role"] for m in anthropic["messages"]] == ["user"]  # type: ignore[index]
    assert gemini["systemInstruction"] == {"parts": [{"text": "Cite passages."}]}  # type: ignore[index]
    assert gemini["contents"][0]["role"] == "user"  # type: ignore[index]


def test_azure_uses_its_key_header_and_api_version(server: Replay) -> None:
    server.replies = [Reply(chunks=OPENAI_STREAM)]
    _answer(_run(AzureOpenAIProvider(_endpoint(f"{server.url}/openai/deployments/gpt"))))
    sent = server.requests[0]
    assert str(sent["path"]).startswith("/openai/deployments/gpt/chat/completions?api-version=")
    assert sent["headers"]["api-key"] == KEY  # type: ignore[index]


def _error(events: list[Event]) -> str:
    assert isinstance(events[-1], Error), events
    assert KEY not in events[-1].message and KEY not in events[-1].detail
    return events[-1].message


def test_a_bad_key_is_said_plainly(server: Replay) -> None:
    server.replies = [Reply(401, [b'{"error": {"message": "Incorrect API key provided"}}'])]
    message = _error(_run(OpenAICompatibleProvider(_endpoint(server.url))))
    assert "refused the API key" in message and len(server.requests) == 1


def test_rate_limited_then_success_is_retried(server: Replay) -> None:
    limited = Reply(429, [b'{"error": {"message": "Rate limit"}}'], headers={"Retry-After": "0.1"})
    server.replies = [limited, Reply(chunks=OPENAI_STREAM)]
    done = _answer(_run(OpenAICompatibleProvider(_endpoint(server.url), backoff_s=0.01)))
    assert done.result.text == "Sid is unstable [1]." and len(server.requests) == 2


def test_quota_is_not_retried(server: Replay) -> None:
    body = (
        b'{"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}'
    )
    server.replies = [Reply(429, [body])]
    message = _error(_run(OpenAICompatibleProvider(_endpoint(server.url))))
    assert "quota is used up" in message and len(server.requests) == 1


def test_server_errors_give_up_after_the_retries(server: Replay) -> None:
    server.replies = [Reply(500, [b"{}"]) for _ in range(3)]
    message = _error(_run(OpenAICompatibleProvider(_endpoint(server.url), backoff_s=0.01)))
    assert "server error (HTTP 500) 3 times" in message and len(server.requests) == 3


def test_unknown_model_and_context_too_long(server: Replay) -> None:
    server.replies = [
        Reply(404, [b'{"error": {"message": "The model m-1 does not exist"}}']),
        Reply(400, [b'{"error": {"message": "This model\'s maximum context length is 8192"}}']),
    ]
    provider = OpenAICompatibleProvider(_endpoint(server.url))
    assert "does not know the model 'm-1'" in _error(_run(provider))
    assert "longer than m-1's context window" in _error(_run(provider))


def test_a_timeout_and_a_refused_connection(server: Replay) -> None:
    server.replies = [Reply(delay_s=1.5, chunks=OPENAI_STREAM)]
    slow = OpenAICompatibleProvider(_endpoint(server.url, timeout_s=0.5, retries=0))
    assert "did not answer within" in _error(_run(slow))
    closed = OpenAICompatibleProvider(_endpoint("http://127.0.0.1:9", retries=1), backoff_s=0.01)
    assert "Cannot reach TestCloud at 127.0.0.1" in _error(_run(closed))


def test_stop_mid_answer_keeps_the_partial_text(server: Replay) -> None:
    slow = [c for chunk in OPENAI_STREAM for c in (chunk, b": keep-alive\n\n" * 20)]
    server.replies = [Reply(chunks=slow)]
    cancel = CancelToken()
    events = []
    for event in OpenAICompatibleProvider(_endpoint(server.url)).stream(MESSAGES, OPTIONS, cancel):
        events.append(event)
        if isinstance(event, Token):
            cancel.cancel()
    done = _answer(events).result
    assert done.stopped and done.finish_reason == "cancelled" and done.text == "Sid is "


def test_model_lists_in_each_format(server: Replay) -> None:
    server.replies = [
        Reply(chunks=[b'{"data": [{"id": "gpt-b"}, {"id": "gpt-a"}]}']),
        Reply(chunks=[b'{"data": [{"id": "claude-x", "type": "model"}]}']),
        Reply(chunks=[b'{"models": [{"name": "models/gemini-y"}]}']),
        Reply(401, [b'{"error": {"message": "no"}}']),
    ]
    assert OpenAICompatibleProvider(_endpoint(f"{server.url}/v1")).list_models() == [
        "gpt-b",
        "gpt-a",
    ]  # as the server lists them (the picker sorts them)
    assert AnthropicProvider(_endpoint(server.url)).list_models() == ["claude-x"]
    assert GeminiProvider(_endpoint(server.url)).list_models() == ["gemini-y"]
    paths = [r["path"] for r in server.requests]
    assert paths == ["/v1/models", "/v1/models", "/v1beta/models"]
    with pytest.raises(ProviderError, match="refused the API key"):
        OpenAICompatibleProvider(_endpoint(server.url)).list_models()


INVOICE = {
    "type": "object",
    "properties": {
        "number": {"type": "string", "maxLength": 12},
        "lines": {"type": "array", "items": {"type": "object",
                                             "properties": {"total": {"type": "number"}}}},
    },
}  # fmt: skip
SCHEMA_OPTIONS = GenerationOptions(temperature=0.0, max_tokens=32, json_schema=INVOICE)


def test_a_schema_is_each_apis_structured_output(server: Replay) -> None:
    server.replies = [
        Reply(chunks=s) for s in (OPENAI_STREAM, GEMINI_STREAM, ANTHROPIC_STREAM, OPENAI_STREAM)
    ]
    for provider in (OpenAICompatibleProvider(_endpoint(f"{server.url}/v1")),
                     GeminiProvider(_endpoint(server.url)), AnthropicProvider(_endpoint(server.url))
                     ):  # fmt: skip
        _answer(list(provider.stream(MESSAGES, SCHEMA_OPTIONS, CancelToken())))
    openai, gemini, anthropic = (r["body"] for r in server.requests)
    # OpenAI strict mode: every object closed, all fields required, maxLength (refused) left out.
    assert openai["response_format"] == {  # type: ignore[index]
        "type": "json_schema",
        "json_schema": {"name": "answer", "strict": True, "schema": {
            "type": "object", "additionalProperties": False, "required": ["number", "lines"],
            "properties": {
                "number": {"type": "string"},
                "lines": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["total"],
                    "properties": {"total": {"type": "number"}}}},
            }}},
    }  # fmt: skip
    config = gemini["generationConfig"]  # type: ignore[index]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"] == {
        "type": "OBJECT", "propertyOrdering": ["number", "lines"],
        "properties": {
            "number": {"type": "STRING", "maxLength": 12},
            "lines": {"type": "ARRAY", "items": {"type": "OBJECT", "propertyOrdering": ["total"],
                                                 "properties": {"total": {"type": "NUMBER"}}}},
        },
    }  # fmt: skip
    assert anthropic["tools"] == [  # type: ignore[index]
        {"name": "answer", "description": "Give the answer.", "input_schema": INVOICE}
    ]
    assert anthropic["tool_choice"] == {"type": "tool", "name": "answer"}  # type: ignore[index]
    _run(OpenAICompatibleProvider(_endpoint(server.url)))  # no schema: plain text asked for
    assert "response_format" not in server.requests[-1]["body"]  # type: ignore[operator]


def test_anthropics_forced_tool_call_streams_as_the_answer(server: Replay) -> None:
    def delta(part: str) -> dict[str, object]:
        return {"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": part}}  # fmt: skip

    server.replies = [Reply(chunks=sse(
        {"type": "message_start", "message": {"usage": {"input_tokens": 30}}},
        {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "answer", "input": {}}},
        delta('{"number": "A-'), delta('17", "lines": []}'),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
         "usage": {"output_tokens": 12}},
        {"type": "message_stop"},
    ))]  # fmt: skip
    events = list(AnthropicProvider(_endpoint(server.url)).stream(MESSAGES, SCHEMA_OPTIONS,
                                                                  CancelToken()))  # fmt: skip
    done = _answer(events).result
    assert json.loads(done.text) == {"number": "A-17", "lines": []}
    assert done.finish_reason == "stop"
