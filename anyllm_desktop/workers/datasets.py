"""What the dataset dialog needs from the services: a kept dataset's rows with their split, saving
edited rows (de-duplicated and split again by the service), importing a file off the GUI thread
and exporting. The UI names the dataset types through here, never the services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.dataset_formats import read_dataset, write_dataset
from anyllm_desktop.core.datasets import Dataset, DatasetError, Example, Turn, deduplicate, split
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.core.paths import AppPaths
from anyllm_desktop.services.datasets import DatasetCard, DatasetStore
from anyllm_desktop.workers.generator_worker import GeneratorWorker

__all__ = ["Dataset", "DatasetCard", "DatasetEditing", "DatasetError", "Example", "Turn"]

#: Export formats the dialog offers: (label, format name, file ending).
EXPORT_FORMATS = (
    ("OpenAI chat (.jsonl)", "openai", ".jsonl"),
    ("Alpaca (.json)", "alpaca", ".json"),
    ("ShareGPT (.sharegpt.json)", "sharegpt", ".sharegpt.json"),
    ("CSV: system, prompt, response (.csv)", "csv", ".csv"),
)


class DatasetEditing:
    """The datasets of one home folder, for the dialog."""

    def __init__(self, paths: AppPaths) -> None:
        self.store = DatasetStore(paths)

    def names(self) -> list[str]:
        return self.store.names()

    def rows(self, name: str) -> tuple[list[Example], set[int], float]:
        """The examples (train first), the indexes of the held-out ones, the held-out share."""
        stored = self.store.load(name)
        held = set(range(len(stored.train), len(stored.examples)))
        return stored.examples, held, float(stored.card.split.get("held_out", 0.1))

    def save(self, name: str, examples: list[Example], held_out: float) -> DatasetCard:
        """Keep the edited rows as ``name`` (replacing it), split again at ``held_out``."""
        return self.store.save(name, Dataset(list(examples)), [f"edited in the app: {name}"],
                               held_out=held_out, replace=True)  # fmt: skip

    def read_file(self, path: Path) -> GeneratorWorker:
        """Done(Dataset) with its problems by row, or Error naming the file; off the GUI
        thread (a big file takes seconds)."""

        def source(cancel: CancelToken) -> Iterator[Event]:
            try:
                yield Done(read_dataset(path))
            except (DatasetError, OSError, UnicodeDecodeError) as exc:
                yield Error(f"{path.name} cannot be imported: {exc}")

        return GeneratorWorker(source, name="dataset import")


def remove_duplicates(examples: list[Example]) -> tuple[list[Example], int]:
    """The examples without later duplicates, and how many were removed."""
    dataset = Dataset(list(examples))
    removed = deduplicate(dataset)
    return dataset.examples, removed


def held_out_rows(examples: list[Example], share: float) -> set[int]:
    """Which rows the service's split holds out at ``share``."""
    _, held = split(examples, share)
    ids = {id(e) for e in held}
    return {i for i, e in enumerate(examples) if id(e) in ids}


def export(examples: list[Example], path: Path, fmt: str) -> str:
    """Write the rows in ``fmt``; DatasetError says why not (CSV cannot hold several turns)."""
    return write_dataset(examples, path, fmt)
