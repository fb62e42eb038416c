"""A quick action's result in a window of the app: the answer streaming in (repainted at most
~30 times a second), Stop, Copy (it says "Copied ✓"), Save as Markdown, and where the text
came from (a passage's document and page). A document's action is a workflow job: its
progress ("section 3 of 12"), Cancel, then the run's report or one-row table with its
citation (:class:`ResultsView`: export, double-click for the passage)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event, Progress, Token
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.ui.markdown_view import markdown_to_html
from anyllm_desktop.ui.progress_display import show_progress
from anyllm_desktop.ui.results_table import ResultsView
from anyllm_desktop.workers.backend import Backend
from anyllm_desktop.workers.generator_worker import GeneratorWorker
from anyllm_desktop.workers.quick_actions import QuickResult
from anyllm_desktop.workers.workflows import RunRecord, WorkflowResult

REPAINT_MS = 33
COPIED_MS = 1500


class QuickActionView(QDialog):
    def __init__(self, backend: Backend, workspace: str, title: str, source: str = "",
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.backend, self.workspace = backend, workspace
        self.title, self.source = title, source
        self.setWindowTitle(f"{title} — quick action")
        self.setObjectName("QuickActionView")
        self.resize(680, 520)
        self.worker: GeneratorWorker | None = None
        self.job: JobRecord | None = None
        self.result: QuickResult | None = None
        self.run_result: WorkflowResult | None = None
        self.text = ""
        self._dirty = False

        self.heading = QLabel(f"<b>{title}</b>")
        self.heading.setWordWrap(True)
        self.where = QLabel(f"From: {source}" if source else "")
        self.where.setObjectName("EmptyHint")
        self.where.setWordWrap(True)
        self.where.setVisible(bool(source))
        self.state = QLabel("Starting…")
        self.state.setWordWrap(True)
        self.state.setAccessibleName("Quick action state")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.body = QTextBrowser()
        self.body.setAccessibleName("Quick action result")
        self.body.setOpenLinks(False)
        self.results = ResultsView(backend.export_workflow_result, self)
        self.results.open_passages(
            lambda citation: backend.cited_passage(self.workspace, citation), self.state.setText
        )
        self.results.written.connect(lambda path: self.state.setText(f"Written to {path}."))
        self.results.hide()
        self.caution = QLabel("Written by a model from this text alone: check it against the "
                              "source before you rely on it.")  # fmt: skip
        self.caution.setObjectName("EmptyHint")
        self.caution.setWordWrap(True)

        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the model; what it wrote so far stays")
        self.stop_button.clicked.connect(self.stop)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the result (Markdown, with where it came from)")
        self.copy_button.clicked.connect(self.copy)
        self.save_button = QPushButton("Save as Markdown…")
        self.save_button.clicked.connect(self._pick_save)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.stop_button, self.copy_button, self.save_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.where, self.state, self.progress):
            layout.addWidget(widget)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.caution)
        layout.addLayout(buttons)
        self._repaint = QTimer(self)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._flush)
        self._set_running(True)

    # -- a text's action: one streamed answer ------------------------------------------------------

    def watch(self, worker: GeneratorWorker) -> None:
        self.worker = worker
        self.state.setText("Asking the model…")
        worker.event.connect(self._on_event)
        worker.finished.connect(self._on_finished)
        self._repaint.start()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Token):
            self.text += event.text
            self._dirty = True
            self.state.setText("Writing…")
        elif isinstance(event, Progress):
            self.state.setText(event.message)
        elif isinstance(event, Done) and isinstance(event.result, QuickResult):
            self.result = event.result
            self.text = event.result.text
            self._dirty = True
            done = "Stopped — the result is incomplete." if event.result.stopped else "Done"
            model = f" · written by {event.result.model}" if event.result.model else ""
            self.state.setText(" ".join([done + model + ".", *event.result.notes]))
        elif isinstance(event, Error):
            self.state.setText(event.message)
            self.state.setStyleSheet("color: #b00020")

    def _flush(self) -> None:
        if self._dirty:
            self._dirty = False
            self.body.setHtml(markdown_to_html(self.text))

    def _on_finished(self) -> None:
        self.worker = None
        self._repaint.stop()
        self._flush()
        self._set_running(False)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.state.setText("Stopping…")
        elif self.job is not None and self.backend.jobs is not None:
            self.backend.jobs.cancel(self.job.id)
            self.state.setText("Cancelling…")

    # -- a document's action: a workflow job ----------------------------------------------------

    def watch_job(self, job: JobRecord) -> None:
        assert self.backend.jobs is not None
        self.job = job
        self.stop_button.setText("Cancel")
        self.stop_button.setToolTip("Cancel the run; the sections done so far are cached")
        self.body.hide()
        self.caution.hide()  # the results say where each value came from
        self.results.show()
        self.state.setText("Waiting to start…")
        self.backend.jobs.event.connect(self._on_job_event)
        self.backend.jobs.finished.connect(self._on_job_finished)

    def _on_job_event(self, job: JobRecord, event: Event) -> None:
        if self.job is None or job.id != self.job.id:
            return
        if isinstance(event, Progress):
            show_progress(self.progress, self.state, event)
        elif isinstance(event, Error):
            self.state.setText(event.message)
            self.state.setStyleSheet("color: #b00020")

    def _on_job_finished(self, job: JobRecord) -> None:
        if self.job is None or job.id != self.job.id:
            return
        self.job = None
        self._set_running(False)
        asked = (str(job.params.get("workflow", "")), list(job.params.get("documents") or []))
        runs = [r for r in self.backend.workflow_runs(self.workspace)
                if (r.file, r.documents) == asked]  # fmt: skip
        if job.state == "cancelled":
            self.state.setText("Cancelled: the parts done so far are cached; running it again "
                               "continues from there.")  # fmt: skip
        if runs:
            self.show_run(self.backend.workflow_run(self.workspace, runs[0].id))

    def show_run(self, record: RunRecord) -> None:
        self.results.show_run(record)
        self.run_result = record.result
        if record.result is not None:
            self.text = record.result.markdown()
            rows = record.result.rows
            cites = [r.citation.describe() for r in rows[:1]] + [
                c.describe() for c in record.result.citations[:3]]  # fmt: skip
            self.where.setText(f"From: {'; '.join(dict.fromkeys(cites)) or self.source}")
            self.where.show()
            # A summary or translation is read as its report; a label or fields as the row.
            self.results.tabs.setCurrentIndex(1 if record.result.report else 0)
            self.state.setText(f"Done. Kept as run #{record.id} (Tools → Workflows… lists it).")
            self.state.setStyleSheet("")

    # -- copy and save ----------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        self.stop_button.setEnabled(running)
        self.progress.setVisible(running)
        self.copy_button.setEnabled(not running)
        self.save_button.setEnabled(not running)

    def markdown(self) -> str:
        """The result as Markdown, with where it came from."""
        if self.run_result is not None:
            return self.text
        source = f"\n\n_Source: {self.source}_" if self.source else ""
        return f"# {self.title}\n\n{self.text.strip()}{source}\n"

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.markdown())
        self.copy_button.setText("Copied ✓")
        QTimer.singleShot(COPIED_MS, self.copy_button, lambda: self.copy_button.setText("Copy"))

    def _pick_save(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save as Markdown", f"{self.title}.md",
                                              "Markdown (*.md)")  # fmt: skip
        if name:
            self.save(Path(name) if name.endswith(".md") else Path(name + ".md"))

    def save(self, path: Path) -> bool:
        try:
            path.write_text(self.markdown(), encoding="utf-8")
        except OSError as exc:
            QMessageBox.warning(self, "Save as Markdown", f"{path.name} was not written: "
                                f"{exc.strerror or exc}.\n\nChoose another folder.")  # fmt: skip
            return False
        self.state.setText(f"Saved to {path}.")
        return True

    def done(self, result: int) -> None:
        if self.worker is not None:
            self.worker.cancel()
        super().done(result)
