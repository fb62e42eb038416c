"""Workspace and document records in SQLite."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from anyllm_desktop.core.workspace import ChatSettings, Document, RetrievalSettings, Workspace
from anyllm_desktop.store.database import SQLiteStore


class WorkspaceExistsError(ValueError):
    pass


class WorkspaceNotFoundError(KeyError):
    def __str__(self) -> str:
        return f"no workspace named {self.args[0]!r}"


def _workspace(row: sqlite3.Row) -> Workspace:
    return Workspace(
        id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        embedding_model=row["embedding_model"],
        vector_table=row["vector_table"],
        retrieval=RetrievalSettings.from_dict(json.loads(row["retrieval"] or "{}")),
        chat=ChatSettings.from_dict(json.loads(row["chat"] or "{}")),
        uid=row["uid"],
    )


def table_name(uid: str, version: int) -> str:
    """A workspace's LanceDB table: named by its uid, which no later workspace gets."""
    return f"ws_{uid}_v{version}"


def table_version(table: str) -> int:
    return int(table.rsplit("_v", 1)[-1])


def _document(row: sqlite3.Row) -> Document:
    return Document(**{key: row[key] for key in row.keys()})  # noqa: SIM118 (sqlite3.Row)


class Records(SQLiteStore):
    # -- workspaces ---------------------------------------------------------------------------

    def create_workspace(
        self, name: str, embedding_model: str, *, uid: str = "", vector_table: str = ""
    ) -> Workspace:
        """A new workspace; ``uid`` and ``vector_table`` are given when it joins a shared one."""
        name = " ".join(name.split())
        if not name:
            raise ValueError("a workspace needs a name")
        if uid and (joined := self.workspace_by_uid(uid)) is not None:
            raise WorkspaceExistsError(
                f"this library already has the workspace kept there, as {joined.name!r}"
            )
        uid = uid or uuid.uuid4().hex
        try:
            cursor = self._db.execute(
                "INSERT INTO workspaces (name, created_at, embedding_model, vector_table, "
                "retrieval, uid) VALUES (?, ?, ?, ?, ?, ?)",
                (name, time.time(), embedding_model, vector_table or table_name(uid, 1),
                 json.dumps(RetrievalSettings().to_dict()), uid),
            )  # fmt: skip
        except sqlite3.IntegrityError as exc:
            raise WorkspaceExistsError(f"a workspace named {name!r} already exists") from exc
        assert cursor.lastrowid is not None
        return self.workspace_by_id(cursor.lastrowid)

    def workspaces(self) -> list[Workspace]:
        rows = self._db.execute("SELECT * FROM workspaces ORDER BY name COLLATE NOCASE")
        return [_workspace(r) for r in rows]

    def workspace(self, name: str) -> Workspace:
        row = self._db.execute("SELECT * FROM workspaces WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise WorkspaceNotFoundError(name)
        return _workspace(row)

    def workspace_by_id(self, workspace_id: int) -> Workspace:
        row = self._db.execute("SELECT * FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
        if row is None:
            raise WorkspaceNotFoundError(workspace_id)
        return _workspace(row)

    def workspace_by_uid(self, uid: str) -> Workspace | None:
        row = self._db.execute("SELECT * FROM workspaces WHERE uid = ?", (uid,)).fetchone()
        return _workspace(row) if row else None

    def vector_tables(self) -> set[str]:
        """The tables the workspaces use now."""
        return {row[0] for row in self._db.execute("SELECT vector_table FROM workspaces")}

    def library_uid(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'library_uid'").fetchone()
        return str(row[0])

    def rename_workspace(self, workspace_id: int, new_name: str) -> None:
        new_name = " ".join(new_name.split())
        if not new_name:
            raise ValueError("a workspace needs a name")
        try:
            self._db.execute(
                "UPDATE workspaces SET name = ? WHERE id = ?", (new_name, workspace_id)
            )
        except sqlite3.IntegrityError as exc:
            raise WorkspaceExistsError(f"a workspace named {new_name!r} already exists") from exc

    def set_retrieval(self, workspace_id: int, settings: RetrievalSettings) -> None:
        self._db.execute(
            "UPDATE workspaces SET retrieval = ? WHERE id = ?",
            (json.dumps(settings.to_dict()), workspace_id),
        )

    def set_chat(self, workspace_id: int, settings: ChatSettings) -> None:
        self._db.execute(
            "UPDATE workspaces SET chat = ? WHERE id = ?",
            (json.dumps(settings.to_dict()), workspace_id),
        )

    def set_vector_table(self, workspace_id: int, embedding_model: str, table: str) -> None:
        self._db.execute(
            "UPDATE workspaces SET embedding_model = ?, vector_table = ? WHERE id = ?",
            (embedding_model, table, workspace_id),
        )

    def delete_workspace(self, workspace_id: int) -> None:
        self._db.execute("DELETE FROM workspaces WHERE id = ?", (workspace_id,))

    # -- documents ----------------------------------------------------------------------------

    def documents(self, workspace_id: int) -> list[Document]:
        rows = self._db.execute(
            "SELECT * FROM documents WHERE workspace_id = ? ORDER BY path", (workspace_id,)
        )
        return [_document(r) for r in rows]

    def document_counts(self) -> dict[int, int]:
        rows = self._db.execute(
            "SELECT workspace_id, COUNT(*) FROM documents WHERE status = 'indexed' "
            "GROUP BY workspace_id"
        )
        return {workspace_id: count for workspace_id, count in rows}

    def document_tallies(self) -> dict[int, dict[str, int]]:
        """Per workspace: how many documents are in each status (indexed, indexing, failed)."""
        tallies: dict[int, dict[str, int]] = {}
        rows = self._db.execute(
            "SELECT workspace_id, status, COUNT(*) FROM documents GROUP BY workspace_id, status"
        )
        for workspace_id, status, count in rows:
            tallies.setdefault(workspace_id, {})[status] = count
        return tallies

    def document(self, document_id: int) -> Document | None:
        row = self._db.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
        return _document(row) if row else None

    def documents_by_id(self, ids: list[int]) -> dict[int, Document]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"SELECT * FROM documents WHERE id IN ({marks})", ids)
        return {row["id"]: _document(row) for row in rows}

    def find_by_hash(self, workspace_id: int, content_hash: str) -> Document | None:
        row = self._db.execute(
            "SELECT * FROM documents WHERE workspace_id = ? AND content_hash = ?",
            (workspace_id, content_hash),
        ).fetchone()
        return _document(row) if row else None

    def find_by_path(self, workspace_id: int, path: str) -> list[Document]:
        rows = self._db.execute(
            "SELECT * FROM documents WHERE workspace_id = ? AND path = ?", (workspace_id, path)
        )
        return [_document(r) for r in rows]

    def begin_document(
        self,
        workspace_id: int,
        *,
        content_hash: str,
        path: str,
        title: str,
        kind: str,
        size: int,
        pages: int | None,
        document_id: int | None = None,
    ) -> int:
        """Record a document as 'indexing' before its passages are written, so a crash
        leaves a marker that the next ingest cleans up. ``document_id``: a shared workspace's
        key for it (else the next id)."""
        self._db.execute(
            "DELETE FROM documents WHERE workspace_id = ? AND content_hash = ?",
            (workspace_id, content_hash),
        )
        if document_id is not None:
            self._db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        cursor = self._db.execute(
            "INSERT INTO documents (id, workspace_id, content_hash, path, title, kind, size, "
            "status, pages, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'indexing', ?, ?)",
            (document_id, workspace_id, content_hash, path, title, kind, size, pages,
             time.time()),
        )  # fmt: skip
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def keep_shared_document(self, workspace_id: int, key: int, document: Any) -> None:
        """A shared workspace's document as another home listed it (a ``SharedDocument``):
        indexed, under its shared ``key``, replacing this home's row of the same content."""
        self._db.execute(
            "DELETE FROM documents WHERE id = ? OR (workspace_id = ? AND content_hash = ?)",
            (key, workspace_id, document.content_hash),
        )
        self._db.execute(
            "INSERT INTO documents (id, workspace_id, content_hash, path, title, kind, size, "
            "status, chunks, pages, added_at, indexed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, 'indexed', ?, ?, ?, ?)",
            (key, workspace_id, document.content_hash, document.path, document.title,
             document.kind, document.passages, document.pages or None, document.added_at,
             document.added_at),
        )  # fmt: skip

    def finish_document(self, document_id: int, chunks: int) -> None:
        self._db.execute(
            "UPDATE documents SET status = 'indexed', chunks = ?, error = NULL, indexed_at = ? "
            "WHERE id = ?",
            (chunks, time.time(), document_id),
        )

    def mark_failed(self, document_id: int, error: str) -> None:
        self._db.execute(
            "UPDATE documents SET status = 'failed', error = ?, chunks = 0 WHERE id = ?",
            (error, document_id),
        )

    def record_failure(
        self, workspace_id: int, *, content_hash: str, path: str, kind: str, size: int, error: str
    ) -> None:
        self._db.execute(
            "INSERT INTO documents (workspace_id, content_hash, path, title, kind, size, status, "
            "error, added_at) VALUES (?, ?, ?, ?, ?, ?, 'failed', ?, ?) "
            "ON CONFLICT (workspace_id, content_hash) DO UPDATE SET status = 'failed', "
            "error = excluded.error, path = excluded.path",
            (workspace_id, content_hash, path, Path(path).name, kind, size, error, time.time()),
        )

    def interrupted(self, workspace_id: int) -> list[Document]:
        rows = self._db.execute(
            "SELECT * FROM documents WHERE workspace_id = ? AND status = 'indexing'",
            (workspace_id,),
        )
        return [_document(r) for r in rows]

    def skip_document_ids_to(self, highest: int) -> None:
        """New documents get ids above ``highest``."""
        self._db.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'documents', 0 WHERE NOT EXISTS "
            "(SELECT 1 FROM sqlite_sequence WHERE name = 'documents')"
        )
        self._db.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'documents'", (highest,)
        )

    def delete_documents(self, ids: list[int]) -> None:
        if ids:
            marks = ",".join("?" * len(ids))
            self._db.execute(f"DELETE FROM documents WHERE id IN ({marks})", ids)
