"""The "workflow" job's source: load the file, apply the models chosen per step, run it, and
keep the run (running from its start; then done, failed or cancelled) in the workspace's run
log (``runs.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.core.workflow_spec import StepSpec, WorkflowError, WorkflowSpec
from anyllm_desktop.services.workflows.loading import load_workflow
from anyllm_desktop.services.workflows.results import WorkflowResult
from anyllm_desktop.services.workflows.runner import run_workflow
from anyllm_desktop.services.workflows.runs import RunLog, RunRecord
from anyllm_desktop.services.workflows.steps import model_steps

if TYPE_CHECKING:
    from anyllm_desktop.services.jobs import JobService


def with_models(spec: WorkflowSpec, models: dict[str, str]) -> WorkflowSpec:
    """``spec`` with the steps named in ``models`` asking that model instead; ValueError
    naming a step that does not ask a model."""
    known = {s.name for s in model_steps(spec)}
    unknown = sorted(set(models) - known)
    if unknown:
        raise ValueError(f"{spec.source or spec.id}: no step {', '.join(unknown)} asks a model "
                         f"(steps that do: {', '.join(sorted(known)) or 'none'}).")  # fmt: skip

    def step(s: StepSpec) -> StepSpec:
        inner = tuple(step(sub) for sub in s.steps)
        return replace(s, model=models.get(s.name, s.model), steps=inner)

    return replace(spec, steps=tuple(step(s) for s in spec.steps))


def workflow_job(jobs: JobService, params: dict[str, Any], cancel: CancelToken) -> Iterator[Event]:
    """``workflow`` (a file's path), ``documents`` (names; None: the file's choice), ``models``
    ({step: model} replacing the file's). The run is kept whatever its end."""
    started, path = time.time(), Path(params["workflow"])
    # The log is found by uid, taken now: a workspace renamed during the run keeps its run.
    log = RunLog(jobs.runtime.paths.workflow_cache(jobs.library.workspace(params["workspace"]).uid))
    documents: list[str] = list(params.get("documents") or ["all"])
    record = RunRecord(path.stem, path.name, str(path), "failed", started, documents=documents)
    result: WorkflowResult | None = None
    try:
        try:
            spec = with_models(load_workflow(path), dict(params.get("models") or {}))
        except (WorkflowError, ValueError) as exc:
            record.error = str(exc)
            yield Error(str(exc))
            return
        record.workflow, record.name = spec.id, spec.name
        record.models = {s.name: s.model for s in model_steps(spec)}
        log.start(record)  # listed from now: a killed run shows as interrupted, not missing
        events = run_workflow(jobs.library, params["workspace"], spec, cancel,
                              documents=params.get("documents"), host=jobs.model_host)  # fmt: skip
        for event in events:
            if isinstance(event, Error):
                record.error = event.message
            elif isinstance(event, Done) and isinstance(event.result, WorkflowResult):
                result = event.result
            yield event
    finally:
        _keep(log, record, result, cancel)


def _keep(log: RunLog, record: RunRecord, result: WorkflowResult | None,
          cancel: CancelToken) -> None:  # fmt: skip
    """Write the run's record (in ``finally``: a closed or cancelled run is kept too)."""
    if result is not None:
        record.status, record.result = "done", result
        record.models.update(result.models)  # as resolved: the file each step used
        if record.documents == ["all"]:
            record.documents = [r.document for r in result.rows]
    elif cancel.cancelled or not record.error:  # stopped, or its reader closed it
        record.status = "cancelled"
    else:
        record.status = "failed"
    record.finished_at = time.time()
    log.add(record)
