"""Vectors already computed, keyed by (embedding model, text): the same passage is embedded once,
whichever workspace it goes into and however often it is re-indexed."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np

_LOOKUP_BATCH = 500
T = TypeVar("T")


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    """A disposable cache: a file that cannot be read (damaged, not a database) is set aside and
    a new one made, so a broken cache costs re-computed vectors, never a failed search or
    ingest. One connection per thread that uses it (as the library's stores do): a search on the
    GUI's worker reads while an ingest writes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        #: Where the connections go: the file, or memory when the disk refuses it.
        self._where: Path | str = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open_connections: list[sqlite3.Connection] = []
        #: Rebuilds so far: a thread's connection from before the last one is replaced.
        self._generation = 0
        #: What happened to a damaged cache file, for the log ("" when nothing did).
        self.rebuilt = ""
        try:
            self._connection()
        except sqlite3.OperationalError:  # a full or read-only disk: a cache for this run
            self._where = ":memory:"
            self._connection()
        except sqlite3.DatabaseError as exc:
            self._rebuild(exc)

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._where, timeout=30, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, "
                "vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
            )
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return connection

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.generation != self._generation:
            connection = self._open()
            self._local.connection, self._local.generation = connection, self._generation
            with self._lock:
                self._open_connections.append(connection)
        return connection

    def _rebuild(self, problem: Exception) -> None:
        """Set the damaged file aside (every thread's connection closed) and start a new one."""
        with self._lock:
            for connection in self._open_connections:
                connection.close()
            self._open_connections.clear()
            self._generation += 1
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for suffix in ("", "-wal", "-shm"):
                part = self.path.with_name(self.path.name + suffix)
                if part.exists():
                    part.replace(part.with_name(f"{self.path.name}.damaged-{stamp}{suffix}"))
            self.rebuilt = (
                f"the embedding cache {self.path} was damaged ({problem}); a new one is used"
            )
        self._connection()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connection())
        except sqlite3.OperationalError:
            raise  # locked, the disk: not damage
        except sqlite3.DatabaseError as exc:
            self._rebuild(exc)
            return work(self._connection())

    def get_many(self, model: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        import numpy as np

        keys = [text_key(t) for t in texts]

        def lookup(db: sqlite3.Connection) -> dict[bytes, np.ndarray]:
            found: dict[bytes, np.ndarray] = {}
            for start in range(0, len(keys), _LOOKUP_BATCH):
                batch = keys[start : start + _LOOKUP_BATCH]
                marks = ",".join("?" * len(batch))
                for key, blob in db.execute(
                    f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                    [model, *batch],
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
            return found

        found = self._run(lookup)
        return [found.get(key) for key in keys]

    def put_many(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        import numpy as np

        rows = [
            (model, text_key(t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]

        def store(db: sqlite3.Connection) -> None:
            db.execute("BEGIN")
            try:
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        try:
            self._run(store)
        except sqlite3.OperationalError as exc:
            if not any(m in str(exc) for m in ("full", "readonly", "I/O")):
                raise
            # The disk: the vectors are not cached (the index itself is written elsewhere).

    def close(self) -> None:
        with self._lock:
            for connection in self._open_connections:
                connection.close()
            self._open_connections.clear()
            self._generation += 1
