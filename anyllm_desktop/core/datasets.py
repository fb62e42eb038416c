"""Training examples for fine-tuning: what one example is, what makes a row unusable, and the
set-wide steps (too long for the model, duplicates, the train / held-out split).

Readers and writers of the file formats are in ``core/dataset_formats.py``. Every row that
cannot be used is kept as a :class:`Problem` (``FILE row N: reason``) so it is reported, never
dropped silently: a training set that lost a third of its rows without a word trains a model on
something else than the user thinks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, NamedTuple

ROLES = ("system", "user", "assistant")
#: Share of the examples kept out of training to measure the adapter on (issue 17 item 4).
DEFAULT_HELD_OUT = 0.1
#: From this many examples on at least one is held out, whatever the share rounds to.
MIN_FOR_HELD_OUT = 5


class DatasetError(ValueError):
    """A whole file cannot be read as a dataset (unknown format, not text, no usable column)."""


class Turn(NamedTuple):
    role: str
    content: str


@dataclass(frozen=True)
class Example:
    """One conversation to learn from: optional system turn, user/assistant turns ending with
    the assistant's answer. ``source`` is where it came from (a file, or a document and its
    section); ``row`` its row in that file (0 when it has none)."""

    messages: tuple[Turn, ...]
    source: str = ""
    row: int = 0

    @property
    def system(self) -> str:
        return next((t.content for t in self.messages if t.role == "system"), "")

    @property
    def prompt(self) -> str:
        """The last question (the turn the answer replies to)."""
        return next((t.content for t in reversed(self.messages) if t.role == "user"), "")

    @property
    def answer(self) -> str:
        return self.messages[-1].content if self.messages else ""

    def key(self) -> str:
        """What two duplicates share: the user and assistant text, case and spacing aside."""
        turns = (f"{t.role}: {' '.join(t.content.split())}" for t in self.messages
                 if t.role != "system")  # fmt: skip
        return "\n".join(turns).casefold()

    def to_json(self) -> dict[str, Any]:
        return {"messages": [{"role": t.role, "content": t.content} for t in self.messages],
                "source": self.source, "row": self.row}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Example:
        turns = tuple(Turn(m["role"], m["content"]) for m in data["messages"])
        return cls(turns, str(data.get("source", "")), int(data.get("row", 0)))


@dataclass(frozen=True)
class Problem:
    """A row that was skipped, and why."""

    source: str
    row: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source} row {self.row}: {self.reason}" if self.row else (
            f"{self.source}: {self.reason}")  # fmt: skip


@dataclass
class Dataset:
    """Examples read from one or more sources, the rows skipped, and notes for the user (the
    columns a CSV was read by, how many duplicates were dropped)."""

    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Dataset) -> None:
        self.examples += other.examples
        self.problems += other.problems
        self.notes += other.notes


def check_turns(turns: Sequence[Turn]) -> str | None:
    """Why these turns cannot be trained on, or None: every turn a known role with text, a
    question before the answer, and the conversation ending with the assistant's answer."""
    for turn in turns:
        if turn.role not in ROLES:
            return f"the role {turn.role!r} is not one of system, user, assistant"
    chat = [t for t in turns if t.role != "system"]
    if not any(t.role == "assistant" for t in chat):
        return "no assistant turn (there is no answer to learn)"
    if chat[-1].role != "assistant":
        return "the last turn is the user's, not the assistant's answer"
    if chat[0].role != "user":
        return "the conversation starts with the assistant, not with a question"
    for before, turn in pairwise(chat):
        if before.role == turn.role:
            return f"two {turn.role} turns in a row (user and assistant turns must alternate)"
    for turn in chat:
        if not turn.content.strip():
            return "the answer is empty" if turn.role == "assistant" else "the prompt is empty"
    return None


def make_example(turns: Sequence[Turn], source: str, row: int, dataset: Dataset) -> None:
    """Add the example to ``dataset``, or the reason it cannot be one to its problems."""
    reason = check_turns(turns)
    if reason is None:
        dataset.examples.append(Example(tuple(turns), source, row))
    else:
        dataset.problems.append(Problem(source, row, reason))


def drop_too_long(dataset: Dataset, count_tokens: Callable[[Example], int], context: int) -> int:
    """Move the examples longer than ``context`` tokens (as the model's own ``count_tokens``
    says, its chat template included) to the problems; how many were moved."""
    kept = []
    for example in dataset.examples:
        tokens = count_tokens(example)
        if tokens > context:
            reason = (f"{tokens:,} tokens, longer than the model's context of {context:,} "
                      "(shorten it, or train a model with a longer context)")  # fmt: skip
            dataset.problems.append(Problem(example.source, example.row, reason))
        else:
            kept.append(example)
    dropped = len(dataset.examples) - len(kept)
    dataset.examples = kept
    return dropped


def deduplicate(dataset: Dataset) -> int:
    """Keep the first of examples with the same question and answer (ignoring case and
    spacing); the note says how many were dropped and where the first one is."""
    seen: dict[str, Example] = {}
    kept = []
    for example in dataset.examples:
        first = seen.setdefault(example.key(), example)
        if first is example:
            kept.append(example)
    dropped = len(dataset.examples) - len(kept)
    if dropped:
        dataset.notes.append(f"dropped {dropped} duplicate{'s' if dropped != 1 else ''} (the "
                             "same question and answer as an earlier row, ignoring case and "
                             "spacing)")  # fmt: skip
    dataset.examples = kept
    return dropped


def held_out_count(total: int, share: float = DEFAULT_HELD_OUT) -> int:
    """How many of ``total`` examples to hold out: the share rounded, at least one from
    :data:`MIN_FOR_HELD_OUT` examples on, and never all of them."""
    if not 0 <= share < 1:
        raise ValueError(f"the held-out share must be from 0 to below 1, not {share}")
    if share == 0 or total < 2:
        return 0
    count = round(total * share)
    if total >= MIN_FOR_HELD_OUT:
        count = max(1, count)
    return min(count, total - 1)


def split(
    examples: Iterable[Example], share: float = DEFAULT_HELD_OUT, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """Train and held-out examples, each in the given order. Which ones are held out depends
    on the seed and each example's text only (a hash ranks them), so the same set gives the
    same split however its rows are ordered, and adding rows moves few of the others."""
    items = list(examples)
    count = held_out_count(len(items), share)

    def rank(indexed: tuple[int, Example]) -> str:
        return hashlib.sha256(f"{seed}\x1f{indexed[1].key()}".encode()).hexdigest()

    held = {index for index, _ in sorted(enumerate(items), key=rank)[:count]}
    train = [e for i, e in enumerate(items) if i not in held]
    return train, [e for i, e in enumerate(items) if i in held]
