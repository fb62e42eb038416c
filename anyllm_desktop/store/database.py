"""The app's SQLite database (stdlib): workspaces, documents, threads and messages, with numbered
migrations."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE workspaces (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at REAL NOT NULL,
        embedding_model TEXT NOT NULL,
        vector_table TEXT NOT NULL,
        retrieval TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        content_hash TEXT NOT NULL,
        path TEXT NOT NULL,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        chunks INTEGER NOT NULL DEFAULT 0,
        pages INTEGER,
        added_at REAL NOT NULL,
        indexed_at REAL,
        UNIQUE (workspace_id, content_hash)
    );
    CREATE INDEX documents_by_path ON documents (workspace_id, path);
    """,
    """
    ALTER TABLE workspaces ADD COLUMN chat TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE threads (
        id INTEGER PRIMARY KEY,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        system_prompt TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX threads_by_workspace ON threads (workspace_id, updated_at);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        sent_content TEXT,
        sources TEXT NOT NULL DEFAULT '[]',
        citations TEXT NOT NULL DEFAULT '[]',
        provider TEXT,
        model TEXT,
        stopped INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        timings TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    CREATE INDEX messages_by_thread ON messages (thread_id, id);
    """,
    # Identities that are never reused. A workspace gets a random uid that names its LanceDB
    # tables (rowids come back after a delete, or from 1 in a lost-and-recreated database, and
    # tables named after them handed one workspace's passages to the next). Document ids are
    # AUTOINCREMENT: passages left behind by an interrupted removal never match a new document.
    # ``meta`` holds the library's own uid, also written beside the LanceDB folder, so a
    # database that no longer belongs to that folder is noticed.
    """
    ALTER TABLE workspaces ADD COLUMN uid TEXT;
    UPDATE workspaces SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL;
    CREATE UNIQUE INDEX workspaces_by_uid ON workspaces (uid);
    CREATE TABLE documents_v3 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        content_hash TEXT NOT NULL,
        path TEXT NOT NULL,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        chunks INTEGER NOT NULL DEFAULT 0,
        pages INTEGER,
        added_at REAL NOT NULL,
        indexed_at REAL,
        UNIQUE (workspace_id, content_hash)
    );
    INSERT INTO documents_v3 SELECT * FROM documents;
    DROP TABLE documents;
    ALTER TABLE documents_v3 RENAME TO documents;
    CREATE INDEX documents_by_path ON documents (workspace_id, path);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta VALUES ('library_uid', lower(hex(randomblob(16))));
    INSERT INTO meta VALUES ('created_at', strftime('%s', 'now'));
    """,
    # Every long operation's record (core/jobs.py): kept after its workspace is deleted.
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        workspace TEXT NOT NULL DEFAULT '',
        workspace_uid TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        eta_s REAL,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        pid INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX jobs_by_state ON jobs (state, id);
    """,
    # An answer's evidence and support check (services/evidence.py, services/support_check.py),
    # and the model's own text where the answer shows something else (query mode).
    """
    ALTER TABLE messages ADD COLUMN evidence TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE messages ADD COLUMN unsupported TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE messages ADD COLUMN generated TEXT;
    """,
    # Regenerate keeps the earlier answers: their question/answer pairs are superseded (kept,
    # switchable, left out of the chat's history and of exports).
    """
    ALTER TABLE messages ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
    """,
    # The user's verdict on an answer (1 good, -1 bad) and their correction of it: training
    # examples (services/datasets.py).
    """
    ALTER TABLE messages ADD COLUMN rating INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN correction TEXT;
    """,
    # The cloud fine-tuning jobs started on a provider (store/cloud_finetunes.py): the remote
    # job's id outlives the process that started it, so a later one polls it to its end.
    """
    CREATE TABLE IF NOT EXISTS cloud_finetunes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        provider TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL,
        fine_tuned_model TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (provider, remote_id)
    );
    """,
)


class PerThreadConnections:
    """One connection to the database per thread that uses it (a sqlite3 connection must not be
    shared by threads running at the same time), so the GUI can list threads while a worker
    writes. ``close`` closes them all, from any thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = connect(self._path)
            self._local.connection = connection
            with self._lock:
                self._open.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._open:
                connection.close()
            self._open.clear()
        self._local = threading.local()


class SQLiteStore:
    """Base of the stores on the app's database: ``_db`` is the calling thread's connection."""

    def __init__(self, path: Path) -> None:
        self._connections = PerThreadConnections(path)

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        self._connections.close()


#: Below this much free space the disk counts as full.
FULL_DISK_BYTES = 1 << 20


def disk_is_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < FULL_DISK_BYTES
    except OSError:
        return False


def connect(path: Path) -> sqlite3.Connection:
    """Open (and migrate) the database. On a full disk, where WAL mode cannot create its
    shared-memory file, it is opened read-only instead: reading keeps working, and writes fail
    with an error that the callers turn into "the disk is full"."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # check_same_thread=False only so that PerThreadConnections.close works from any thread.
        connection = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        _migrate(connection)
    except sqlite3.OperationalError:
        if not (path.exists() and disk_is_full(path.parent)):
            raise
        return _read_only(path)
    return connection


def _read_only(path: Path) -> sqlite3.Connection:
    """The database as it is on disk, without the WAL's shared memory (``immutable``: a
    cleanly closed database has no WAL left to read)."""
    uri = f"{path.resolve().as_uri()}?immutable=1"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    if connection.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS):
        connection.close()
        raise sqlite3.OperationalError("database or disk is full (the library needs an update)")
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            # user_version is re-read under the lock: another process may have migrated.
            if connection.execute("PRAGMA user_version").fetchone()[0] >= number:
                connection.execute("ROLLBACK")
                continue
            for statement in filter(str.strip, script.split(";")):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
