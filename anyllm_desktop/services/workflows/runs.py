"""Workflow runs kept per workspace: each finished, failed or cancelled run with when, which
workflow (id, name, file), each step's model, the documents, its state and its result (rows
with a citation per cell, columns, report, notes), so it can be listed, reopened and exported.

They live in the workspace's workflow file (``AppPaths.workflow_cache(uid)``, a ``runs`` table
beside the step cache's ``outputs``), which deleting the workspace deletes. Connections are
short: a run is written when it starts ("running", with the process's id) and again at its end;
a list or a reopen reads and closes. A run left "running" by a process that is gone (killed,
crashed, the power cut) is listed as "interrupted", so no run disappears from the list.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from anyllm_desktop.services.workflows.results import Citation, Row, WorkflowResult
from anyllm_desktop.store.jobs import process_alive

_SCHEMA = """CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started_at REAL NOT NULL, finished_at REAL NOT NULL,
    workflow TEXT NOT NULL, name TEXT NOT NULL, file TEXT NOT NULL, models TEXT NOT NULL,
    documents TEXT NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL, rows INTEGER NOT NULL,
    result TEXT, pid INTEGER NOT NULL DEFAULT 0)"""
_FIELDS = ("id, started_at, finished_at, workflow, name, file, models, documents, status, "
           "error, rows")  # fmt: skip
#: States a kept run ends in.
STATES = ("done", "failed", "cancelled")
#: What a run left "running" by a process that is gone is listed with.
INTERRUPTED = ("interrupted: the app stopped before this run ended; run it again and the "
               "finished steps come from the cache")  # fmt: skip


@dataclass
class RunRecord:
    """One kept run; ``result`` is read only by :meth:`RunLog.get` (a list leaves it None)."""

    workflow: str
    name: str
    file: str
    status: str
    started_at: float
    finished_at: float = field(default_factory=time.time)
    #: Each model-asking step's model ("each.sentiment" style names: the step's own name).
    models: dict[str, str] = field(default_factory=dict)
    #: The documents asked for (file names), or ["all"].
    documents: list[str] = field(default_factory=list)
    error: str = ""
    rows: int = 0
    result: WorkflowResult | None = None
    id: int = 0

    def describe(self) -> str:
        """One line for a list: when, what, how it ended."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started_at))
        plural = "s" if self.rows != 1 else ""
        outcome = f"{self.rows} row{plural}" if self.status == "done" else self.status
        return f"#{self.id} · {when} · {self.name} · {outcome}"

    def summary(self) -> dict[str, Any]:
        """The record as ``anyllm runs --json`` prints it (without the result)."""
        return {"id": self.id, "workflow": self.workflow, "name": self.name, "file": self.file,
                "status": self.status, "error": self.error, "started_at": self.started_at,
                "finished_at": self.finished_at, "models": self.models,
                "documents": self.documents, "rows": self.rows}  # fmt: skip


def _citation(data: dict[str, Any]) -> Citation:
    return Citation(data["document"], tuple(data.get("pages") or ()),
                    tuple(data.get("sections") or ()))  # fmt: skip


def result_from_json(data: dict[str, Any]) -> WorkflowResult:
    """The inverse of :meth:`WorkflowResult.to_json` (what a kept run stores)."""
    columns = list(data.get("columns", []))
    rows = []
    for raw in data.get("rows", []):
        cells = raw.get("cells", {})
        cite = next(iter(cells.values()), {}).get("citation") if cells else None
        values = {c: cells[c]["value"] for c in columns if c in cells}
        rows.append(Row(raw["document"], _citation(cite or {"document": raw["document"]}),
                        values, raw.get("status", "done"), raw.get("reason", "")))  # fmt: skip
    result = WorkflowResult(data["workflow"], data["name"], columns, rows, data.get("report"),
                            model_calls=data.get("model_calls", 0), cached=data.get("cached", 0),
                            notes=list(data.get("notes", [])),
                            models=dict(data.get("models", {})))  # fmt: skip
    # What later versions of the result added (a report's citations, token counts).
    known = {f.name for f in fields(WorkflowResult)}
    for name, value in data.items():
        if name in known and name not in _SET:
            setattr(result, name, [_citation(c) for c in value] if name == "citations" else value)
    return result


