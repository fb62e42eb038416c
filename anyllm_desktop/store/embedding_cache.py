"""Vectors already computed, keyed by (embedding model, text): the same passage is embedded once,
whichever workspace it goes into and however often it is re-indexed."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_LOOKUP_BATCH = 500


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
        )

    def get_many(self, model: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        import numpy as np

        keys = [text_key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), _LOOKUP_BATCH):
            batch = keys[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(batch))
            for key, blob in self._db.execute(
                f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                [model, *batch],
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return [found.get(key) for key in keys]

    def put_many(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        import numpy as np

        rows = [
            (model, text_key(t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
