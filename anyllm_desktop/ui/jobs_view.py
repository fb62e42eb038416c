"""The jobs view: every long operation with its state, progress, ETA and outcome; cancel a
running or queued one, run a failed, cancelled or interrupted one again. Opened from the status
bar's *Jobs* button (or Tools → Jobs…); it only watches the job records."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.jobs import FINISHED, JobRecord
from anyllm_desktop.workers.job_queue import JobQueue

_COLUMNS = ("Job", "Workspace", "State", "Progress", "Details")
_STATE = {"queued": "Queued", "running": "Running", "done": "Done", "failed": "Failed",
          "cancelled": "Cancelled", "interrupted": "Interrupted"}  # fmt: skip


def _progress(job: JobRecord) -> str:
    if job.state != "running":
        return ""
    part = f"{job.done:,} / {job.total:,}" if job.total else "…"
    if job.eta_s:
        part += f" · about {job.eta_s:.0f} s left"
    return part


def _when(job: JobRecord) -> str:
    moment = job.finished_at or job.started_at or job.created_at
    return time.strftime("%H:%M", time.localtime(moment)) if moment else ""


def summary(queue: JobQueue) -> str:
    """The status bar button's text: what runs and what waits."""
    parts = [f"{queue.running_count} running"] if queue.running_count else []
    parts += [f"{queue.waiting_count} waiting"] if queue.waiting_count else []
    return "Jobs · " + ", ".join(parts) if parts else "Jobs"


class JobsView(QDialog):
    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Jobs")
        self.resize(1000, 380)  # room for a job's outcome ("12 indexed, 3 already in, 1 failed")
        self.queue = queue
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(_COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAccessibleName("Jobs")
        self.tree.setColumnWidth(0, 190)
        self.tree.setColumnWidth(1, 130)
        self.tree.setColumnWidth(2, 90)
        self.tree.setColumnWidth(3, 140)
        self.tree.itemSelectionChanged.connect(self._enable)
        self.hint = QLabel(
            "Indexing, re-embedding, removals and model downloads run here, one writer per "
            "workspace at a time; reading and asking never wait."
        )
        self.hint.setWordWrap(True)
        self.hint.setObjectName("EmptyHint")
        self.cancel_button = QPushButton("Cancel job")
        self.cancel_button.clicked.connect(self._cancel)
        self.retry_button = QPushButton("Run again")
        self.retry_button.clicked.connect(self._retry)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.retry_button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.refresh)
        queue.changed.connect(lambda _job: self.isVisible() and self.refresh())
        self.refresh()

    def showEvent(self, event: object) -> None:
        self.refresh()
        self._timer.start()
        super().showEvent(event)  # type: ignore[arg-type]

    def hideEvent(self, event: object) -> None:
        self._timer.stop()
        super().hideEvent(event)  # type: ignore[arg-type]

    def refresh(self) -> None:
        selected = self._selected()
        self.tree.clear()
        for job in self.queue.records():
            detail = job.error or job.message
            state = _STATE.get(job.state, job.state)
            columns = [f"{job.label} ({_when(job)})", job.workspace, state, _progress(job), detail]
            item = QTreeWidgetItem(columns)
            item.setData(0, Qt.ItemDataRole.UserRole, job)
            item.setToolTip(4, detail)
            self.tree.addTopLevelItem(item)
            if selected is not None and job.id == selected.id:
                item.setSelected(True)
        self._enable()

    def _selected(self) -> JobRecord | None:
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def _enable(self) -> None:
        job = self._selected()
        ours = {j.id for j in self.queue.active()}  # jobs of this app (not another process's)
        self.cancel_button.setEnabled(job is not None and job.id in ours)
        self.retry_button.setEnabled(job is not None and job.state in FINISHED - {"done"})
        self.retry_button.setText(
            "Resume" if job is not None and job.state == "interrupted" else "Run again"
        )

    def _cancel(self) -> None:
        if (job := self._selected()) is not None:
            self.queue.cancel(job.id)
            self.refresh()

    def _retry(self) -> None:
        if (job := self._selected()) is not None:
            self.queue.retry(job.id)
            self.refresh()
