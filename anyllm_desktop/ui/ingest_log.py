"""One workspace's indexing log: what runs now (progress, ETA, cancel), each file's result with
its reason, and *Retry failed*. The documents panel keeps one per workspace and shows the
current workspace's (another workspace's indexing never shows in this one's panel)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from anyllm_desktop.core.events import Done, Error, Event, FileResult, Progress
from anyllm_desktop.core.filenames import path_from_stored
from anyllm_desktop.ui.progress_display import show_progress

_RESULT_MARK = {"indexed": "✓", "duplicate": "=", "failed": "✗", "cancelled": "–"}


def outcome(results: Sequence[FileResult]) -> tuple[str, bool]:
    """What an indexing job did, in words ("2 indexed, 3 not indexed"), and whether it was
    cancelled (a cancel is not "finished", nor its files "skipped")."""
    counts = Counter(r.status for r in results)
    cancelled = counts["cancelled"] > 0
    parts = [f"{counts['indexed']} indexed"]
    for status, words in (("duplicate", "already in"), ("failed", "failed"),
                          ("cancelled", "not indexed")):  # fmt: skip
        if counts[status]:
            parts.append(f"{counts[status]} {words}")
    return ", ".join(parts), cancelled


class IngestLog(QFrame):
    cancel_requested = Signal()
    retry_requested = Signal(list)  # paths

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("IngestJob")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        top = QHBoxLayout()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel indexing")
        self.cancel_button.clicked.connect(self.cancel_requested)
        top.addWidget(self.label, 1)
        top.addWidget(self.cancel_button)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Indexing progress")
        self.results = QListWidget()
        self.results.setObjectName("IngestResults")
        self.results.setAccessibleName("Indexing results")
        self.results.setWordWrap(True)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.retry_button = QPushButton("Retry failed")
        self.retry_button.setAccessibleName("Retry failed files")
        self.retry_button.clicked.connect(self._retry)
        self.retry_button.hide()
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.retry_button)
        self._failed: list[str] = []
        #: Started and not yet finished (a second job queued behind it keeps adding here).
        self.active = False

    def start(self) -> None:
        if self.active:
            return
        self.active = True
        self.results.clear()
        self._failed = []
        self.retry_button.hide()
        self.cancel_button.setEnabled(True)
        self.label.setText("Starting…")
        self.progress.setRange(0, 0)

    def on_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.active = True
            self.cancel_button.setEnabled(True)
            show_progress(self.progress, self.label, event)
        elif isinstance(event, FileResult):
            self._add_result(event)
        elif isinstance(event, Done) and isinstance(event.result, dict):  # a re-embedding
            self._finish(f"Done: {event.result['passages']} passages embedded with "
                         f"{event.result['model']}.")  # fmt: skip
        elif isinstance(event, Done):
            summary, cancelled = outcome(event.result or [])
            self._finish(f"{'Cancelled' if cancelled else 'Done'}: {summary}.",
                         complete=not cancelled)  # fmt: skip
        elif isinstance(event, Error):
            self._finish(event.message, complete=False)

    def _add_result(self, event: FileResult) -> None:
        mark = _RESULT_MARK.get(event.status, "?")
        name = Path(event.path).name
        if event.status == "indexed":
            text = f"{mark} {name} — {event.chunks} passages"
        else:
            text = f"{mark} {name} — {event.reason or event.status}"
        item = QListWidgetItem(text)
        item.setToolTip(f"{event.path}\n{event.reason or event.status}")
        item.setData(Qt.ItemDataRole.UserRole, event.status)
        self.results.addItem(item)
        self.results.scrollToBottom()
        if event.status == "failed":
            self._failed.append(event.path)

    def _finish(self, message: str, *, complete: bool = True) -> None:
        """The bar is full only for a job that went through (a cancel stays where it was)."""
        self.active = False
        if complete:
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
        elif self.progress.maximum() == 0:  # still the busy indicator
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        self.label.setText(message)
        self.cancel_button.setEnabled(False)
        self.retry_button.setVisible(bool(self._failed))

    def _retry(self) -> None:
        if self._failed:
            self.retry_requested.emit([path_from_stored(p) for p in self._failed])
