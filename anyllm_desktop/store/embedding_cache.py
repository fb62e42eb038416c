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
    ingest. One connection, used by one thread at a time (a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        #: What happened to a damaged cache file, for the log ("" when nothing did).
        self.rebuilt = ""
        try:
            self._db = self._open()
        except sqlite3.OperationalError:  # a full or read-only disk: a cache for this run
            self._db = self._open(":memory:")
        except sqlite3.DatabaseError as exc:
            self._db = self._rebuild(exc)

    def _open(self, where: Path | str | None = None) -> sqlite3.Connection:
        connection = sqlite3.connect(
            where or self.path, timeout=30, isolation_level=None, check_same_thread=False
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

    def _rebuild(self, problem: Exception) -> sqlite3.Connection:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.replace(part.with_name(f"{self.path.name}.damaged-{stamp}{suffix}"))
        self.rebuilt = f"the embedding cache {self.path} was damaged ({problem}); a new one is used"
        return self._open()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return work(self._db)
            except sqlite3.OperationalError:
                raise  # locked, the disk: not damage
            except sqlite3.DatabaseError as exc:
                self._db.close()
                self._db = self._rebuild(exc)
                return work(self._db)

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
            self._db.close()
