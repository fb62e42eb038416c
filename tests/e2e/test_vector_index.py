"""The vector index of a large workspace table, on a real LanceDB folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anyllm_desktop.store.vectors import (
    VECTOR_INDEX_MAX_UNINDEXED,
    VECTOR_INDEX_MIN_ROWS,
    PassageRow,
    VectorStore,
)

pytestmark = pytest.mark.e2e

DIM = 32


def _rows(vectors: np.ndarray, start: int) -> list[PassageRow]:
    return [
        PassageRow(1, start + i, f"passage number{start + i}", "", "", None, "", 5, vector)
        for i, vector in enumerate(vectors)
    ]


def _recall_at_10(
    store: VectorStore, table: object, matrix: np.ndarray, queries: np.ndarray
) -> float:
    found = 0
    for query in queries:
        truth = set(np.argsort(-(matrix @ query))[:10].tolist())
        found += len(truth & {h.chunk for h in store.vector_search(table, query, 10)})
    return found / (10 * len(queries))


def test_large_tables_get_an_index_that_keeps_recall(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(64, DIM))
    size = VECTOR_INDEX_MIN_ROWS + 500
    extra = VECTOR_INDEX_MAX_UNINDEXED + 500
    matrix = centres[rng.integers(0, 64, size + extra)] + rng.normal(0, 0.5, (size + extra, DIM))
    matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    queries = matrix[rng.integers(0, size, 20)] + rng.normal(0, 0.1, (20, DIM)).astype(np.float32)

    store = VectorStore(tmp_path)
    table = store.table("big", model="test-model", dim=DIM)
    store.add(table, _rows(matrix[:size], 0))
    store.finish_writes(table)
    stats = table.index_stats("vector_idx")
    assert stats.index_type == "IVF_FLAT" and stats.num_indexed_rows == size
    assert _recall_at_10(store, table, matrix[:size], queries) >= 0.95

    # Enough new rows to rebuild: they are indexed, searchable by text, and recall holds
    # (LanceDB's optimize() alone would have collapsed the partitions).
    store.add(table, _rows(matrix[size:], size))
    store.finish_writes(table)
    assert table.index_stats("vector_idx").num_indexed_rows == size + extra
    assert table.index_stats("search_text_idx").num_unindexed_rows == 0
    assert [h.chunk for h in store.text_search(table, f"number{size + 7}", 1, queries[0])] == [
        size + 7
    ]
    assert _recall_at_10(store, table, matrix, queries) >= 0.95


def test_small_tables_are_scanned_exactly(tmp_path: Path) -> None:
    store = VectorStore(tmp_path)
    table = store.table("small", model="test-model", dim=DIM)
    vectors = np.eye(DIM, dtype=np.float32)
    store.add(table, _rows(vectors, 0))
    store.finish_writes(table)
    assert "vector_idx" not in {i.name for i in table.list_indices()}
    assert [h.chunk for h in store.vector_search(table, vectors[5], 1)] == [5]


def test_neighbours_are_read_by_row_id_and_checked(tmp_path: Path) -> None:
    store = VectorStore(tmp_path)
    table = store.table("docs", model="test-model", dim=4)

    def rows(doc: int, chunks: range) -> list[PassageRow]:
        return [
            PassageRow(doc, c, f"doc {doc} chunk {c}", "", "s", None, "", 3, np.ones(4, "f4"))
            for c in chunks
        ]

    # Document 2 spans two appends (two fragments); document 1 is deleted afterwards.
    store.add(table, rows(1, range(3)) + rows(2, range(2)))
    store.add(table, rows(2, range(2, 4)))
    store.delete_documents(table, [1])
    hits = {(h.doc_id, h.chunk): h for h in store.vector_search(table, np.ones(4, "f4"), 10)}
    assert all(h.row_id is not None for h in hits.values())

    def texts(doc: int, chunk: int, last: int) -> dict[int, str]:
        return {c: h.text for c, h in store.neighbours(table, hits[doc, chunk], last).items()}

    assert texts(2, 0, 3) == {1: "doc 2 chunk 1"}  # the row before is deleted: not read
    # The neighbour after sits in the next fragment: found by the filtered lookup.
    assert texts(2, 1, 3) == {0: "doc 2 chunk 0", 2: "doc 2 chunk 2"}
    assert texts(2, 2, 3) == {1: "doc 2 chunk 1", 3: "doc 2 chunk 3"}
    assert texts(2, 3, 3) == {2: "doc 2 chunk 2"}  # the last passage has no next one
