"""Reading a file's bytes safely: only regular files, never more than a bound."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


class NotARegularFileError(OSError):
    """A pipe, device, socket or folder where a file was expected."""


def file_hash(path: Path, limit: int | None = None) -> str:
    """The SHA-256 of a regular file's bytes, at most ``limit`` of them read. Opened without
    blocking and checked after opening: a FIFO or a link to /dev/zero hung ingestion forever."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotARegularFileError(f"{path} is not a regular file")
        digest = hashlib.sha256()
        left = limit if limit is not None else -1
        while left and (block := handle.read(1 << 20 if left < 0 else min(1 << 20, left))):
            digest.update(block)
            left -= len(block) if left > 0 else 0
    return digest.hexdigest()