#: The result's fields ``result_from_json`` sets itself.
_SET = frozenset({"workflow", "name", "columns", "rows", "report", "model_calls", "cached",
                  "notes", "models"})  # fmt: skip


class RunLog:
    """The runs of one workspace, newest first."""

    def __init__(self, path: Path, alive: Callable[[int], bool] = process_alive) -> None:
        self.path = path
        self._alive = alive

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            if "pid" not in columns:  # a log written before runs were kept from their start
                db.execute("ALTER TABLE runs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0")
            with db:  # one transaction, committed at the end
                yield db

    def start(self, record: RunRecord) -> int:
        """Keep ``record`` as "running" by this process; its new id (``add`` ends it)."""
        record.status = "running"
        return self._write(record, pid=os.getpid())

    def add(self, record: RunRecord) -> int:
        """Keep ``record`` as it ended (the one ``start`` wrote, when it has an id); its id."""
        if record.status not in STATES:
            raise ValueError(f"a run ends done, failed or cancelled, not {record.status!r}")
        return self._write(record, pid=0)

    def _write(self, record: RunRecord, pid: int) -> int:
        result = record.result
        rows = len(result.rows) if result is not None else 0
        data = json.dumps(result.to_json(), ensure_ascii=False) if result is not None else None
        values = (record.started_at, record.finished_at, record.workflow, record.name,
                  record.file, json.dumps(record.models), json.dumps(record.documents),
                  record.status, record.error, rows, data, pid)  # fmt: skip
        with self._db() as db:
            if record.id:
                db.execute("UPDATE runs SET started_at=?, finished_at=?, workflow=?, name=?, "
                           "file=?, models=?, documents=?, status=?, error=?, rows=?, result=?, "
                           "pid=? WHERE id=?", (*values, record.id))  # fmt: skip
            else:
                cursor = db.execute(
                    "INSERT INTO runs (started_at, finished_at, workflow, name, file, models, "
                    "documents, status, error, rows, result, pid) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", values)  # fmt: skip
                record.id = int(cursor.lastrowid or 0)
            record.rows = rows
        return record.id

    def recent(self, limit: int = 100) -> list[RunRecord]:
        """The newest runs, a run whose process is gone marked "interrupted" first."""
        if not self.path.exists():
            return []
        with self._db() as db:
            self._mark_gone(db)
            found = db.execute(f"SELECT {_FIELDS} FROM runs ORDER BY id DESC LIMIT ?", (limit,))
            return [_record(row) for row in found.fetchall()]

    def _mark_gone(self, db: sqlite3.Connection) -> None:
        left = db.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall()
        for ident, pid in left:
            if not self._alive(pid):
                db.execute("UPDATE runs SET status='interrupted', error=?, pid=0 WHERE id=?",
                           (INTERRUPTED, ident))  # fmt: skip

    def get(self, run_id: int) -> RunRecord:
        """The run with its result; KeyError naming the runs there are when there is none."""
        row = None
        if self.path.exists():
            with self._db() as db:
                self._mark_gone(db)
                row = db.execute(f"SELECT {_FIELDS}, result FROM runs WHERE id = ?",
                                 (run_id,)).fetchone()  # fmt: skip
        if row is None:
            known = ", ".join(str(r.id) for r in self.recent(10)) or "none yet"
            raise KeyError(f"There is no run {run_id} in this workspace (runs: {known}).")
        record = _record(row[:-1])
        record.result = result_from_json(json.loads(row[-1])) if row[-1] else None
        return record


def _record(row: tuple[Any, ...]) -> RunRecord:
    ident, started, finished, workflow, name, file, models, documents, status, error, rows = row
    return RunRecord(workflow, name, file, status, started, finished, json.loads(models),
                     json.loads(documents), error, rows, id=ident)  # fmt: skip
