"""The fine-tuning jobs started on cloud providers, by their remote id, in the library's database.

A cloud job runs for minutes to hours on the provider's side; the process that started it may
be closed long before. Its remote id and last known status are kept here, so a later process
(``anyllm finetune --cloud P --resume``, the app's dialog) polls it to its end.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from anyllm_desktop.store.database import SQLiteStore

#: The OpenAI fine-tuning API's statuses after which a job does nothing more.
ENDED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class CloudFinetune:
    provider: str
    remote_id: str
    #: The base model it fine-tunes.
    model: str
    #: The provider's last reported status ("validating_files", "running", "succeeded", ...).
    status: str
    fine_tuned_model: str = ""
    #: The provider's reason when it failed or was cancelled.
    error: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def ended(self) -> bool:
        return self.status in ENDED


def _row(row: sqlite3.Row) -> CloudFinetune:
    values = {key: row[key] for key in row.keys() if key != "id"}  # noqa: SIM118 (sqlite3.Row)
    return CloudFinetune(**values)


class CloudFinetunes(SQLiteStore):
    def started(self, provider: str, remote_id: str, model: str, status: str) -> None:
        now = time.time()
        self._db.execute(
            "INSERT OR REPLACE INTO cloud_finetunes (provider, remote_id, model, status, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (provider, remote_id, model, status or "queued", now, now),
        )

    def update(self, provider: str, remote_id: str, status: str, *, fine_tuned_model: str = "",
               error: str = "") -> None:  # fmt: skip
        self._db.execute(
            "UPDATE cloud_finetunes SET status = ?, fine_tuned_model = ?, error = ?, "
            "updated_at = ? WHERE provider = ? AND remote_id = ?",
            (status, fine_tuned_model, error, time.time(), provider, remote_id),
        )

    def get(self, provider: str, remote_id: str) -> CloudFinetune | None:
        row = self._db.execute(
            "SELECT * FROM cloud_finetunes WHERE provider = ? AND remote_id = ?",
            (provider, remote_id),
        ).fetchone()
        return _row(row) if row is not None else None

    def of_provider(self, provider: str) -> list[CloudFinetune]:
        """The provider's jobs, newest first."""
        rows = self._db.execute(
            "SELECT * FROM cloud_finetunes WHERE provider = ? ORDER BY id DESC", (provider,)
        )
        return [_row(r) for r in rows]

    def unfinished(self, provider: str) -> list[CloudFinetune]:
        """The provider's jobs not known to have ended, newest first."""
        return [job for job in self.of_provider(provider) if not job.ended]
