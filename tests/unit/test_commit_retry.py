"""A write another writer's commit got in before is made again; other failures are not."""

from __future__ import annotations

import pytest

from anyllm_desktop.store import commit_retry

CONFLICT = RuntimeError(
    "lance error: Retryable commit conflict for version 8: This CreateIndex transaction was "
    "preempted by concurrent transaction Rewrite at version 8. Please retry."
)  # as measured with two homes indexing one shared workspace at once


def test_a_conflict_is_tried_again_until_it_lands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit_retry.time, "sleep", lambda s: None)
    outcomes: list[Exception | str] = [CONFLICT, CONFLICT, "done"]

    def write() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert commit_retry.retried(write) == "done" and not outcomes


def test_other_failures_and_the_last_conflict_are_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit_retry.time, "sleep", lambda s: None)
    calls = []

    def broken() -> None:
        calls.append(1)
        raise OSError("no such file")

    with pytest.raises(OSError, match="no such file"):
        commit_retry.retried(broken)
    assert len(calls) == 1

    def always() -> None:
        raise CONFLICT

    with pytest.raises(RuntimeError, match="commit conflict"):
        commit_retry.retried(always, attempts=3)


class _Table:
    def __init__(self) -> None:
        self.refreshed = 0

    def checkout_latest(self) -> None:
        self.refreshed += 1


def test_each_retry_starts_from_the_newest_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit_retry.time, "sleep", lambda s: None)
    table, failures = _Table(), [CONFLICT, CONFLICT]

    def write() -> None:
        if failures:
            raise failures.pop()

    commit_retry.retried(write, table)
    assert table.refreshed == 2
