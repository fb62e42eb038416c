"""Writes that another writer's commit got in before, tried again.

On a shared workspace (object storage, several machines) two homes may index at the same
moment. LanceDB resolves most concurrent commits itself (two appends both land), but some
pairs conflict: one home building the full-text index while the other compacts the table
measured "Retryable commit conflict for version 8: This CreateIndex transaction was preempted
by concurrent transaction Rewrite". LanceDB asks for the write to be made again on top of the
newer version, which is what :func:`retried` does, a few times with a growing pause (the
table's handle moved to the newest version first: without that it measured the same conflict
six times over).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: How LanceDB's message names a commit another writer got in before.
CONFLICT = "commit conflict"
ATTEMPTS = 6


def is_conflict(exc: BaseException) -> bool:
    return CONFLICT in str(exc).lower()


def retried(action: Callable[[], T], table: Any = None, attempts: int = ATTEMPTS) -> T:
    """``action()``, made again (after 0.1, 0.2, 0.4 ... s, on ``table``'s newest version)
    while it fails with a commit conflict; any other failure, or the last conflict, is
    raised."""
    for attempt in range(attempts):
        try:
            return action()
        except (OSError, RuntimeError, ValueError) as exc:
            if not is_conflict(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1 * 2**attempt * (1 + random.random()))
            if table is not None:
                table.checkout_latest()  # else it commits on top of the same old version
    raise AssertionError("unreachable")
