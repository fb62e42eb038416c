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

from anyllm_desktop.store.commit_retry import retried
from anyllm_desktop.store.locations import StoreLocation, connect_arguments

if TYPE_CHECKING:
    import numpy as np

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class EmbedderMismatchError(Exception):
    """A table was opened with another embedding model than the one that filled it."""


#: The chunk number of a document's summary passage (services/summary_passages.py); the
#: document's own passages count from 0.
SUMMARY_CHUNK = -1


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
    #: Cosine similarity to the query.
    similarity: float
    #: BM25 score (full-text hits).
    text_score: float | None
    #: LanceDB's row id (search hits), for reading the rows stored next to it.
    row_id: int | None = None


_COLUMNS = ["doc_id", "chunk", "text", "section", "page", "sheet"]
_FTS_INDEX = "search_text_idx"
_VECTOR_INDEX = "vector_idx"
#: Below this many passages an exact scan is fast enough (LanceDB: ~17 ms at 10k).
VECTOR_INDEX_MIN_ROWS = 8192
VECTOR_INDEX_MAX_UNINDEXED = 2048


def _partitions(rows: int) -> int:
    return max(16, round(rows**0.5))


class VectorStore:
    """All workspaces' passage tables in one LanceDB folder. One writer at a time."""

    def __init__(self, folder: Path, *, uri: str = "", **connect: Any) -> None:
        """``folder``: this machine's LanceDB folder; or ``uri`` (s3://, db://) with
        ``lancedb.connect``'s arguments from store.locations.connect_arguments."""
        import lancedb

        if not uri:
            folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.uri = uri or str(folder)
        self._db = lancedb.connect(self.uri, **connect)
        self._tables: dict[str, Any] = {}

    @classmethod
    def at(cls, location: StoreLocation, secret: str | None) -> VectorStore:
        """The passage tables at a workspace's remote location."""
        return cls(Path(), uri=location.uri, **connect_arguments(location, secret))

    @property
    def remote(self) -> bool:
        """On object storage (another machine's, or one on loopback), not this home's folder."""
        return self.uri != str(self.folder)

    def place(self, name: str) -> str:
        """Where table ``name`` lives, for messages: its folder, or its object store URI."""
        if self.remote:
            return f"{self.uri.rstrip('/')}/{name}.lance"
        return str(self.folder / f"{name}.lance")

    @property
    def connection(self) -> Any:
        """The LanceDB connection (store/shared_manifest.py keeps its tables beside these)."""
        return self._db

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
            if name in self.table_names():
                table = self._db.open_table(name)
            elif create:
                table = self._db.create_table(name, schema=self._schema(model, dim))
                self._create_fts(table)
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

    def stored_dim(self, name: str) -> int | None:
        """The vector size a table was created with; None when there is no such table. An open
        handle answers without listing the folder (a search checked ``has_table`` just before)."""
        table = self._tables.get(name)
        if table is None:
            if not self.has_table(name):
                return None
            table = self.open_existing(name)
        return int((table.schema.metadata or {}).get(b"dim", b"0")) or None

    def has_table(self, name: str) -> bool:
        """Whether the table exists on disk now (a handle to one whose folder was removed is
        forgotten)."""
        if name in self.table_names():
            return True
        self._tables.pop(name, None)
        return False

    def table_names(self) -> set[str]:
        names: set[str] = set()
        page: str | None = None
        while True:
            listing = self._db.list_tables(page_token=page)
            names.update(listing.tables)
            page = listing.page_token
            if not page or not listing.tables:
                return names

    def open_existing(self, name: str) -> Any:
        """A table as it is, whatever model filled it (for maintenance, not search)."""
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = self._db.open_table(name)
        return table

    def forget(self, name: str) -> None:
        """Drop the open handle of a table (after its folder changed behind LanceDB's back)."""
        self._tables.pop(name, None)

    def drop_table(self, name: str) -> None:
        self._tables.pop(name, None)
        if self.has_table(name):
            self._db.drop_table(name)

    def add(self, table: Any, rows: Sequence[PassageRow], slice_rows: int = 1024) -> None:
        """Append passages, at most ``slice_rows`` per write: vectors go to Arrow as one float32
        block (never as Python floats, ~60 MB for 6,600 passages), and a huge file's passages
        are not all converted at once."""
        import numpy as np
        import pyarrow as pa

        vector_type = table.schema.field("vector").type
        for start in range(0, len(rows), slice_rows):
            part = rows[start : start + slice_rows]
            matrix = np.asarray([r.vector for r in part], dtype=np.float32).reshape(-1)
            vectors = pa.FixedSizeListArray.from_arrays(pa.array(matrix), vector_type.list_size)
            columns = {
                "doc_id": [r.doc_id for r in part],
                "chunk": [r.chunk for r in part],
                "text": [r.text for r in part],
                "context": [r.context for r in part],
                "search_text": [f"{r.context}\n{r.text}" if r.context else r.text for r in part],
                "section": [r.section for r in part],
                "page": [r.page for r in part],
                "sheet": [r.sheet for r in part],
                "tokens": [r.tokens for r in part],
                "vector": vectors.cast(vector_type),
            }
            data = pa.Table.from_pydict(columns, schema=table.schema)
            retried(lambda data=data: table.add(data), table)

    def delete_documents(self, table: Any, doc_ids: Sequence[int]) -> None:
        if doc_ids:
            where = f"doc_id IN ({', '.join(str(int(d)) for d in doc_ids)})"
            retried(lambda: table.delete(where), table)

    def delete_rows(self, table: Any, doc_id: int, chunk: int) -> None:
        retried(lambda: table.delete(f"doc_id = {int(doc_id)} AND chunk = {int(chunk)}"), table)

    def count(self, table: Any) -> int:
        return int(table.count_rows())

    def passages_per_document(self, table: Any) -> dict[int, int]:
        """How many passages each document has in the table, its summary not counted (one
        scan of one column)."""
        import numpy as np

        counts: dict[int, int] = {}
        scan = table.search().where("chunk >= 0").select(["doc_id"])
        for batch in scan.to_batches(batch_size=65536):
            ids, numbers = np.unique(batch.column("doc_id").to_numpy(), return_counts=True)
            for doc_id, number in zip(ids.tolist(), numbers.tolist(), strict=True):
                counts[doc_id] = counts.get(doc_id, 0) + number
        return counts

    def finish_writes(self, table: Any) -> None:
        """Fold new rows into the indexes.

        Search sees unindexed rows too, but scans them: 1,225 unindexed passages took 39 ms a
        full-text query, 3.6 ms after this (which took 0.1 s). Tables of VECTOR_INDEX_MIN_ROWS
        rows or more get an IVF_FLAT vector index (exact distances inside the probed partitions,
        so no quantisation loss), rebuilt once more than VECTOR_INDEX_MAX_UNINDEXED new rows
        would be scanned without it. LanceDB 0.40's `optimize()` folds new rows into an IVF
        index by collapsing its partitions (316 became 7, every query scanning everything), so a
        table with a vector index never gets an `optimize()` without a rebuild right after.
        Another writer's commit in between (a shared workspace) makes it start again.
        """
        retried(lambda: self._finish_writes(table), table)

    def _finish_writes(self, table: Any) -> None:
        indices = {i.name for i in table.list_indices()}
        if _FTS_INDEX not in indices:
            self._create_fts(table)
        rows = self.count(table)
        vector = table.index_stats(_VECTOR_INDEX) if _VECTOR_INDEX in indices else None
        text = table.index_stats(_FTS_INDEX)
        text_unindexed = bool(text and text.num_unindexed_rows)
        if self.vector_index_due(table):
            table.optimize()  # compaction and the full-text index, then the vector index anew
            from lancedb.index import IvfFlat

            table.create_index(
                "vector",
                config=IvfFlat(distance_type="cosine", num_partitions=_partitions(rows)),
                replace=True,
            )
        elif text_unindexed and vector is None:
            table.optimize()
        elif text_unindexed:
            self._create_fts(table)

    def vector_index_due(self, table: Any) -> bool:
        """Whether ``finish_writes`` will (re)build the vector index: k-means over every vector
        and a partitioned copy of them, ~340 MB more resident memory at 43k passages."""
        rows = self.count(table)
        if rows < VECTOR_INDEX_MIN_ROWS:
            return False
        if _VECTOR_INDEX not in {i.name for i in table.list_indices()}:
            return True
        return bool(
            table.index_stats(_VECTOR_INDEX).num_unindexed_rows > VECTOR_INDEX_MAX_UNINDEXED
        )

    def _create_fts(self, table: Any) -> None:
        from lancedb.index import FTS

        table.create_index("search_text", config=FTS(with_position=False), replace=True)

    def vector_search(self, table: Any, vector: np.ndarray, limit: int) -> list[Hit]:
        query = (
            table.search(vector, query_type="vector", vector_column_name="vector")
            .distance_type("cosine")
            .limit(limit)
            .select([*_COLUMNS, "_distance"])
            .with_row_id(True)
        )
        stats = table.index_stats(_VECTOR_INDEX)
        if stats is not None:
            # Probing a sixth of the partitions (at least 32) kept recall@10 >= 0.95 of an exact
            # scan at 10k and 100k passages (tests/benchmarks/bench_retrieval_latency.py).
            query = query.nprobes(max(32, _partitions(int(stats.num_indexed_rows)) // 6))
        rows = query.to_arrow()
        similarities = 1.0 - rows.column("_distance").to_numpy()
        return [
            _hit(row, similarity=float(similarity))
            for row, similarity in zip(
                rows.drop_columns(["_distance"]).to_pylist(), similarities, strict=True
            )
        ]

    def text_search(self, table: Any, query: str, limit: int, vector: np.ndarray) -> list[Hit]:
        """BM25 hits, each with its cosine similarity to the query's vector."""
        import numpy as np
        from lancedb.query import MatchQuery

        rows = (
            table.search(MatchQuery(query, "search_text"), query_type="fts")
            .limit(limit)
            .select([*_COLUMNS, "vector", "_score"])
            .with_row_id(True)
            .to_arrow()
        )
        if not rows.num_rows:
            return []
        vectors = rows.column("vector").combine_chunks()
        matrix = np.asarray(vectors.values.to_numpy()).reshape(len(vectors), -1)
        similarities = matrix @ vector
        scores = rows.column("_score").to_numpy()
        return [
            _hit(row, similarity=float(similarity), text_score=float(score))
            for row, similarity, score in zip(
                rows.select([*_COLUMNS, "_rowid"]).to_pylist(), similarities, scores, strict=True
            )
        ]

    def neighbours(self, table: Any, hit: Hit, last_chunk: int) -> dict[int, Hit]:
        """The passages just before and after a search hit in its document, by chunk number.

        A document's passages are written in order in one append, so they are usually the rows
        next to the hit's row: read by row id (2.2 ms at 100k rows) and checked, else looked up
        by a filtered scan (5 ms)."""
        wanted = {c for c in (hit.chunk - 1, hit.chunk + 1) if 0 <= c <= last_chunk}
        if hit.chunk < 0 or not wanted:  # a summary has no neighbours
            return {}
        if hit.row_id is not None and hit.row_id > 0:
            # A row id outside its fragment (the first or last row) reads nothing.
            rows = table.take_row_ids([hit.row_id - 1, hit.row_id + 1]).select(_COLUMNS).to_list()
            found = {
                int(r["chunk"]): _hit(r, similarity=0.0)
                for r in rows
                if int(r["doc_id"]) == hit.doc_id and int(r["chunk"]) in wanted
            }
            if set(found) == wanted:
                return found
        return self.passages(table, hit.doc_id, sorted(wanted))

    def passages(self, table: Any, doc_id: int, chunks: Sequence[int]) -> dict[int, Hit]:
        """Passages of one document by chunk number (similarity 0.0: not from a search)."""
        wanted = ", ".join(str(int(c)) for c in chunks)
        rows = (
            table.search()
            .where(f"doc_id = {int(doc_id)} AND chunk IN ({wanted})")
            .select(_COLUMNS)
            .limit(len(chunks))
            .to_list()
        )
        return {int(row["chunk"]): _hit(row, similarity=0.0) for row in rows}

    def iter_passages(self, table: Any, batch_rows: int = 1024) -> Iterator[list[dict[str, Any]]]:
        """All rows but their vectors, in batches (for re-embedding)."""
        columns = ["doc_id", "chunk", "text", "context", "section", "page", "sheet", "tokens"]
        for batch in table.search().select(columns).to_batches(batch_size=batch_rows):
            if batch.num_rows:
                yield batch.to_pylist()


def _hit(row: dict[str, Any], *, similarity: float, text_score: float | None = None) -> Hit:
    return Hit(
        int(row["doc_id"]),
        int(row["chunk"]),
        row["text"],
        row["section"] or "",
        row["page"],
        row["sheet"] or "",
        similarity,
        text_score,
        row.get("_rowid"),
    )
