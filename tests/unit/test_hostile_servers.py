"""Servers that misbehave on purpose, on a real loopback HTTP server: keep-alives forever, an
answer that never ends, a silent server after a few tokens, an endless line, a huge error body,
replies of the wrong JSON shape. Each one ends quickly with a sentence that names the provider,
the partial answer kept, and memory small; a stuck provider never holds up the model host."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Token
from anyllm_desktop.providers.base import GenerationOptions
from anyllm_desktop.providers.cloud_embeddings import GeminiEmbedder, OpenAIEmbedder
from anyllm_desktop.providers.cloud_formats import (
    AnthropicProvider,
    GeminiProvider,
    OpenAICompatibleProvider,
)
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.services.model_host import ModelHost
from tests.replay_server import Replay, Reply
from tests.unit.test_cloud_providers import ANTHROPIC_STREAM, MESSAGES, OPENAI_STREAM, _endpoint

OPTIONS = GenerationOptions(temperature=0.0, max_tokens=32)
TOKEN = b'data: {"choices": [{"delta": {"content": "la "}}]}\n\n'
MIB = 1 << 20


# -- scripted hostile bodies (each ends by itself: bounded in time and bytes) -----------------


def _repeat(head: list[bytes], piece: bytes, every_s: float, for_s: float,
            limit: int = 10**9) -> Iterator[bytes]:  # fmt: skip
    """``head``, then ``piece`` every ``every_s`` for ``for_s`` (at most ``limit`` bytes)."""
    yield from head
    end, sent = time.monotonic() + for_s, 0
    while time.monotonic() < end and sent < limit:
        if every_s:
            time.sleep(every_s)  # the server's pace, not a wait in the test
        yield piece
        sent += len(piece)


def _silent_after(head: list[bytes], for_s: float) -> Iterator[bytes]:
    yield from head
    time.sleep(for_s)  # a server that stalls mid-answer


def _events(provider: Any, cancel: CancelToken | None = None) -> tuple[list[Event], float]:
    started = time.monotonic()
    events = list(provider.stream(MESSAGES, OPTIONS, cancel or CancelToken()))
    return events, time.monotonic() - started


def _text(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, Token))


def _error(events: list[Event]) -> str:
    assert isinstance(events[-1], Error), events[-3:]
    return events[-1].message


def _rss_growth(action: Callable[[], object]) -> tuple[object, int]:
    """What ``action`` returned or raised, and how far this process's RSS rose above where it
    started while it ran (sampled every 5 ms)."""
    process = psutil.Process()
    baseline = peak = process.memory_info().rss
    running = True

    def sample() -> None:
        nonlocal peak
        while running:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result: object = action()
    except ProviderError as exc:
        result = exc
    finally:
        running = False
        sampler.join()
    return result, peak - baseline


# -- time: keep-alives, an endless answer, a silent server --------------------------------------


@pytest.mark.parametrize(
    ("provider_class", "head", "ping"),
    [
        (OpenAICompatibleProvider, OPENAI_STREAM[:2], b": ping\n\n"),
        (AnthropicProvider, ANTHROPIC_STREAM[:4], b'event: ping\ndata: {"type": "ping"}\n\n'),
    ],
    ids=["openai-comment", "anthropic-ping-event"],
)
def test_keepalives_are_not_progress_the_idle_timeout_stops_and_keeps_the_partial(
    server: Replay, provider_class: type, head: list[bytes], ping: bytes
) -> None:
    server.replies = [Reply(chunks=_repeat(head, ping, every_s=0.1, for_s=20))]
    events, took = _events(provider_class(_endpoint(server.url, timeout_s=1.0)))
    assert took < 8, "keep-alives must not keep a stalled answer going"
    assert _text(events) == "Sid is "
    assert _error(events) == "TestCloud sent nothing for 1 s; stopped. The partial answer is kept."


def test_an_answer_that_never_ends_stops_at_the_overall_deadline(server: Replay) -> None:
    server.replies = [Reply(chunks=_repeat([], TOKEN, every_s=0.05, for_s=20))]
    events, took = _events(OpenAICompatibleProvider(_endpoint(server.url, deadline_s=1.0)))
    assert took < 8
    assert _text(events).startswith("la la ")
    assert _error(events) == (
        "TestCloud was still answering after 1 s; stopped. The partial answer is kept."
    )


def test_a_server_streaming_past_max_tokens_is_cut_off_with_finish_length(server: Replay) -> None:
    server.replies = [Reply(chunks=_repeat([], TOKEN, every_s=0, for_s=20, limit=50 * MIB),
                            pause_s=0)]  # fmt: skip
    events, took = _events(OpenAICompatibleProvider(_endpoint(server.url)))
    assert took < 8
    done = events[-1]
    assert isinstance(done, Done), events[-3:]
    assert done.result.finish_reason == "length" and not done.result.stopped
    count = done.result.text.count("la ")
    assert OPTIONS.max_tokens < count <= 2 * OPTIONS.max_tokens + 64  # margin, then cut


def test_cancel_stops_the_wait_on_a_silent_server_at_once(server: Replay) -> None:
    # The token's line ends, its event's blank line never comes: nothing left to read.
    head = [OPENAI_STREAM[0], OPENAI_STREAM[1].removesuffix(b"\n")]
    server.replies = [Reply(chunks=_silent_after(head, for_s=15))]
    cancel = CancelToken()
    stream = OpenAICompatibleProvider(_endpoint(server.url, timeout_s=30)).stream(
        MESSAGES, OPTIONS, cancel
    )
    assert next(e for e in stream if isinstance(e, Token)) == Token("Sid is ")
    cancel.cancel()
    started = time.monotonic()
    rest = list(stream)
    assert time.monotonic() - started < 3, "the cancel waited for the server"
    assert isinstance(rest[-1], Done) and rest[-1].result.stopped
    assert rest[-1].result.text == "Sid is "


# -- size: an endless line, a huge error body ---------------------------------------------------


def test_an_endless_data_line_ends_quickly_in_little_memory(server: Replay) -> None:
    endless = _repeat([b'data: {"choices": "'], b"x" * 65536, every_s=0, for_s=20,
                      limit=400 * MIB)  # fmt: skip
    server.replies = [Reply(chunks=endless, pause_s=0)]
    provider = OpenAICompatibleProvider(_endpoint(server.url))
    (events, took), grown = _rss_growth(lambda: _events(provider))  # type: ignore[misc]
    assert grown < 100 * MIB, f"RSS grew by {grown / MIB:.0f} MiB"
    assert took < 8
    assert _error(events) == "TestCloud sent a line longer than 1 MiB; stopped."


def test_a_huge_error_body_is_read_only_as_far_as_needed(server: Replay) -> None:
    huge = _repeat([b'{"error": {"message": "'], b"e" * 65536, every_s=0, for_s=20,
                   limit=300 * MIB)  # fmt: skip
    server.replies = [Reply(400, huge, pause_s=0)]
    provider = OpenAICompatibleProvider(_endpoint(server.url))
    (events, took), grown = _rss_growth(lambda: _events(provider))  # type: ignore[misc]
    assert grown < 100 * MIB, f"RSS grew by {grown / MIB:.0f} MiB"
    assert took < 8
    assert _error(events).startswith("TestCloud rejected the request (HTTP 400).")


def test_embeddings_cap_error_bodies_and_answers(server: Replay) -> None:
    embedder = OpenAIEmbedder(_endpoint(server.url), name="oa", backoff_s=0.01)
    big = b"9" * 65536
    server.replies = [
        Reply(400, _repeat([b'{"error": "'], big, 0, 20, limit=300 * MIB), pause_s=0),
        Reply(200, _repeat([b'{"data": [{"embedding": [0.'], big, 0, 20, limit=300 * MIB),
              pause_s=0),
    ]  # fmt: skip
    rejected, grown = _rss_growth(lambda: embedder.embed(["a"]))
    assert grown < 100 * MIB, f"RSS grew by {grown / MIB:.0f} MiB"
    assert str(rejected).startswith("TestCloud rejected the request (HTTP 400).")
    oversized, grown = _rss_growth(lambda: embedder.embed(["a"]))
    assert grown < 100 * MIB, f"RSS grew by {grown / MIB:.0f} MiB"
    assert str(oversized) == "TestCloud sent an answer larger than 32 MiB; stopped."


# -- shape: JSON the app cannot read ------------------------------------------------------------

WRONG_SHAPES = [
    (OpenAICompatibleProvider, "[1, 2]"),
    (OpenAICompatibleProvider, '{"choices": "many"}'),
    (OpenAICompatibleProvider, '{"choices": [{"delta": {"content": 5}}]}'),
    (OpenAICompatibleProvider, '{"choices": [], "usage": {"prompt_tokens": "lots"}}'),
    (AnthropicProvider, '{"type": "content_block_delta", "delta": "text"}'),
    (AnthropicProvider, '{"type": "message_start", "message": ["usage"]}'),
    (GeminiProvider, '{"candidates": ["oops"]}'),
    (GeminiProvider, '{"candidates": [{"content": {"parts": [{"text": ["a"]}]}}]}'),
]


@pytest.mark.parametrize(("provider_class", "event"), WRONG_SHAPES)
def test_a_reply_of_the_wrong_shape_names_the_provider_and_what_it_sent(
    server: Replay, provider_class: type, event: str
) -> None:
    server.replies = [Reply(chunks=[f"data: {event}\n\n".encode()])]
    host = ModelHost(provider_class(_endpoint(server.url)))
    try:
        events = list(host.stream(MESSAGES, OPTIONS, CancelToken()))
    finally:
        host.close()
    assert _error(events) == f"TestCloud sent a reply this app cannot read: {event}"


def test_model_lists_and_embeddings_of_the_wrong_shape(server: Replay) -> None:
    listing = '[{"id": "gpt"}]'
    server.replies = [Reply(chunks=[listing.encode()])]
    with pytest.raises(ProviderError) as raised:
        OpenAICompatibleProvider(_endpoint(server.url)).list_models()
    assert str(raised.value) == f"TestCloud sent a reply this app cannot read: {listing}"

    bodies = ["[1, 2]", '{"data": [[0.5]]}', '{"data": [{"embedding": "abc"}]}',
              '{"data": [{"embedding": [1, 2]}, {"embedding": [1]}]}',
              '{"data": ' + json.dumps([{"vector": [0.1] * 80}]) + "}"]  # fmt: skip
    embedder = OpenAIEmbedder(_endpoint(server.url), name="oa")
    for body in bodies:
        server.replies = [Reply(chunks=[body.encode()])]
        with pytest.raises(ProviderError) as raised:
            embedder.embed(["a", "b"] if "[1]" in body else ["a"])
        assert str(raised.value) == (
            f"TestCloud sent a reply this app cannot read (not a list of embeddings): {body[:200]}"
        )
    server.replies = [Reply(chunks=[b'{"embeddings": {"values": [1]}}'])]
    with pytest.raises(ProviderError, match=r"cannot read \(not a list of embeddings\): {"):
        GeminiEmbedder(_endpoint(server.url), name="g").embed(["a"])


# -- the model host: a provider that ignores the cancel ------------------------------------------


class _Stuck:
    """Sends one token, then blocks (a read on a silent socket) until released."""

    name = "stuck"
    model = "stuck-1"

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def stream(self, *_args: object) -> Iterator[Event]:
        yield Token("partial ")
        self.release.wait()
        yield Token("never seen")


def _within(seconds: float, action: Callable[[], object]) -> object:
    """``action()``'s result, failing the test if it has not returned after ``seconds``."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(action()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting after {seconds} s"
    return result[0]


def test_a_stuck_provider_neither_swallows_the_cancel_nor_blocks_close() -> None:
    release = threading.Event()
    host = ModelHost(_Stuck(release))  # type: ignore[arg-type]
    cancel = CancelToken()
    try:
        stream = host.stream(MESSAGES, OPTIONS, cancel)
        assert next(stream) == Token("partial ")
        cancel.cancel()
        rest = _within(10, lambda: list(stream))
        assert isinstance(rest, list) and isinstance(rest[-1], Done)
        assert rest[-1].result.stopped and rest[-1].result.text == "partial "
        _within(10, lambda: host.close(wait_s=0.5))
        with pytest.raises(RuntimeError, match="closed"):
            host.run(lambda p: p.model)
    finally:
        release.set()
