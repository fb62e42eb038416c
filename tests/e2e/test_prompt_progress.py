"""The wait before the first token shows how much of the prompt was read, and Stop works
there (the real embedded model through llama-cpp-python)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Progress, Token
from anyllm_desktop.providers.base import GenerationOptions
from anyllm_desktop.services.chat import ChatService
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.runtime import Runtime
from tests.e2e.conftest import DATA, ingest

pytestmark = pytest.mark.e2e

#: About 600 tokens: three batches of 256.
LONG = " ".join(f"Item {n} is stored in box {n % 7}." for n in range(70))
MESSAGES = [ChatMessage("user", f"Context: {LONG}\nQuestion: Where is item 12?")]
#: Another start: nothing of it is in the KV cache.
OTHER = [ChatMessage("user", f"Notes: {LONG}\nQuestion: Where is item 13?")]


def test_prompt_reading_is_reported_and_stop_ends_it_before_any_token(anyllm_home: Path) -> None:
    provider = Runtime.open(anyllm_home).create_chat_provider(provider="local")
    provider.load()  # type: ignore[attr-defined]
    options = GenerationOptions(temperature=0.0, max_tokens=8)
    events = list(provider.stream(MESSAGES, options, CancelToken()))
    reading = [e for e in events if isinstance(e, Progress) and e.stage == "prompt"]
    total = reading[-1].total
    assert total > 520 and len(reading) >= 3
    assert [e.done for e in reading] == sorted(e.done for e in reading)
    assert reading[-1].done == total and f"/ {total:,} tokens" in reading[-1].message
    first_token = next(i for i, e in enumerate(events) if isinstance(e, Token))
    assert first_token > events.index(reading[-1])  # all read before the first token

    cancel = CancelToken()
    stopped = []
    for event in provider.stream(OTHER, options, cancel):
        stopped.append(event)
        if isinstance(event, Progress) and event.stage == "prompt":
            cancel.cancel()  # Stop while the prompt is being read
    assert not any(isinstance(e, Token) for e in stopped)
    done = stopped[-1]
    assert isinstance(done, Done) and done.result.stopped
    provider.unload()  # type: ignore[attr-defined]


def test_an_answer_says_how_much_of_its_passages_was_read_and_how_full_the_window_was(
    library: Library,
) -> None:
    library.create_workspace("FAQ")
    ingest(library, "FAQ", DATA / "debian-faq-archives.html")
    library.update_chat("FAQ", temperature=0.0, max_answer_tokens=16)
    host = ModelHost(library.runtime.create_chat_provider())
    try:
        events = list(ChatService(library, host).ask("FAQ", "What is the codename of unstable?"))
    finally:
        host.close()
    reading = [e for e in events if isinstance(e, Progress) and e.stage == "prompt"]
    passages = len(events[-1].result.sources)
    assert reading and reading[-1].message.startswith(f"Reading {passages} passages: ")
    assert reading[-1].message.endswith(f"{reading[-1].total:,} / {reading[-1].total:,} tokens")
    timings = events[-1].result.timings
    assert timings["context_size"] >= timings["prompt_tokens"] > 0
    assert timings["passages_left_out"] == 0 and timings["turns_left_out"] == 0
