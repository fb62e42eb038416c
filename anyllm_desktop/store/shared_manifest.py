"""What a workspace on shared storage holds, kept next to its passages: which workspace it is
and its document list.

The documents table in SQLite is per home, so a second machine sharing the bucket would see
passages whose documents it never heard of. The list therefore lives at the location itself,
in two small LanceDB tables beside the passages, not in a JSON object: a LanceDB commit is a
conditional put (store/locations.py), so two machines adding documents at once both land,
where a JSON object rewritten by each would keep only the last writer's. A machine reads the
list from there (each home's SQLite rows for the workspace are a cache of it).

A document is known everywhere by ``doc_key``: its content hash as a number. SQLite's row ids
differ between homes; passages of a shared workspace carry the key as their ``doc_id``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from anyllm_desktop.store.vectors import VectorStore

WORKSPACE_TABLE = "anyllm_workspace"
DOCUMENTS_TABLE = "anyllm_documents"


def doc_key(content_hash: str) -> int:
    """A document's id in every home: the first 60 bits of its (hex) content hash."""
    return int(content_hash[:15], 16)


@dataclass(frozen=True)
class SharedWorkspace:
    uid: str
    vector_table: str
    embedding_model: str


@dataclass(frozen=True)
class SharedDocument:
    content_hash: str
    title: str
    path: str
    kind: str
    pages: int
    passages: int
    added_at: float
    #: Which machine added it (its host name), for the document list.
    added_by: str

    @property
    def key(self) -> int:
        return doc_key(self.content_hash)


class SharedManifest:
    def __init__(self, store: VectorStore) -> None:
        self.store = store
        self._db = store.connection

    def claim(self, proposed: SharedWorkspace) -> SharedWorkspace:
        """The workspace already at this location, or ``proposed`` kept as it. Of two machines
        claiming at once one creates the table; the other reads it."""
        import pyarrow as pa

        if WORKSPACE_TABLE not in self.store.table_names():
            data = pa.Table.from_pylist([vars(proposed)])
            # Created by another machine meanwhile: read below.
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                self._db.create_table(WORKSPACE_TABLE, data=data, mode="create")
        row = self._db.open_table(WORKSPACE_TABLE).to_arrow().to_pylist()[0]
        return SharedWorkspace(row["uid"], row["vector_table"], row["embedding_model"])

    def _documents(self) -> Any:
        import pyarrow as pa

        if DOCUMENTS_TABLE in self.store.table_names():
            return self._db.open_table(DOCUMENTS_TABLE)
        schema = pa.schema(
            [
                ("content_hash", pa.string()),
                ("title", pa.string()),
                ("path", pa.string()),
                ("kind", pa.string()),
                ("pages", pa.int32()),
                ("passages", pa.int32()),
                ("added_at", pa.float64()),
                ("added_by", pa.string()),
            ]
        )
        return self._db.create_table(DOCUMENTS_TABLE, schema=schema, exist_ok=True)

    def publish(self, document: SharedDocument) -> None:
        """After its passages are written: one row per content hash (re-adding replaces)."""
        import pyarrow as pa

        table = self._documents()
        data = pa.Table.from_pylist([vars(document)], schema=table.schema)
        (
            table.merge_insert("content_hash")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(data)
        )

    def forget(self, content_hash: str) -> None:
        if DOCUMENTS_TABLE in self.store.table_names():
            table = self._db.open_table(DOCUMENTS_TABLE)
            table.delete(f"content_hash = '{content_hash.replace(chr(39), '')}'")

    def documents(self) -> list[SharedDocument]:
        """Every document at the location, whoever added it, oldest first."""
        if DOCUMENTS_TABLE not in self.store.table_names():
            return []
        rows = self._db.open_table(DOCUMENTS_TABLE).to_arrow().to_pylist()
        return sorted((SharedDocument(**row) for row in rows), key=lambda d: d.added_at)
