"""Job records in SQLite (the library's database): what runs, ran, failed or was interrupted."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import psutil

from anyllm_desktop.core.jobs import FINISHED, JobRecord
from anyllm_desktop.store.database import SQLiteStore

_FIELDS = ("state", "done", "total", "message", "error", "eta_s", "started_at", "finished_at",
           "pid")  # fmt: skip


def process_alive(pid: int) -> bool:
    """Whether the process that wrote a record as running still runs (this one does)."""
    return pid == os.getpid() or (pid > 0 and psutil.pid_exists(pid))


def _job(row: sqlite3.Row) -> JobRecord:
    values = {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row)
    values["params"] = json.loads(values["params"] or "{}")
    return JobRecord(**values)


class JobNotFoundError(KeyError):
    def __str__(self) -> str:
        return f"no job with id {self.args[0]}"


class Jobs(SQLiteStore):
    def create(
        self, kind: str, workspace: str, workspace_uid: str, params: dict[str, Any]
    ) -> JobRecord:
        cursor = self._db.execute(
            "INSERT INTO jobs (kind, workspace, workspace_uid, params, state, created_at, pid) "
            "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
            (kind, workspace, workspace_uid, json.dumps(params), time.time(), os.getpid()),
        )
        assert cursor.lastrowid is not None
        return self.get(cursor.lastrowid)

    def get(self, job_id: int) -> JobRecord:
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return _job(row)

    def update(self, job_id: int, **fields: Any) -> None:
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise ValueError(f"not job fields: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*fields.values(), job_id))

    def set_params(self, job_id: int, params: dict[str, Any]) -> None:
        """What a run again of the job starts from (``JobService.again`` reads them)."""
        self._db.execute("UPDATE jobs SET params = ? WHERE id = ?", (json.dumps(params), job_id))

    def recent(self, limit: int = 100) -> list[JobRecord]:
        """The newest jobs first."""
        rows = self._db.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        return [_job(r) for r in rows]

    def mark_interrupted(self, alive: Callable[[int], bool]) -> list[JobRecord]:
        """Jobs left queued or running by a process that is gone: now 'interrupted'."""
        marks = ",".join("?" * len(FINISHED))
        query = f"SELECT * FROM jobs WHERE state NOT IN ({marks})"
        left = [job for job in map(_job, self._db.execute(query, sorted(FINISHED)))
                if not alive(job.pid)]  # fmt: skip
        for job in left:
            note = f" (it was at: {job.message})" if job.message else ""
            self.update(job.id, state="interrupted", finished_at=time.time(),
                        message=f"interrupted: the app stopped before it ended{note}")  # fmt: skip
        return [self.get(job.id) for job in left]
