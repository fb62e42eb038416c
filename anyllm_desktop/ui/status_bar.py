"""The status bar: progress of what runs now, the jobs button, answer speed, the chat model
and whether anything may leave this computer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from anyllm_desktop.core.events import Progress
from anyllm_desktop.ui.jobs_view import summary

if TYPE_CHECKING:
    from anyllm_desktop.workers.job_queue import JobQueue


class StatusBar(QStatusBar):
    jobs_requested = Signal()

    def __init__(self, model: str, *, offline: bool) -> None:
        super().__init__()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Progress")
        self.model_label = QLabel(f"Model: {model} (local)")
        self.model_label.setObjectName("ModelState")
        self.speed_label = QLabel()
        self.speed_label.setObjectName("Speed")
        self.network_label = QLabel()
        self.network_label.setObjectName("NetworkState")
        self.set_offline(offline)
        self.jobs_button = QPushButton("Jobs")
        self.jobs_button.setFlat(True)
        self.jobs_button.setAccessibleName("Jobs")
        self.jobs_button.setToolTip("Every indexing, re-embedding and download, with progress")
        self.jobs_button.clicked.connect(self.jobs_requested)
        self.jobs_button.setEnabled(False)
        self.addWidget(self.progress)
        for widget in (self.jobs_button, self.speed_label, self.model_label, self.network_label):
            self.addPermanentWidget(widget)

    def set_offline(self, offline: bool) -> None:
        self.network_label.setText("● Offline" if offline else "● Online")
        self.network_label.setProperty("online", not offline)
        self.network_label.setToolTip(
            "Offline mode: nothing leaves this computer."
            if offline
            else "Cloud providers and downloads are allowed."
        )
        self.network_label.style().polish(self.network_label)

    def set_model(self, name: str, provider: str) -> None:
        self.model_label.setText(f"Model: {name} ({provider})")

    def show_progress(self, event: Progress, prefix: str = "") -> None:
        self.progress.show()
        self.progress.setRange(0, max(event.total, 0))
        self.progress.setValue(event.done)
        self.showMessage(prefix + event.message)

    def finish(self, message: str = "", timeout_ms: int = 5000) -> None:
        """The progress ends (done, failed or cancelled) with ``message`` for a while."""
        self.progress.hide()
        if message:
            self.showMessage(message, timeout_ms)

    def attach_jobs(self, jobs: JobQueue) -> None:
        """The job queue exists (the library is open): the button opens the jobs view and
        counts what runs."""
        self.jobs_button.setEnabled(True)
        jobs.changed.connect(lambda _job: self.jobs_button.setText(summary(jobs)))
