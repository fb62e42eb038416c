"""One writer per workspace index, across processes and threads.

Two `anyllm ingest` runs of the same files into one workspace both reported every file indexed
and left hundreds of orphan rows; a file ingested while a re-embed ran went into the table that
was about to be replaced. Every write to a workspace's passages (ingest, re-index, re-embed,
removing a document, deleting the workspace) therefore holds this lock: an OS file lock
(``filelock``: ``flock`` on Unix, ``LockFileEx`` on Windows), taken on a file of its own per
workspace. The OS releases it when the holder dies, so a crashed process never leaves it held.
Each acquisition opens the file anew, so two threads of one process exclude each other too.

Beside the lock, the holder writes who it is (pid, job, since), so a waiting writer can say
what it waits for. Reads (search, answers) never take it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Progress

#: Seconds between attempts while another writer holds the lock.
POLL_S = 0.2


@dataclass(frozen=True)
class Holder:
    pid: int
    job: str
    since: float

    @property
    def this_process(self) -> bool:
        return self.pid == os.getpid()

    def describe(self) -> str:
        doing = {
            "ingest": "being indexed",
            "reindex": "being re-indexed",
            "reembed": "being re-embedded",
            "remove": "removing a document",
            "delete": "being deleted",
        }.get(self.job, f"busy ({self.job})")
        where = "in this app" if self.this_process else f"by another process (pid {self.pid})"
        return f"{doing} {where}"


class HeldLock:
    """A lock this thread holds; ``release`` (or leaving the ``with`` block) gives it up."""

    def __init__(self, lock: FileLock, info: Path) -> None:
        self._lock = lock
        self._info = info

    def release(self) -> None:
        if self._lock.is_locked:
            self._info.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.release()


class WriterLocks:
    """The writer locks of every workspace, as files in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.lock", self.folder / f"{key}.holder.json"

    def holder(self, key: str) -> Holder | None:
        """Who holds the lock of ``key``, as far as its holder said (None: nobody said)."""
        try:
            data = json.loads(self._paths(key)[1].read_text(encoding="utf-8"))
            return Holder(int(data["pid"]), str(data["job"]), float(data["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def try_acquire(self, key: str, job: str) -> HeldLock | None:
        """The lock of ``key`` if it is free now, else None."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path, info = self._paths(key)
        lock = FileLock(path, mode=0o600, thread_local=False, is_singleton=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        # On a full disk the lock holds all the same; only the "who" is unknown.
        with contextlib.suppress(OSError):
            info.write_text(
                json.dumps({"pid": os.getpid(), "job": job, "since": time.time()}),
                encoding="utf-8",
            )
        return HeldLock(lock, info)

    def acquire(
        self, key: str, job: str, cancel: CancelToken, what: str
    ) -> Generator[Progress, None, HeldLock | None]:
        """Wait for the lock of ``key`` (``what`` names it for people), yielding a Progress
        that says what is being waited for; the held lock, or None when cancelled first."""
        said = ""
        while not cancel.cancelled:
            held = self.try_acquire(key, job)
            if held is not None:
                return held
            holder = self.holder(key)
            message = f"Waiting: {what} is " + (
                holder.describe() if holder else "being changed by another process"
            )
            if message != said:
                said = message
                yield Progress("wait", 0, 0, message)
            cancel.wait(POLL_S)
        return None
