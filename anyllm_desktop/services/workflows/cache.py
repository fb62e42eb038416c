"""Step outputs kept by the hash of everything that decides them, per workspace.

The key is the SHA-256 of the step's definition (kind, model, templates, labels, schema,
options), the model that answers it (the file or cloud model the id resolved to) and the
exact messages sent. A re-run finds every unchanged document's outputs here and asks no
model; a run killed half-way finds what it finished (each output is committed as it comes),
which is what resuming is. A changed document changes its text and so its key.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

_SCHEMA = """CREATE TABLE IF NOT EXISTS outputs (
    key TEXT PRIMARY KEY, step TEXT NOT NULL, item TEXT NOT NULL, output TEXT NOT NULL,
    created_at REAL NOT NULL)"""
#: Raised when the way keys are made changes: old outputs are then never found again.
KEY_VERSION = 1


def cache_key(step: dict[str, Any], model: str, messages: list[dict[str, str]],
              grammar: str | None, method: str = "generates") -> str:  # fmt: skip
    """The hash of everything that decides an output: the step, the model that answers, the
    messages, the grammar, and how the model answers (``StepModels.how``)."""
    payload = {"v": KEY_VERSION, "step": step, "model": model, "messages": messages,
               "grammar": grammar, "method": method}  # fmt: skip
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StepCache:
    """One SQLite file per workspace (``workspaces/workflows/UID.sqlite3``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, key: str) -> Any | None:
        row = self._db.execute("SELECT output FROM outputs WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, step: str, item: str, output: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?)",
            (key, step, item, json.dumps(output, ensure_ascii=False), time.time()),
        )
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outputs").fetchone()[0])

    def close(self) -> None:
        self._db.close()
