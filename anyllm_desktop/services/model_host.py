"""One thread owns the loaded chat model; every call reaches it through a queue.

llama.cpp contexts are not thread-safe, and loading a model twice doubles its memory. A
``ModelHost`` starts one daemon thread that owns the provider; ``run`` executes a function on
it and returns the result, ``stream`` relays a provider stream's events as they are produced.
The GUI's workers and the CLI both go through it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.providers.base import ChatProvider, GenerationOptions

T = TypeVar("T")
_END = object()


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

    def run(self, function: Callable[[ChatProvider], T]) -> T:
        """``function(provider)`` on the owner thread; its result, or its exception re-raised."""
        done: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

        def job() -> None:
            try:
                done.put((True, function(self._provider)))
            except BaseException as exc:  # handed to the caller's thread
                done.put((False, exc))

        self._submit(job)
        ok, value = done.get()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def _relay(self, produce: Callable[[], Iterator[Event]], failure: str) -> Iterator[Event]:
        """Events of ``produce()`` run on the owner thread, yielded here as they come."""
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
        while (event := events.get()) is not _END:
            yield event

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]:
        return self._relay(
            lambda: self._provider.stream(messages, options, cancel), "The model failed"
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

    def close(self) -> None:
        """Unload the model and end the owner thread; later calls raise RuntimeError."""
        if self._closed:
            return
        self.run(_unload)
        with self._closing:
            self._closed = True
            self._jobs.put(None)
        self._thread.join(timeout=10)
