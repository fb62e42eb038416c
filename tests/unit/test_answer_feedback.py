"""The user's Good/Wrong and correction of an answer are kept with it (a real SQLite library
database, migrated from before they existed), and the answers rated good or corrected become a
training set with the question each answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from anyllm_desktop.core.datasets import DatasetError
from anyllm_desktop.services.datasets import examples_from_chats
from anyllm_desktop.store.database import MIGRATIONS
from anyllm_desktop.store.records import Records
from anyllm_desktop.store.threads import Threads


def _turn(threads: Threads, question: str, answer: str) -> int:
    threads.add_message(1, "user", question)
    return threads.add_message(1, "assistant", answer).id


def test_ratings_and_corrections_are_kept_and_become_examples(threads: Threads) -> None:
    good = _turn(threads, "What is sid?", "Unstable.")
    wrong = _turn(threads, "Which file lists apt's sources?", "apt.conf")
    unrated = _turn(threads, "Hello?", "Hi.")
    assert threads.rated(1) == []
    with pytest.raises(DatasetError, match="no answer in this workspace's chats is rated"):
        examples_from_chats(threads.rated(1))

    assert threads.rate(good, 1).rating == 1
    bad = threads.rate(wrong, -1)
    assert (bad.rating, bad.correction) == (-1, None)
    assert threads.rated(1) == [(threads.get(1), threads.messages(1)[0], threads.messages(1)[1])]
    corrected = threads.rate(wrong, -1, "  /etc/apt/sources.list  ")
    assert corrected.correction == "/etc/apt/sources.list"
    assert threads.rate(unrated, 0, "Hello!").rating == 1  # a correction of an unrated answer
    assert threads.rate(unrated, 0, "").correction is None  # an empty one takes it back

    dataset = examples_from_chats(threads.rated(1))
    pairs = [(e.prompt, e.answer) for e in dataset.examples]
    assert pairs == [("What is sid?", "Unstable."),
                     ("Which file lists apt's sources?", "/etc/apt/sources.list")]  # fmt: skip
    assert dataset.examples[0].source == f"chat 'a chat', answer {good}"
    with pytest.raises(ValueError, match="is not an answer"):
        threads.rate(threads.messages(1)[0].id, 1)  # a question
    with pytest.raises(ValueError, match="a rating is 1, -1 or 0"):
        threads.rate(good, 2)


def test_a_library_from_before_ratings_opens_with_none(tmp_path: Path) -> None:
    database = tmp_path / "library.sqlite3"
    Records(database).create_workspace("R", "embedded:minilm")
    with sqlite3.connect(database) as old:  # as the version before ratings left it
        old.execute("ALTER TABLE messages DROP COLUMN correction")
        old.execute("ALTER TABLE messages DROP COLUMN rating")
        ratings = next(n for n, s in enumerate(MIGRATIONS) if "ADD COLUMN rating" in s)
        old.execute(f"PRAGMA user_version = {ratings}")  # later migrations run again too
    threads = Threads(database)
    threads.create(1, "a chat")
    answer = threads.add_message(1, "assistant", "Hi.")
    assert (answer.rating, answer.correction) == (0, None)
