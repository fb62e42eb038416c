"""The training sets kept in the app's home, by name: imported from files or built from a
kept run of the FAQ workflow, each de-duplicated and split into train / held-out once, when it
is saved, so every training run and every evaluation of it sees the same split.

On disk, ``HOME/datasets/NAME/`` holds ``examples.jsonl`` (one example a line, with its split)
and ``card.json`` (name, created, sources, counts, split, the examples file's sha256, the rows
skipped and why). A dataset is written to a temporary folder and renamed into place, so a
crash never leaves half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.dataset_formats import read_dataset
from anyllm_desktop.core.datasets import (
    DEFAULT_HELD_OUT,
    Dataset,
    DatasetError,
    Example,
    Problem,
    Turn,
    deduplicate,
    drop_too_long,
    make_example,
    split,
)

if TYPE_CHECKING:
    from anyllm_desktop.core.conversation import Message, ThreadInfo
    from anyllm_desktop.core.paths import AppPaths
    from anyllm_desktop.services.workflows.runs import RunRecord

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Problems kept on the card (all are counted); a file of 100,000 bad rows needs no more.
_KEPT_PROBLEMS = 500


@dataclass
class DatasetCard:
    name: str
    created: float
    sources: list[str]
    #: examples, train, held_out, problems (rows skipped), duplicates (dropped).
    counts: dict[str, int]
    #: held_out (the share asked for) and seed.
    split: dict[str, Any]
    #: Of examples.jsonl: what a training run's card names as its data.
    sha256: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StoredDataset:
    card: DatasetCard
    train: list[Example]
    held_out: list[Example]

    @property
    def examples(self) -> list[Example]:
        return [*self.train, *self.held_out]


class DatasetStore:
    """The datasets of one home folder."""

    def __init__(self, paths: AppPaths) -> None:
        self.root = paths.datasets_dir

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "card.json").is_file())

    def cards(self) -> list[DatasetCard]:
        return [self.card(name) for name in self.names()]

    def card(self, name: str) -> DatasetCard:
        path = self._folder(name) / "card.json"
        if not path.is_file():
            known = ", ".join(self.names()) or "none yet"
            raise KeyError(f"There is no dataset {name!r} (datasets: {known}).")
        return DatasetCard(**json.loads(path.read_text(encoding="utf-8")))

    def load(self, name: str) -> StoredDataset:
        card = self.card(name)
        train, held = [], []
        with (self._folder(name) / "examples.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                data = json.loads(line)
                (held if data.get("split") == "held_out" else train).append(Example.from_json(data))
        return StoredDataset(card, train, held)

    def delete(self, name: str) -> None:
        self.card(name)  # a missing one is said with the names there are
        shutil.rmtree(self._folder(name))

    def import_files(
        self,
        name: str,
        paths: Sequence[Path],
        *,
        held_out: float = DEFAULT_HELD_OUT,
        seed: int = 0,
        replace: bool = False,
        count_tokens: Callable[[Example], int] | None = None,
        context: int = 0,
    ) -> DatasetCard:
        """Read the files (DatasetError when one is no dataset), check the examples' length
        against the model's context when a counter is given, then save as ``name``."""
        self._check_name(name, replace)
        dataset = Dataset()
        for path in paths:
            if not path.is_file():
                raise DatasetError(f"{path}: there is no such file")
            dataset.extend(read_dataset(path))
        if count_tokens is not None:
            drop_too_long(dataset, count_tokens, context)
        sources = [str(p.resolve()) for p in paths]
        return self.save(name, dataset, sources, held_out=held_out, seed=seed, replace=replace)

    def build_from_run(
        self, name: str, workspace: str, record: RunRecord, *, held_out: float = DEFAULT_HELD_OUT,
        seed: int = 0, replace: bool = False,
    ) -> DatasetCard:  # fmt: skip
        """A dataset of a kept workflow run's question/answer pairs (the FAQ workflow's)."""
        self._check_name(name, replace)
        source = f"workspace {workspace}, run {record.id} ({record.workflow})"
        return self.save(name, examples_from_run(record), [source], held_out=held_out,
                         seed=seed, replace=replace)  # fmt: skip

    def build_from_chats(
        self, name: str, workspace: str, rated: Sequence[tuple[ThreadInfo, Message, Message]],
        *, held_out: float = DEFAULT_HELD_OUT, seed: int = 0, replace: bool = False,
    ) -> DatasetCard:  # fmt: skip
        """A dataset of the answers rated good or corrected in a workspace's chats
        (``Threads.rated``)."""
        self._check_name(name, replace)
        return self.save(name, examples_from_chats(rated), [f"workspace {workspace}, chats"],
                         held_out=held_out, seed=seed, replace=replace)  # fmt: skip

    def save(
        self, name: str, dataset: Dataset, sources: list[str], *,
        held_out: float = DEFAULT_HELD_OUT, seed: int = 0, replace: bool = False,
    ) -> DatasetCard:  # fmt: skip
        """De-duplicate, split and keep ``dataset`` as ``name``; DatasetError when no example
        is left (the problems say why)."""
        self._check_name(name, replace)
        duplicates = deduplicate(dataset)
        if not dataset.examples:
            reasons = "; ".join(str(p) for p in dataset.problems[:5]) or "the sources are empty"
            raise DatasetError(f"no usable example, so no dataset {name!r} was saved: {reasons}")
        train, held = split(dataset.examples, held_out, seed)
        lines = [json.dumps({**e.to_json(), "split": "train"}, ensure_ascii=False) for e in train]
        lines += [json.dumps({**e.to_json(), "split": "held_out"}, ensure_ascii=False)
                  for e in held]  # fmt: skip
        data = ("\n".join(lines) + "\n").encode("utf-8")
        card = DatasetCard(
            name, time.time(), sources,
            {"examples": len(dataset.examples), "train": len(train), "held_out": len(held),
             "problems": len(dataset.problems), "duplicates": duplicates},
            {"held_out": held_out, "seed": seed}, hashlib.sha256(data).hexdigest(),
            [str(p) for p in dataset.problems[:_KEPT_PROBLEMS]], dataset.notes,
        )  # fmt: skip
        self._write(name, data, card)
        return card

    def _write(self, name: str, data: bytes, card: DatasetCard) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = self.root / f".{name}.{os.getpid()}.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        (staging / "examples.jsonl").write_bytes(data)
        text = json.dumps(card.to_json(), indent=2, ensure_ascii=False) + "\n"
        (staging / "card.json").write_text(text, encoding="utf-8")
        target = self._folder(name)
        old = self.root / f".{name}.{os.getpid()}.old"
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)

    def _folder(self, name: str) -> Path:
        return self.root / name

    def _check_name(self, name: str, replace: bool) -> None:
        if not _NAME.fullmatch(name):
            raise DatasetError(
                f"{name!r} cannot be a dataset's name: use up to 64 letters, "
                "digits, '.', '_' or '-', starting with a letter or digit"
            )
        if not replace and (self._folder(name) / "card.json").exists():
            raise DatasetError(f"there is a dataset {name!r} already: choose another name, or "
                               "replace it (--replace)")  # fmt: skip


