"""Reading what a provider's server sends without trusting it: bounded lines, bounded bodies,
and a stream read on a thread of its own so that the reader's wait can end at any moment.

Why a thread: a blocked socket read cannot be interrupted from Python, and a server that sends
keep-alives (or nothing) keeps it blocked until the read timeout, or forever. The stream's
generator therefore runs in a :class:`Pump`; the caller polls it and checks its cancel token,
deadline and idle time between polls. A pump that is abandoned stops at its next item (and its
thread, a daemon, ends at the latest at the read timeout), closing its response itself.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

#: The longest line of a stream (a whole answer in one event is far shorter).
MAX_LINE_BYTES = 1 << 20
#: What is read of an error body (the provider's message is in its first few hundred bytes).
MAX_ERROR_BYTES = 64 << 10
#: The largest JSON answer read whole (96 embeddings of 4,096 dimensions are ~9 MiB as text).
MAX_ANSWER_BYTES = 32 << 20

T = TypeVar("T")
#: What :meth:`Pump.get` returns once the iterator has ended.
END = object()


class TooLarge(ValueError):
    """A line or a body passed its limit (``limit`` bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def size_text(limit: int) -> str:
    """``1 MiB``, ``64 KiB``: a limit as people read it."""
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"


def split_lines(chunks: Iterable[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[str]:
    """The lines (``\\n``, ``\\r\\n`` or ``\\r``) of a byte stream, decoded; a line longer than
    ``limit`` raises :class:`TooLarge` once ``limit`` bytes of it have come, so memory stays
    within about ``limit`` plus one chunk whatever the server sends."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        if b"\n" in chunk or b"\r" in chunk:
            lines = bytes(pending).splitlines(keepends=True)
            pending.clear()
            if lines[-1].endswith(b"\r") or not lines[-1].endswith((b"\n", b"\r")):
                pending += lines.pop()  # unfinished (or a "\r" whose "\n" may follow)
            for line in lines:
                if len(line) > limit + 2:
                    raise TooLarge(limit)
                yield line.rstrip(b"\r\n").decode("utf-8", "replace")
        if len(pending) > limit:
            raise TooLarge(limit)
    if pending:
        yield bytes(pending).rstrip(b"\r\n").decode("utf-8", "replace")


def read_at_most(response: Any, limit: int) -> tuple[bytes, bool]:
    """The body of an httpx streaming response, up to ``limit`` bytes, and whether it was cut
    there (the rest is never read: the connection is closed with the response)."""
    chunks, cut = _chunks_up_to(response, limit)
    return b"".join(chunks), cut


def read_whole(response: Any, limit: int) -> bytes:
    """The whole body of an httpx streaming response; :class:`TooLarge` once it passes
    ``limit``, having held at most ``limit`` bytes (a body that fits is joined once: twice its
    size for a moment, where a growing buffer's reallocations left up to four times resident)."""
    chunks, cut = _chunks_up_to(response, limit)
    if cut:
        raise TooLarge(limit)
    return b"".join(chunks)


def _chunks_up_to(response: Any, limit: int) -> tuple[list[bytes], bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            chunks.append(chunk[: len(chunk) - (size - limit)])
            return chunks, True
        chunks.append(chunk)
    return chunks, False


class Pump(Generic[T]):
    """Runs ``items`` on a daemon thread and hands them over through a small queue."""

    def __init__(self, items: Iterator[T], *, name: str = "provider-stream", size: int = 64):
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _run(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the reading thread
            self._put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # here, on this thread: its responses and clients close with it

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, timeout: float) -> T | object:
        """The next item, or :data:`END`; :class:`queue.Empty` when none came within
        ``timeout``; what the iterator raised, raised here."""
        kind, value = self._queue.get(timeout=timeout)
        if kind == "end":
            return END
        if kind == "error":
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop waiting for the thread: it ends at its next item, or at its read timeout."""
        self._stop.set()

    def __enter__(self) -> Pump[T]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
