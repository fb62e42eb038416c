"""Whether a workspace's index still holds its documents' passages, and errors that say so.

A removed table folder used to leave every document "indexed" while search said "no passages
found" and re-adding a file said "duplicate"; a damaged LanceDB data file gave a raw traceback.
Both now name the workspace and the folder and point to re-indexing, which rebuilds the index
from the documents' files. A workspace on object storage that cannot be reached (the network,
the endpoint, the keys) says so, as a ProviderError like any other outbound connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from anyllm_desktop.core.workspace import Document, Workspace
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.store.commit_retry import is_conflict

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.store.vectors import VectorStore

#: What a damaged table's errors say (on object storage, any other failure is the connection).
_DAMAGE_MARKS = ("corrupt", "not found", "no such file")
_LANCE_MARKS = ("lance error", "lanceerror", "io error", *_DAMAGE_MARKS)


def _fix(workspace: Workspace) -> str:
    return (f"Re-index it to rebuild it from the documents' files: `anyllm workspace reindex "
            f"{workspace.name!r}`, or Workspace → Re-index in the app.")  # fmt: skip


class IndexProblem(Exception):
    """A workspace's index is missing or damaged; the message says what to do."""

    @classmethod
    def missing(cls, workspace: Workspace, library: Library) -> IndexProblem:
        where = library.vectors_for(workspace).place(workspace.vector_table)
        return cls(
            f"The passages of workspace {workspace.name!r} are missing ({where} is gone), "
            f"though its documents are listed as indexed. {_fix(workspace)}"
        )

    @classmethod
    def damaged(cls, workspace: Workspace, where: str, reason: str) -> IndexProblem:
        return cls(
            f"The index of workspace {workspace.name!r} ({where}) is damaged: {reason}. "
            + _fix(workspace)
        )


def _reason(exc: BaseException) -> str:
    """The library's message without its source locations."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(", /")[0].split(" at /")[0][:240]


@contextmanager
def index_errors(workspace: Workspace, vectors: VectorStore) -> Iterator[None]:
    """LanceDB's failures on a damaged table as an IndexProblem naming the workspace; an
    object store that cannot be reached as a ProviderError saying where."""
    try:
        yield
    except ProviderError:
        raise
    except (RuntimeError, OSError, ValueError) as exc:
        damage = any(mark in str(exc).lower() for mark in _DAMAGE_MARKS)
        if vectors.remote and not damage and not isinstance(exc, ValueError):
            raise unreachable(workspace, vectors, exc) from exc
        if not any(mark in str(exc).lower() for mark in _LANCE_MARKS):
            raise
        where = vectors.place(workspace.vector_table)
        raise IndexProblem.damaged(workspace, where, _reason(exc)) from exc


def unreachable(workspace: Workspace, vectors: VectorStore, exc: BaseException) -> ProviderError:
    if is_conflict(exc):  # still, after commit_retry's tries
        return ProviderError(
            f"Another computer kept writing workspace {workspace.name!r} at {vectors.uri} at "
            "the same moment; try again (what is already written stays)."
        )
    return ProviderError(
        f"The passages of workspace {workspace.name!r} at {vectors.uri} could not be reached "
        f"({_reason(exc)}). Check the network and the workspace's endpoint and keys; nothing "
        "was changed."
    )


@dataclass(frozen=True)
class IndexHealth:
    workspace: Workspace
    #: The workspace's table is gone though documents are indexed.
    table_missing: bool = False
    #: Indexed documents with fewer passages in the table than recorded.
    incomplete: list[Document] = field(default_factory=list)
    #: The table cannot be read (the reason), "" when it can.
    damage: str = ""
    #: Where the table is (its folder, or its object store URI).
    where: str = ""
    #: Why its object store cannot be reached now ("" when it can, or it is on this computer).
    unreachable: str = ""

    @property
    def ok(self) -> bool:
        return not (self.table_missing or self.incomplete or self.damage or self.unreachable)

    @property
    def message(self) -> str:
        """What is wrong and what to do ("" when nothing is)."""
        if self.unreachable:
            return self.unreachable
        if self.damage:
            return str(IndexProblem.damaged(self.workspace, self.where, self.damage))
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
        try:
            vectors = library.vectors_for(workspace)
            where = vectors.place(workspace.vector_table)
            with index_errors(workspace, vectors):
                if not vectors.has_table(workspace.vector_table):
                    missing = bool(indexed)
                    return cls(workspace, table_missing=missing, incomplete=indexed, where=where)
                counts = vectors.passages_per_document(library.table(workspace))
        except ProviderError as exc:
            return cls(workspace, unreachable=str(exc))
        except IndexProblem as exc:
            reason = str(exc.__cause__ and _reason(exc.__cause__))
            return cls(workspace, damage=reason, where=where)
        incomplete = [d for d in indexed if counts.get(d.id, 0) < d.chunks]
        return cls(workspace, incomplete=incomplete, where=where)