def examples_from_run(record: RunRecord) -> Dataset:
    """Each row's question and answer as an example, its document (and section) the source;
    rows the workflow skipped, and rows without a pair, as problems of ``run N row M``.
    DatasetError when the run kept no result or its rows hold no question/answer at all."""
    result = record.result
    where = f"run {record.id}"
    if result is None:
        raise DatasetError(
            f"{where} ({record.name}) {record.status} without a result, so "
            f"there are no pairs to use{': ' + record.error if record.error else ''}"
        )
    dataset = Dataset()
    if record.status != "done":
        dataset.notes.append(f"{where} {record.status}: only the rows it finished are used")
    for number, row in enumerate(result.rows, start=1):
        pair = _pair(row.values)
        if row.status != "done":
            dataset.problems.append(
                Problem(
                    where,
                    number,
                    f"{row.document}: skipped by the workflow ({row.reason or 'no reason kept'})",
                )
            )
        elif pair is None:
            dataset.problems.append(Problem(where, number, f"{row.document}: no question and "
                                            "answer in this row"))  # fmt: skip
        else:
            turns = [Turn("user", str(pair["question"])), Turn("assistant", str(pair["answer"]))]
            before = len(dataset.problems)
            make_example(turns, row.citation.describe(), number, dataset)
            if len(dataset.problems) > before:  # say where in the run, not in the document
                bad = dataset.problems.pop()
                dataset.problems.append(Problem(where, number, f"{row.document}: {bad.reason}"))
    if result.rows and not dataset.examples and all(_pair(r.values) is None for r in result.rows):
        raise DatasetError(f"{where} is a run of {record.name}, whose rows have no question and "
                           "answer: build a dataset from a run of the FAQ workflow (anyllm run "
                           "faq-pairs -w WORKSPACE)")  # fmt: skip
    return dataset


def examples_from_chats(rated: Sequence[tuple[ThreadInfo, Message, Message]]) -> Dataset:
    """Each rated answer with the question it answers: the user's correction as the target
    where there is one, the answer as shown where it was rated good; the question as the user
    typed it (the passages it was sent with are the retrieval's, not what the model should
    learn). DatasetError when no answer is rated good or corrected."""
    if not rated:
        raise DatasetError("no answer in this workspace's chats is rated Good or "
                           "corrected yet: rate answers in the chat, then build again")  # fmt: skip
    dataset = Dataset()
    for number, (thread, question, answer) in enumerate(rated, start=1):
        target = answer.correction if answer.correction is not None else answer.content
        turns = [Turn("user", question.content), Turn("assistant", target)]
        make_example(turns, f"chat {thread.title!r}, answer {answer.id}", number, dataset)
    return dataset


def _pair(values: dict[str, Any]) -> dict[str, Any] | None:
    """The row's question/answer: as its own columns, or one column holding both (faq-pairs'
    ``pair``)."""
    candidates = [values, *(v for v in values.values() if isinstance(v, dict))]
    return next((c for c in candidates if "question" in c and "answer" in c), None)


@dataclass
class TrainingData:
    """What a training run learns from: a kept dataset, or a file read and split for it."""

    name: str
    sha256: str
    train: list[Example]
    held_out: list[Example]
    #: The file's skipped rows, said with the run's results.
    notes: list[str]


def training_data(paths: AppPaths, params: dict[str, Any]) -> TrainingData:
    """A job's ``dataset`` (a kept one's name) or ``data`` (a file in any import format, split
    with ``held_out``); DatasetError when the file holds no usable example, KeyError naming
    the datasets there are for an unknown name."""
    if params.get("dataset"):
        stored = DatasetStore(paths).load(params["dataset"])
        return TrainingData(stored.card.name, stored.card.sha256, stored.train, stored.held_out,
                            [])  # fmt: skip
    path = Path(params["data"])
    dataset = read_dataset(path)
    if not dataset.examples:
        raise DatasetError(f"{path.name} has no usable example: "
                           + "; ".join(str(p) for p in dataset.problems[:3]))  # fmt: skip
    train, held = split(dataset.examples, float(params.get("held_out", DEFAULT_HELD_OUT)))
    notes = [f"skipped {p}" for p in dataset.problems[:20]]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return TrainingData(path.stem, digest, train, held, notes)
