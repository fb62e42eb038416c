"""One thread owns the loaded chat model; every call reaches it through a queue.

llama.cpp contexts are not thread-safe, and loading a model twice doubles its memory. A
``ModelHost`` starts one daemon thread that owns the provider; ``run`` executes a function on
it and returns the result, ``stream`` relays a provider stream's events as they are produced.
The GUI's workers and the CLI both go through it.

A provider stuck inside a job (a read on a silent socket, a backend that ignores the cancel)
must not hold its callers: a cancelled stream's relay stops waiting after a short grace and ends
with the partial answer, and ``close`` waits a bounded time, then abandons the owner thread (a
daemon) instead of hanging the exit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Event, Token
from anyllm_desktop.providers.base import ChatProvider, Completion, GenerationOptions

T = TypeVar("T")
_END = object()
#: Seconds a cancelled stream may take to end before its relay stops waiting for it.
CANCEL_GRACE_S = 2.0


def _unload(provider: ChatProvider) -> None:
    unload = getattr(provider, "unload", None)
    if unload is not None:
        unload()


class ModelHost:
    def __init__(self, provider: ChatProvider) -> None:
        self._provider = provider
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._closed = False
        self._closing = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="model-owner", daemon=True)
        self._thread.start()

    @property
    def provider(self) -> ChatProvider:
        return self._provider

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def _submit(self, job: Callable[[], None]) -> None:
        """Queue ``job`` for the owner thread; after ``close`` nobody would run it (and its
        caller would wait forever), so that is an error instead."""
        with self._closing:
            if self._closed:
                raise RuntimeError("the model host is closed")
            self._jobs.put(job)

    def run(self, function: Callable[[ChatProvider], T], timeout_s: float | None = None) -> T:
        """``function(provider)`` on the owner thread; its result, or its exception re-raised;
        TimeoutError when it has not finished within ``timeout_s`` (it still runs later)."""
        done: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

        def job() -> None:
            try:
                done.put((True, function(self._provider)))
            except BaseException as exc:  # handed to the caller's thread
                done.put((False, exc))

        self._submit(job)
        try:
            ok, value = done.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"the model thread is busy after {timeout_s} s") from None
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def _relay(
        self, produce: Callable[[], Iterator[Event]], failure: str,
        cancel: CancelToken | None = None,
    ) -> Iterator[Event]:  # fmt: skip
        """Events of ``produce()`` run on the owner thread, yielded here as they come. With
        ``cancel`` (a chat stream): once cancelled, at most CANCEL_GRACE_S more of waiting,
        then Done with the text relayed so far, stopped."""
        events: queue.Queue[Any] = queue.Queue()

        def job() -> None:
            try:
                for event in produce():
                    events.put(event)
            except BaseException as exc:  # a provider that raises instead of yielding Error
                events.put(Error(f"{failure}: {exc}", detail=repr(exc)))
            finally:
                events.put(_END)

        self._submit(job)
        relayed: list[str] = []
        given_up_at: float | None = None
        while True:
            if cancel is not None and cancel.cancelled:
                given_up_at = given_up_at or time.monotonic() + CANCEL_GRACE_S
                if time.monotonic() >= given_up_at:
                    yield Done(_stopped("".join(relayed), len(relayed)))
                    return
            try:
                event = events.get(timeout=None if cancel is None else 0.1)
            except queue.Empty:
                continue
            if event is _END:
                return
            if isinstance(event, Token):
                relayed.append(event.text)
            yield event

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]:
        return self._relay(
            lambda: self._provider.stream(messages, options, cancel), "The model failed", cancel
        )

    def load(self, cancel: CancelToken) -> Iterator[Event]:
        """Load the provider's model now, with Progress, ending in Done(model name), or in
        Done(None) when cancelled first. Providers with nothing to load finish at once."""

        def produce() -> Iterator[Event]:
            steps = getattr(self._provider, "load_steps", None)
            if steps is not None:
                yield from steps(cancel)
            loaded = getattr(self._provider, "loaded", True)
            yield Done(self._provider.model if loaded else None)

        return self._relay(produce, "The model could not be loaded")

    def unload(self) -> None:
        """Free the model's memory; the next question or ``load`` loads it again."""
        self.run(_unload)

    def switch(self, provider: ChatProvider, cancel: CancelToken | None = None) -> Iterator[Event]:
        """Unload the current model, then serve and load ``provider``, with progress. When the
        new model fails to load, the host keeps serving it (unloaded) and the Error says why."""

        def swap(old: ChatProvider) -> None:
            _unload(old)
            self._provider = provider

        self.run(swap)
        return self.load(cancel or CancelToken())

    def close(self, wait_s: float = 10.0) -> None:
        """Unload the model and end the owner thread; later calls raise RuntimeError. An owner
        thread still inside a job after ``wait_s`` (a provider stuck on a silent server) is
        abandoned: it is a daemon, and the model goes with the process."""
        if self._closed:
            return
        try:
            self.run(_unload, timeout_s=wait_s)
            ended = True
        except TimeoutError:
            ended = False
        with self._closing:
            self._closed = True
            self._jobs.put(None)
        if ended:
            self._thread.join(timeout=wait_s)


def _stopped(text: str, pieces: int) -> Completion:
    """A stream given up after its cancel: what came so far, marked stopped."""
    return Completion(
        text=text, stopped=True, ttft_s=0.0, tokens_per_s=0.0, prompt_tokens=0,
        cached_tokens=0, completion_tokens=pieces, finish_reason="cancelled",
    )  # fmt: skip
