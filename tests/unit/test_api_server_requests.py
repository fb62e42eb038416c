"""The API server's checks that need no model: request bodies (400 with the reason and the
field), the Bearer key, and which hosts count as this computer only."""

from __future__ import annotations

import json

import pytest

from anyllm_desktop.core.hosts import is_loopback
from anyllm_desktop.services.api_server.auth import authorized
from anyllm_desktop.services.api_server.server import exposure_warning
from anyllm_desktop.services.api_server.validation import (
    RequestError,
    chat_request,
    embedding_request,
)


def _body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_chat_body_is_read_with_its_workspace_earlier_turns_and_last_question() -> None:
    request = chat_request(_body(model="workspace:Notes", stream=True, max_tokens=5, messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "first"}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]))  # fmt: skip
    assert (request.workspace, request.question, request.stream) == ("Notes", "second", True)
    assert request.earlier_turns == [("first", "ok")]  # a follow-up keeps the conversation
    plain = chat_request(_body(model="embedded:x", messages=[{"role": "user", "content": "hi"}]))
    assert request.max_tokens == 5 and plain.workspace is None and not plain.stream


@pytest.mark.parametrize(
    ("body", "param", "reason"),
    [
        (b"{oops", None, "not valid JSON"),
        (b"[1]", None, "JSON object"),
        (_body(messages=[{"role": "user", "content": "hi"}]), "model", "'model' is required"),
        (_body(model="m", messages=[]), "messages", "non-empty list"),
        (_body(model="m", messages=[{"role": "robot", "content": "hi"}]), "messages[0].role",
         "needs a role"),
        (_body(model="m", messages=[{"role": "user", "content": 3}]), "messages[0].content",
         "must be a string"),
        (_body(model="m", messages=[{"role": "system", "content": "x"}]), "messages",
         "no user message"),
        (_body(model="m", messages=[{"role": "user", "content": "x"}], max_tokens=0),
         "max_tokens", "whole number"),
        (_body(model="m", messages=[{"role": "user", "content": "x"}], temperature="hot"),
         "temperature", "a number from"),
        (_body(model="m", messages=[{"role": "user", "content": "x"}], stream="yes"), "stream",
         "true or false"),
    ],
)  # fmt: skip
def test_a_malformed_chat_body_says_what_is_wrong_and_where(
    body: bytes, param: str | None, reason: str
) -> None:
    with pytest.raises(RequestError) as raised:
        chat_request(body)
    assert raised.value.param == param and reason in raised.value.message


def test_embedding_bodies_take_a_string_or_strings_and_an_encoding() -> None:
    assert embedding_request(_body(model="m", input="a")).texts == ["a"]
    assert embedding_request(_body(model="m", input=["a"], encoding_format="base64")).base64
    for bad in ({"input": []}, {"input": [1]}, {"input": "a", "encoding_format": "hex"}):
        with pytest.raises(RequestError):
            embedding_request(_body(model="m", **bad))


def test_only_the_exact_bearer_key_is_authorized() -> None:
    assert authorized("Bearer secret-key", "secret-key")
    for header in (None, "", "secret-key", "Bearer secret-keyX", "Basic secret-key", "Bearer "):
        assert not authorized(header, "secret-key")


def test_a_host_other_machines_can_reach_gets_a_loud_warning() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert exposure_warning("127.0.0.1", 8765) is None
    for host in ("0.0.0.0", "192.168.1.5", "my-laptop.local"):
        warning = exposure_warning(host, 8765)
        assert warning is not None and "WARNING" in warning and "other computers" in warning
