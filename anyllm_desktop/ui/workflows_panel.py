"""The Workflows panel of one workspace: pick a built-in workflow or open a file (its problems
shown with line and field), check the documents to run over, see each step and change its
model, run it (a job: progress with ETA, cancel), then read the results table (a citation per
cell, double-click opens the passage), the report and the notes, export them, or reopen an
earlier run of this workspace."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.core.workflow_spec import WorkflowError, WorkflowSpec
from anyllm_desktop.ui.progress_display import show_progress
from anyllm_desktop.ui.results_table import ResultsView
from anyllm_desktop.workers.workflows import RunRecord, WorkflowResult

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Backend


def _group(title: str, inner: QWidget | Any) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    if isinstance(inner, QWidget):
        layout.addWidget(inner)
    else:
        layout.addLayout(inner)
    return box


class WorkflowsPanel(QDialog):
    def __init__(self, backend: Backend, workspace: str, documents: list[str] | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.backend, self.workspace = backend, workspace
        self.setWindowTitle(f"Workflows — {workspace}")
        self.resize(1240, 760)
        self.spec: WorkflowSpec | None = None
        self.path: Path | None = None
        self.job: JobRecord | None = None
        self._preselected = documents
        self._models: dict[str, QComboBox] = {}

        self.workflow_combo = QComboBox()
        self.workflow_combo.setAccessibleName("Workflow")
        self.open_button = QPushButton("Open file…")
        self.open_button.clicked.connect(self._pick_file)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #b00020")
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pick = QHBoxLayout()
        pick.addWidget(self.workflow_combo, 1)
        pick.addWidget(self.open_button)
        choose = QVBoxLayout()
        choose.addLayout(pick)
        choose.addWidget(self.description)
        choose.addWidget(self.problems)

        self.documents = QListWidget()
        self.documents.setAccessibleName("Documents to run over")
        self.documents.itemChanged.connect(lambda _item: self._enable())
        self.steps_form = QFormLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.hide()  # shown while a run runs
        self.state = QLabel("")
        self.state.setWordWrap(True)
        running = QHBoxLayout()
        running.addWidget(self.run_button)
        running.addWidget(self.cancel_button)
        running.addWidget(self.progress, 1)
        running.addStretch(0)  # the buttons keep their size while no run shows its bar
        self.runs = QListWidget()
        self.runs.setAccessibleName("Earlier runs")
        self.runs.currentItemChanged.connect(lambda item, _old: self._reopen(item))

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(_group("Workflow", choose))
        column.addWidget(_group("Documents to run it over", self.documents), 2)
        column.addWidget(_group("Steps and the model each one asks", self.steps_form))
        column.addLayout(running)
        column.addWidget(self.state)
        column.addWidget(_group(f"Earlier runs in {workspace}", self.runs), 2)

        self.results = ResultsView(backend.export_workflow_result)
        self.results.open_passages(
            lambda citation: backend.cited_passage(self.workspace, citation), self.state.setText
        )
        self.results.written.connect(lambda path: self.state.setText(f"Wrote {path}."))
        self.table, self.export_button = self.results.table, self.results.export_button

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.results)
        splitter.setSizes([420, 820])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        jobs = backend.jobs
        if jobs is not None:
            jobs.event.connect(self._on_job_event)
            jobs.finished.connect(self._on_job_finished)
            jobs.changed.connect(self._on_job_changed)
        self._fill_documents()
        for path, spec in backend.builtin_workflows():
            self.workflow_combo.addItem(spec.name, str(path))
        self.workflow_combo.currentIndexChanged.connect(lambda _i: self._chosen())
        self._chosen()
        self.refresh_runs(select_newest=True)  # the last result, as it was left

    # -- choosing ---------------------------------------------------------------------------------

    def _chosen(self) -> None:
        data = self.workflow_combo.currentData()
        if data:
            self.open_file(Path(data), add=False)

    def _pick_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open a workflow file", "",
                                              "Workflows (*.yaml *.yml *.json)")  # fmt: skip
        if name:
            self.open_file(Path(name))

    def open_file(self, path: Path, *, add: bool = True) -> bool:
        """Read and validate a workflow file; its problems, each with its line and field, are
        shown instead of its steps when it cannot run."""
        try:
            spec: WorkflowSpec | None = self.backend.read_workflow(path)
        except WorkflowError as exc:
            spec = None
            self.description.setText(f"{path.name} cannot run. Fix these lines and open it "
                                     "again:")  # fmt: skip
            self.problems.setText("\n".join(str(p) for p in exc.problems))
        if add:  # the file is in the list (a built-in picked later changes it back)
            label = f"{spec.name} ({path.name})" if spec else f"{path.name} (cannot run)"
            index = self.workflow_combo.findData(str(path))
            self.workflow_combo.blockSignals(True)
            if index < 0:
                self.workflow_combo.addItem(label, str(path))
                index = self.workflow_combo.count() - 1
            self.workflow_combo.setItemText(index, label)
            self.workflow_combo.setCurrentIndex(index)
            self.workflow_combo.blockSignals(False)
        self.spec, self.path = spec, path
        if spec is not None:
            self.description.setText(spec.description or spec.name)
            self.problems.setText("")
            self._check_documents(spec)
        self._show_steps()
        return spec is not None

    def _fill_documents(self) -> None:
        self.documents.clear()
        for document in self.backend.documents(self.workspace):
            if document.status != "indexed":
                continue
            item = QListWidgetItem(Path(document.path).name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(document.path)
            self.documents.addItem(item)

    def _check_documents(self, spec: WorkflowSpec) -> None:
        """The documents panel's selection, else what the file asks for (all, by default)."""
        chosen = spec.documents
        self.documents.setEnabled(chosen is not None)
        for i in range(self.documents.count()):
            item = self.documents.item(i)
            name = item.text()
            if self._preselected is not None:
                wanted = name in self._preselected
            elif chosen is None or chosen.mode == "all":
                wanted = chosen is not None
            elif chosen.mode == "glob":
                wanted = fnmatch(name, chosen.glob)
            else:
                wanted = name in chosen.names
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)

    def checked_documents(self) -> list[str]:
        items = [self.documents.item(i) for i in range(self.documents.count())]
        return [i.text() for i in items if i.checkState() == Qt.CheckState.Checked]

    def _show_steps(self) -> None:
        while self.steps_form.rowCount():
            self.steps_form.removeRow(0)
        self._models = {}
        if self.spec is not None:
            for label, step in self.backend.model_steps(self.spec):
                combo = QComboBox()
                combo.setAccessibleName(f"Model of the step {step.name}")
                for text, model in self.backend.step_model_choices(step.model):
                    combo.addItem(text, model)
                combo.setCurrentIndex(max(combo.findData(step.model), 0))
                combo.setToolTip(f"{step.kind} step; the file names {step.model}")
                self.steps_form.addRow(f"{label} ({step.kind})", combo)
                self._models[step.name] = combo
        self._enable()

    def model_combo(self, step: str) -> QComboBox:
        return self._models[step]

    def _enable(self) -> None:
        running = self.job is not None
        needs_documents = self.spec is not None and self.spec.documents is not None
        ready = self.spec is not None and not (needs_documents and not self.checked_documents())
        self.run_button.setEnabled(ready and not running)
        self.run_button.setToolTip("" if ready or self.spec is None else
                                   "Check at least one document to run over.")  # fmt: skip
        self.cancel_button.setEnabled(running)
        for widget in (self.workflow_combo, self.open_button, self.documents):
            widget.setEnabled(not running)

    # -- running ---------------------------------------------------------------------------------

    def run(self) -> None:
        if self.spec is None or self.path is None or self.job is not None:
            return
        documents = self.checked_documents() if self.spec.documents is not None else None
        models = {step: combo.currentData() for step, combo in self._models.items()}
        if not self._agreed(documents, models):
            return
        self.job = self.backend.run_workflow(self.workspace, self.path, documents, models)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.state.setText("Starting…")
        self._enable()

    def _agreed(self, documents: list[str] | None, models: dict[str, str]) -> bool:
        """The first time a step would send text to a cloud provider: say what and where, ask
        (as the chat does; remembered per workspace and provider)."""
        assert self.path is not None
        pending = self.backend.cloud_agreements(self.workspace, self.path, documents, models)
        if not pending:
            return True
        lines = "\n".join(f"• {s['step']}: {s['sends']} of {len(s['documents'])} document(s) "
                          f"to {s['provider']} ({s['host']})" for s in pending)  # fmt: skip
        box = QMessageBox(QMessageBox.Icon.Question, "Send to a cloud provider?",
                          f"This workflow's cloud steps send text from “{self.workspace}”:\n\n"
                          f"{lines}\n\nSend? (Asked once per workspace and provider.)",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                          self)  # fmt: skip
        box.button(QMessageBox.StandardButton.Yes).setText("Send")
        box.button(QMessageBox.StandardButton.No).setText("Don't send")
        if box.exec() != QMessageBox.StandardButton.Yes:
            self.state.setText("Not run: nothing was sent.")
            return False
        self.backend.agree_to_cloud_providers(self.workspace, [s["provider"] for s in pending])
        return True

    def cancel(self) -> None:
        if self.job is not None and self.backend.jobs is not None:
            self.backend.jobs.cancel(self.job.id)
            self.state.setText("Cancelling…")

    def _on_job_event(self, job: JobRecord, event: Event) -> None:
        if self.job is None or job.id != self.job.id:
            return
        if isinstance(event, Progress):
            show_progress(self.progress, self.state, event)
        elif isinstance(event, Error):
            self.state.setText(event.message)
        elif isinstance(event, Done) and isinstance(event.result, WorkflowResult):
            self.state.setText(f"Done: {len(event.result.rows)} rows, "
                               f"{event.result.model_calls} model calls, "
                               f"{event.result.cached} from the cache.")  # fmt: skip

    def _on_job_changed(self, job: JobRecord) -> None:
        """Queued behind the workspace's indexing: say what it waits for."""
        if self.job is not None and job.id == self.job.id and job.state == "queued":
            self.state.setText(job.message.capitalize() or "Waiting to start…")

    def _on_job_finished(self, job: JobRecord) -> None:
        if self.job is None or job.id != self.job.id:
            return
        self.job = None
        self.progress.hide()
        if job.state == "cancelled":
            self.state.setText("Cancelled: the documents finished so far are cached; running "
                               "it again continues from there.")  # fmt: skip
        self.refresh_runs(select_newest=True)
        self._enable()

    # -- results and earlier runs ----------------------------------------------------------------

    def refresh_runs(self, *, select_newest: bool = False) -> None:
        self.runs.blockSignals(True)
        self.runs.clear()
        for record in self.backend.workflow_runs(self.workspace):
            item = QListWidgetItem(record.describe())
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            models = ", ".join(f"{step}: {model}" for step, model in record.models.items())
            tip = [f"Documents: {', '.join(record.documents)}", f"Models: {models}",
                   f"File: {record.file}", record.error]  # fmt: skip
            item.setToolTip("\n".join(filter(None, tip)))
            self.runs.addItem(item)
        self.runs.blockSignals(False)
        if select_newest and self.runs.count():
            self.runs.setCurrentRow(0)

    def _reopen(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.show_run(self.backend.workflow_run(self.workspace, item.data(
                Qt.ItemDataRole.UserRole)))  # fmt: skip

    def show_run(self, record: RunRecord) -> None:
        self.results.show_run(record)
        self._enable()
