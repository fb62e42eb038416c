"""How far an ingest is, in the unit that costs: passages embedded of the passages expected.

The expected count is the passages of the files chunked so far plus, for the bytes not yet
read, as many per byte as those files had (before any, a plain-text guess from the chunk
size). The ETA follows from the passage rate; the message says which file of how many."""

from __future__ import annotations

import time

from anyllm_desktop.core.events import Progress

#: For the first estimate of a run's passages, before any file is chunked (plain text).
CHARACTERS_PER_TOKEN = 4


class IngestProgress:
    def __init__(self, chunk_tokens: int) -> None:
        self._chunk_tokens = chunk_tokens
        self._started = time.perf_counter()
        #: Bytes of the files to embed (a file that fails to read leaves the count).
        self.bytes_total = 0
        #: Passages embedded and written.
        self.passages_done = 0
        self._known = 0
        self._bytes_chunked = 0

    def chunked(self, passages: int, size: int = 0) -> None:
        """``passages`` more are known; ``size``: the bytes of the file they complete."""
        self._known += passages
        self._bytes_chunked += size

    def expected(self) -> int:
        total = self._known
        if (unread := self.bytes_total - self._bytes_chunked) > 0:
            per_byte = (self._known / self._bytes_chunked if self._bytes_chunked
                        else 1 / (CHARACTERS_PER_TOKEN * self._chunk_tokens))  # fmt: skip
            total += round(unread * per_byte)
        return total

    def event(self, stage: str, file_number: int, files: int, message: str,
              embedded_now: int = 0) -> Progress:  # fmt: skip
        done = self.passages_done + embedded_now
        total = max(self.expected(), done)
        elapsed = time.perf_counter() - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 and total > done and elapsed > 2 else None
        text = f"{message} · file {file_number} of {files}"
        if done:
            text += f" · {done:,} of ~{total:,} passages ({rate:.0f}/s)"
        return Progress(stage, done, total, text, eta)
