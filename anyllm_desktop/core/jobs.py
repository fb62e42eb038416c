"""Jobs: every long operation as a record a person can follow, cancel, retry and resume.

A job is a Qt-free generator of events with a cancel token (as every long operation here is),
plus a kind, the workspace it concerns, its parameters, and a persisted record of its state and
progress (``store/jobs.py``). The kind says what it conflicts with: jobs that write a workspace's
index run one at a time per workspace (the writer lock enforces it across processes too; the
queue makes the wait visible in the app); every other job runs at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

JobState = Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]
#: States after which a job does nothing more.
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled", "interrupted"})


@dataclass(frozen=True)
class JobKind:
    name: str
    #: What a person reads in the jobs list ("Indexing", "Re-embedding", ...).
    label: str
    #: Writes a workspace's index: one such job per workspace at a time.
    writes_index: bool
    #: Can be run again from its parameters after the process died (ingest re-reads its
    #: files and skips what is in; re-embedding starts over into a fresh table).
    resumable: bool = True


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind("ingest", "Indexing", writes_index=True),
        JobKind("reindex", "Re-indexing", writes_index=True),
        JobKind("reembed", "Re-embedding", writes_index=True),
        JobKind("remove", "Removing a document", writes_index=True),
        JobKind("delete", "Deleting the workspace", writes_index=True),
        JobKind("model-load", "Loading the model", writes_index=False),
        JobKind("model-import", "Importing a model", writes_index=False),
        JobKind("model-download", "Downloading a model", writes_index=False),
        # Designed in now, run by the workflow and training issues.
        JobKind("workflow", "Running a workflow", writes_index=True),
        JobKind("training", "Training an adapter", writes_index=False),
        JobKind("cloud-finetune", "Fine-tuning in the cloud", writes_index=False, resumable=False),
    )
}


def register_kind(kind: JobKind) -> None:
    """A new kind of job (a plugin's, a later feature's)."""
    KINDS[kind.name] = kind


@dataclass(frozen=True)
class JobRecord:
    id: int
    kind: str
    #: The workspace's name when the job was made ("" for jobs of no workspace) and its uid.
    workspace: str
    workspace_uid: str
    params: dict[str, Any] = field(default_factory=dict)
    state: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    error: str = ""
    eta_s: float | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    #: The process that runs (or ran) it.
    pid: int = 0

    @property
    def label(self) -> str:
        kind = KINDS.get(self.kind)
        return kind.label if kind else self.kind

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def conflicts_with(self, other: JobRecord) -> bool:
        """Whether the two may not run at the same time."""
        mine, theirs = KINDS.get(self.kind), KINDS.get(other.kind)
        return bool(
            mine and theirs and mine.writes_index and theirs.writes_index
            and self.workspace_uid and self.workspace_uid == other.workspace_uid
        )  # fmt: skip

    def describe(self) -> str:
        """One line for a list: what, where, how far."""
        where = f" · {self.workspace}" if self.workspace else ""
        if self.state == "running" and self.total:
            return f"{self.label}{where}: {self.done}/{self.total}"
        return f"{self.label}{where}: {self.state}"
