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
from anyllm_desktop.core.events import Error, Event
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
        self._thread = threading.Thread(target=self._serve, name="model-owner", daemon=True)
        self._thread.start()

    @property
    def provider(self) -> ChatProvider:
        return self._provider

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def run(self, function: Callable[[ChatProvider], T]) -> T:
        """``function(provider)`` on the owner thread; its result, or its exception re-raised."""
        done: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

        def job() -> None:
            try:
                done.put((True, function(self._provider)))
            except BaseException as exc:  # handed to the caller's thread
                done.put((False, exc))

        self._jobs.put(job)
        ok, value = done.get()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]:
        events: queue.Queue[Any] = queue.Queue()

        def job() -> None:
            try:
                for event in self._provider.stream(messages, options, cancel):
                    events.put(event)
            except BaseException as exc:  # a provider that raises instead of yielding Error
                events.put(Error(f"The model failed: {exc}", detail=repr(exc)))
            finally:
                events.put(_END)

        self._jobs.put(job)
        while (event := events.get()) is not _END:
            yield event

    def switch(self, provider: ChatProvider) -> None:
        """Unload the current model (on its thread) and serve ``provider`` from now on."""

        def swap(old: ChatProvider) -> None:
            _unload(old)
            self._provider = provider

        self.run(swap)

    def close(self) -> None:
        self.run(_unload)
        self._jobs.put(None)
        self._thread.join(timeout=10)
