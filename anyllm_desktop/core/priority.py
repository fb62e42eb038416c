"""Sharing the cores: background work waits while an answer is being generated.

llama.cpp's generation speed collapses when another thread competes for the cores
(ENVIRONMENT.md), so ingestion checks ``wait_for_foreground`` between embedding batches and
pauses while any answer streams; it resumes by itself when the answer is done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from anyllm_desktop.core.cancel import CancelToken


class CorePriority:
    def __init__(self) -> None:
        self._active = 0
        self._idle = threading.Condition()

    @contextmanager
    def foreground(self) -> Iterator[None]:
        """Mark an answer in progress for the duration of the block."""
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    @property
    def busy(self) -> bool:
        return self._active > 0

    def wait_for_foreground(self, cancel: CancelToken, poll_s: float = 0.1) -> None:
        """Return once no answer is in progress, or once ``cancel`` is set."""
        with self._idle:
            while self._active and not cancel.cancelled:
                self._idle.wait(poll_s)
