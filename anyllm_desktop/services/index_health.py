"""Whether a workspace's index still holds its documents' passages, and errors that say so.

A removed table folder used to leave every document "indexed" while search said "no passages
found" and re-adding a file said "duplicate"; a damaged LanceDB data file gave a raw traceback.
Both now name the workspace and the folder and point to re-indexing, which rebuilds the index
from the documents' files.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from anyllm_desktop.core.workspace import Document, Workspace
from anyllm_desktop.providers.cloud_http import ProviderError

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library

_LANCE_MARKS = ("lance error", "lanceerror", "corrupt", "not found", "no such file", "io error")


def _fix(workspace: Workspace) -> str:
    return (f"Re-index it to rebuild it from the documents' files: `anyllm workspace reindex "
            f"{workspace.name!r}`, or Workspace → Re-index in the app.")  # fmt: skip


class IndexProblem(Exception):
    """A workspace's index is missing or damaged; the message says what to do."""

    @classmethod
    def missing(cls, workspace: Workspace, library: Library) -> IndexProblem:
        folder = library.vectors.folder / f"{workspace.vector_table}.lance"
        return cls(
            f"The passages of workspace {workspace.name!r} are missing ({folder} is gone), "
            f"though its documents are listed as indexed. {_fix(workspace)}"
        )

    @classmethod
    def damaged(cls, workspace: Workspace, folder: Path, reason: str) -> IndexProblem:
        where = folder / f"{workspace.vector_table}.lance"
        return cls(
            f"The index of workspace {workspace.name!r} ({where}) is damaged: {reason}. "
            + _fix(workspace)
        )


def _reason(exc: BaseException) -> str:
    """The library's message without its source locations."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(", /")[0].split(" at /")[0][:240]


@contextmanager
def index_errors(workspace: Workspace, folder: Path) -> Iterator[None]:
    """LanceDB's failures on a damaged table as an IndexProblem naming the workspace."""
    try:
        yield
    except ProviderError:
        raise
    except (RuntimeError, OSError, ValueError) as exc:
        if not any(mark in str(exc).lower() for mark in _LANCE_MARKS):
            raise
        raise IndexProblem.damaged(workspace, folder, _reason(exc)) from exc


@dataclass(frozen=True)
class IndexHealth:
    workspace: Workspace
    #: The workspace's table is gone though documents are indexed.
    table_missing: bool = False
    #: Indexed documents with fewer passages in the table than recorded.
    incomplete: list[Document] = field(default_factory=list)
    #: The table cannot be read (the reason), "" when it can.
    damage: str = ""
    #: The LanceDB folder.
    folder: Path = Path()

    @property
    def ok(self) -> bool:
        return not (self.table_missing or self.incomplete or self.damage)

    @property
    def message(self) -> str:
        """What is wrong and what to do ("" when nothing is)."""
        if self.damage:
            return str(IndexProblem.damaged(self.workspace, self.folder, self.damage))
        if self.table_missing or self.incomplete:
            count = len(self.incomplete)
            documents = "1 document" if count == 1 else f"{count} documents"
            return (
                f"{documents} of workspace {self.workspace.name!r} lost their "
                f"passages{' (the index folder is gone)' if self.table_missing else ''}: search "
                f"cannot find them. {_fix(self.workspace)}"
            )
        return ""

    @classmethod
    def of(cls, library: Library, workspace: Workspace) -> IndexHealth:
        indexed = [d for d in library.records.documents(workspace.id) if d.status == "indexed"]
        folder = library.vectors.folder
        if not library.vectors.has_table(workspace.vector_table):
            return cls(workspace, table_missing=bool(indexed), incomplete=indexed, folder=folder)
        try:
            with index_errors(workspace, folder):
                counts = library.vectors.passages_per_document(library.table(workspace))
        except IndexProblem as exc:
            reason = str(exc.__cause__ and _reason(exc.__cause__))
            return cls(workspace, damage=reason, folder=folder)
        incomplete = [d for d in indexed if counts.get(d.id, 0) < d.chunks]
        return cls(workspace, incomplete=incomplete, folder=folder)
