"""Failures of the disk and the stores, said in words: which folder, what is wrong, what to do.

A full disk left the stores consistent (SQLite and LanceDB write atomically) but every command
showed a raw traceback; a damaged database or data file showed one without its path. The CLI and
the GUI turn such exceptions into these messages instead.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from anyllm_desktop.core.paths import AppPaths
from anyllm_desktop.store.database import disk_is_full

_FULL_MARKS = ("database or disk is full", "no space left on device", "disk quota exceeded")


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(mark in str(exc).lower() for mark in _FULL_MARKS)


def _may_be_the_disk(exc: BaseException) -> bool:
    """Failures that a full disk causes under other names (a read-only fallback, I/O)."""
    return isinstance(exc, OSError | sqlite3.OperationalError) or "lance error" in str(exc).lower()


def disk_full_message(home: Path) -> str:
    return (
        f"The disk holding {home} is full. Free some space and try again: nothing stored was "
        "damaged, and reading (documents, search, chats) still works."
    )


def explain(exc: BaseException, home: Path) -> str | None:
    """A message for people about a storage failure, or None when ``exc`` is none."""
    from anyllm_desktop.services.integrity import damaged

    if is_disk_full(exc) or (_may_be_the_disk(exc) and disk_is_full(home)):
        return disk_full_message(home)
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return str(damaged(AppPaths(home), exc))
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return (
            f"The library in {home} is busy (another anyllm process holds it for longer than "
            "30 s). Try again when it is done."
        )
    unwritable = isinstance(exc, sqlite3.OperationalError) and any(
        mark in str(exc) for mark in ("readonly", "unable to open")
    )
    if unwritable or isinstance(exc, PermissionError) or getattr(exc, "errno", 0) == errno.EROFS:
        where = getattr(exc, "filename", None) or home
        return f"Cannot write to {where} ({exc}). Check that the folder is yours and writable."
    return None
