"""Passages and their vectors in LanceDB: one table per workspace and embedding model.

The table's schema metadata records the embedding model and dimension. A table is only ever
opened with the model that made it, so a switched embedder means a new table (re-embedding),
never a dimension-mismatch crash.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class EmbedderMismatchError(Exception):
    """A table was opened with another embedding model than the one that filled it."""


@dataclass(frozen=True)
class PassageRow:
    doc_id: int
    chunk: int
    text: str
    context: str
    section: str
    page: int | None
    sheet: str
    tokens: int
    vector: Sequence[float]


@dataclass(frozen=True)
class Hit:
    doc_id: int
    chunk: int
    text: str
    section: str
    page: int | None
    sheet: str
    #: Cosine similarity to the query (vector hits; filled in later for text-only hits).
    similarity: float | None
    #: BM25 score (full-text hits).
    text_score: float | None


_COLUMNS = ["doc_id", "chunk", "text", "section", "page", "sheet"]


class VectorStore:
    """All workspaces' passage tables in one LanceDB folder. One writer at a time."""

    def __init__(self, folder: Path) -> None:
        import lancedb

        folder.mkdir(parents=True, exist_ok=True)
        self._db = lancedb.connect(str(folder))
        self._tables: dict[str, Any] = {}

    def _schema(self, model: str, dim: int) -> Any:
        import pyarrow as pa

        return pa.schema(
            [
                pa.field("doc_id", pa.int64()),
                pa.field("chunk", pa.int32()),
                pa.field("text", pa.string()),
                pa.field("context", pa.string()),
                pa.field("search_text", pa.string()),
                pa.field("section", pa.string()),
                pa.field("page", pa.int32()),
                pa.field("sheet", pa.string()),
                pa.field("tokens", pa.int32()),
                pa.field("vector", pa.list_(pa.float32(), dim)),
            ],
            metadata={"embedding_model": model, "dim": str(dim)},
        )

    def table(self, name: str, *, model: str, dim: int, create: bool = True) -> Any:
        if not _TABLE_NAME.match(name):
            raise ValueError(f"invalid table name {name!r}")
        table = self._tables.get(name)
        if table is None:
            if name in self._db.list_tables().tables:
                table = self._db.open_table(name)
            elif create:
                table = self._db.create_table(name, schema=self._schema(model, dim))
                self._ensure_fts(table, force=True)
            else:
                raise KeyError(name)
            self._tables[name] = table
        metadata = table.schema.metadata or {}
        stored = (
            metadata.get(b"embedding_model", b"").decode(),
            metadata.get(b"dim", b"").decode(),
        )
        if stored != (model, str(dim)):
            raise EmbedderMismatchError(
                f"The passages in {name} were embedded with {stored[0]} ({stored[1]} dims), "
                f"not {model} ({dim} dims); re-embed the workspace to switch models."
            )
        return table

    def has_table(self, name: str) -> bool:
        return name in self._db.list_tables().tables

    def drop_table(self, name: str) -> None:
        self._tables.pop(name, None)
        if self.has_table(name):
            self._db.drop_table(name)

    def add(self, table: Any, rows: Sequence[PassageRow]) -> None:
        if not rows:
            return
        import pyarrow as pa

        data = pa.Table.from_pylist(
            [
                {
                    "doc_id": r.doc_id,
                    "chunk": r.chunk,
                    "text": r.text,
                    "context": r.context,
                    "search_text": f"{r.context}\n{r.text}" if r.context else r.text,
                    "section": r.section,
                    "page": r.page,
                    "sheet": r.sheet,
                    "tokens": r.tokens,
                    "vector": list(map(float, r.vector)),
                }
                for r in rows
            ],
            schema=table.schema,
        )
        table.add(data)

    def delete_documents(self, table: Any, doc_ids: Sequence[int]) -> None:
        if doc_ids:
            table.delete(f"doc_id IN ({', '.join(str(int(d)) for d in doc_ids)})")

    def count(self, table: Any) -> int:
        return int(table.count_rows())

    def finish_writes(self, table: Any) -> None:
        """Fold new rows into the full-text index and compact the table. Search sees unindexed
        rows too, but scans them: 1,225 unindexed passages took 39 ms a query, 3.6 ms after
        this (which took 0.1 s)."""
        self._ensure_fts(table)

    def _ensure_fts(self, table: Any, *, force: bool = False) -> None:
        from lancedb.index import FTS

        indices = {i.name: i for i in table.list_indices()}
        stats = indices.get("search_text_idx")
        if stats is None or force:
            table.create_index("search_text", config=FTS(with_position=False), replace=True)
            return
        if int(getattr(stats, "num_unindexed_rows", 0) or 0):
            table.optimize()

    def vector_search(self, table: Any, vector: np.ndarray, limit: int) -> list[Hit]:
        rows = (
            table.search(vector, query_type="vector", vector_column_name="vector")
            .distance_type("cosine")
            .limit(limit)
            .select([*_COLUMNS, "_distance"])
            .to_list()
        )
        return [_hit(row, similarity=1.0 - float(row["_distance"])) for row in rows]

    def text_search(self, table: Any, query: str, limit: int) -> list[Hit]:
        from lancedb.query import MatchQuery

        rows = (
            table.search(MatchQuery(query, "search_text"), query_type="fts")
            .limit(limit)
            .select([*_COLUMNS, "_score"])
            .to_list()
        )
        return [_hit(row, text_score=float(row["_score"])) for row in rows]

    def vectors_of(self, table: Any, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], Any]:
        """The stored vectors of (doc_id, chunk) pairs."""
        if not keys:
            return {}
        where = " OR ".join(f"(doc_id = {int(d)} AND chunk = {int(c)})" for d, c in keys)
        rows = table.search().where(where).select(["doc_id", "chunk", "vector"]).to_list()
        return {(row["doc_id"], row["chunk"]): row["vector"] for row in rows}

    def iter_passages(self, table: Any, batch_rows: int = 1024) -> Iterator[list[dict[str, Any]]]:
        """All rows but their vectors, in batches (for re-embedding)."""
        columns = ["doc_id", "chunk", "text", "context", "section", "page", "sheet", "tokens"]
        for batch in table.search().select(columns).to_batches(batch_size=batch_rows):
            if batch.num_rows:
                yield batch.to_pylist()


def _hit(
    row: dict[str, Any], *, similarity: float | None = None, text_score: float | None = None
) -> Hit:
    return Hit(
        int(row["doc_id"]),
        int(row["chunk"]),
        row["text"],
        row["section"] or "",
        row["page"],
        row["sheet"] or "",
        similarity,
        text_score,
    )
