"""Regenerate keeps the earlier answers as versions of the last one, switchable; the chat's
history and exports hold the version shown (a real SQLite library database)."""

from __future__ import annotations

import pytest

from anyllm_desktop.services.answer import history_of
from anyllm_desktop.store.threads import Threads


def _turn(threads: Threads, question: str, answer: str) -> int:
    threads.add_message(1, "user", question)
    return threads.add_message(1, "assistant", answer).id


def test_each_regenerate_adds_a_version_and_any_version_can_be_shown(threads: Threads) -> None:
    _turn(threads, "What is sid?", "Unstable.")
    first = _turn(threads, "And testing?", "Version one.")
    for text in ("Version two.", "Version three."):  # what ChatService.regenerate does
        shown = threads.messages(1)
        threads.set_superseded([m.id for m in shown[-2:]])
        _turn(threads, "And testing?", text)
    versions = threads.versions(1)
    assert [v.content for v in versions] == ["Version one.", "Version two.", "Version three."]
    assert [m.content for m in threads.messages(1)] == [
        "What is sid?", "Unstable.", "And testing?", "Version three."
    ]  # fmt: skip
    threads.choose_version(1, first)
    assert [m.content for m in threads.messages(1)][-1] == "Version one."
    assert [t.answer for t in history_of(threads.messages(1))] == ["Unstable.", "Version one."]
    assert [v.content for v in threads.versions(1)] == [
        "Version one.",
        "Version two.",
        "Version three.",
    ]  # fmt: skip  (the order stays; the one shown changed)
    with pytest.raises(ValueError, match="not an answer to the last question"):
        threads.choose_version(1, threads.messages(1)[1].id)


def test_the_same_question_asked_again_is_a_new_turn_not_a_version(threads: Threads) -> None:
    _turn(threads, "What is sid?", "Unstable.")
    _turn(threads, "What is sid?", "Still unstable.")
    assert [v.content for v in threads.versions(1)] == ["Still unstable."]
