"""Every request runs on one thread, in arrival order: the thread that opened the library (its
SQLite connections) and that hands the loaded model its work. Concurrent requests wait in the
queue instead of racing on one llama.cpp context; none is dropped, a failing one fails alone.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

E = TypeVar("E")
_END = object()


class QueueClosedError(RuntimeError):
    pass


class RequestQueue(Generic[E]):
    """``open_engine`` runs on the queue's thread, so what it opens belongs to that thread;
    ``close_engine`` runs there too, after the last request."""

    def __init__(self, open_engine: Callable[[], E], close_engine: Callable[[E], None]) -> None:
        self._open, self._close_engine = open_engine, close_engine
        self._jobs: queue.Queue[Callable[[E], None] | None] = queue.Queue()
        self._ready: queue.Queue[BaseException | None] = queue.Queue(maxsize=1)
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="api-requests", daemon=True)
        self._thread.start()
        if (failure := self._ready.get()) is not None:
            raise failure

    def _serve(self) -> None:
        try:
            engine = self._open()
        except BaseException as exc:  # said to the constructor's caller
            self._ready.put(exc)
            return
        self._ready.put(None)
        try:
            while (job := self._jobs.get()) is not None:
                job(engine)
        finally:
            self._close_engine(engine)

    @property
    def waiting(self) -> int:
        """Requests queued behind the one running (for the log)."""
        return self._jobs.qsize()

    def _submit(self, job: Callable[[E], None]) -> None:
        with self._lock:
            if self._closed:
                raise QueueClosedError("the API server is shutting down")
            self._jobs.put(job)

    def stream(self, produce: Callable[[E], Iterator[Any]]) -> Iterator[Any]:
        """The items of ``produce(engine)``, made on the queue's thread, yielded here as they
        come; its exception is raised here. Dropping this iterator early lets the job finish
        unread (its items are discarded), so the queue moves on."""
        items: queue.Queue[Any] = queue.Queue()

        def job(engine: E) -> None:
            try:
                for item in produce(engine):
                    items.put((True, item))
            except BaseException as exc:  # handed to the request's thread
                items.put((False, exc))
            finally:
                items.put(_END)

        self._submit(job)
        while (entry := items.get()) is not _END:
            ok, value = entry
            if not ok:
                raise value
            yield value

    def run(self, function: Callable[[E], Any]) -> Any:
        """``function(engine)`` on the queue's thread; its result, or its exception raised."""

        def produce(engine: E) -> Iterator[Any]:
            yield function(engine)

        return next(iter(self.stream(produce)))

    def close(self, wait_s: float = 30.0) -> None:
        """Let queued requests finish, then close the engine on its thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(None)
        self._thread.join(timeout=wait_s)
