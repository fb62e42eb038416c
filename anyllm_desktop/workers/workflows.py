"""What the Workflows panel needs from the services: the built-in workflows and files (read and
validated), each model-asking step with the models it may use, a run as a job of the queue,
the workspace's kept runs, exports, and the passage a result's cell cites. A part of
:class:`workers.backend.Backend`, which supplies ``runtime``, ``jobs``, ``_start`` and
``_library``. The service types the panel names (a run's record, its result) it names
through here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.core.workflow_spec import StepSpec, WorkflowSpec
from anyllm_desktop.models.local_models import chat_models
from anyllm_desktop.services.adapter_models import AdapterModels
from anyllm_desktop.services.cloud_providers import extra_models
from anyllm_desktop.services.workflows.inputs import file_name
from anyllm_desktop.services.workflows.job import with_models
from anyllm_desktop.services.workflows.loading import builtin_workflows, load_workflow
from anyllm_desktop.services.workflows.models import agree_to, pending_agreements
from anyllm_desktop.services.workflows.results import (
    EXPORT_FORMATS,
    Citation,
    WorkflowResult,
    export,
)
from anyllm_desktop.services.workflows.runs import RunLog, RunRecord
from anyllm_desktop.services.workflows.steps import model_steps

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.workers.generator_worker import GeneratorWorker
    from anyllm_desktop.workers.job_queue import JobQueue

__all__ = ["EXPORT_FORMATS", "Citation", "RunRecord", "WorkflowActions", "WorkflowResult"]


class WorkflowActions:
    runtime: Runtime
    jobs: JobQueue | None

    def _start(self, source: Any, signal: Any = None) -> GeneratorWorker:
        raise NotImplementedError

    def _library(self) -> Library:
        raise NotImplementedError

    def builtin_workflows(self) -> list[tuple[Path, WorkflowSpec]]:
        """The workflows that ship with the app (``resources/workflows``), by name."""
        found = [(path, load_workflow(path)) for path in builtin_workflows().values()]
        return sorted(found, key=lambda pair: pair[1].name.casefold())

    def read_workflow(self, path: Path) -> WorkflowSpec:
        """The validated workflow in a .yaml/.json file; WorkflowError lists each problem with
        its line and field."""
        return load_workflow(path)

    def model_steps(self, spec: WorkflowSpec) -> list[tuple[str, StepSpec]]:
        """(label, step) of each step that asks a model: "each › sentiment (classify)"."""
        inside = {sub.name: top.name for top in spec.steps for sub in top.steps}
        return [(f"{inside[s.name]} › {s.name}" if s.name in inside else s.name, s)
                for s in model_steps(spec)]  # fmt: skip

    def step_model_choices(self, current: str) -> list[tuple[str, str]]:
        """(label, model as a step names it) of every model a step may ask — those the chat's
        picker lists — with ``current`` (the file's) among them."""
        chat = self.runtime.chat_model_name()
        choices = [(f"App's chat model ({chat})", "local")]
        for model in chat_models(self.runtime.paths.models_dir):
            choices.append((f"{model.name} (embedded)" if model.embedded else model.name,
                            "embedded" if model.embedded else model.id))  # fmt: skip
        for adapter in AdapterModels().choices(self.runtime, "chat"):  # base + LoRA adapter
            choices.append((adapter["label"], adapter["id"]))
        for cloud in self.runtime.settings.providers:
            for model_id in [cloud.get("model", ""), *extra_models(cloud)]:
                if model_id:
                    name = cloud["name"]
                    choices.append((f"{name} · {model_id} (cloud)", f"cloud:{name}:{model_id}"))
        if current and current not in {model for _, model in choices}:
            choices.append((f"{current} (as in the file)", current))
        return choices

    def run_workflow(self, workspace: str, path: Path, documents: list[str] | None,
                     models: dict[str, str]) -> JobRecord:  # fmt: skip
        """Run it as a job (in the jobs view; it waits for the workspace's indexing): follow
        it on ``jobs.event`` and ``jobs.finished``; cancel it with ``jobs.cancel(id)``."""
        assert self.jobs is not None, "Backend.start() has not finished"
        return self.jobs.submit("workflow", workspace, workflow=str(path), documents=documents,
                                models=models)  # fmt: skip

    def cloud_agreements(self, workspace: str, path: Path, documents: list[str] | None,
                         models: dict[str, str]) -> list[dict[str, Any]]:  # fmt: skip
        """The run's cloud steps that still need the user's agreement: ``step``, ``provider``,
        ``host``, ``sends``, ``documents`` (services.workflows.models.cloud_sends). Empty when
        none does, or when agreeing would not help (a local-only workspace, offline mode: the
        run itself refuses and says why)."""
        spec = with_models(load_workflow(path), models)
        return pending_agreements(self._library(), workspace, spec, documents)

    def agree_to_cloud_providers(self, workspace: str, providers: list[str]) -> None:
        """Remember that this workspace's text may go to these cloud providers."""
        agree_to(self._library(), workspace, providers)

    def _runs(self, workspace: str) -> RunLog:
        library = self._library()
        return RunLog(library.runtime.paths.workflow_cache(library.workspace(workspace).uid))

    def workflow_runs(self, workspace: str) -> list[RunRecord]:
        """The workspace's kept runs, newest first (a few SQLite rows)."""
        return self._runs(workspace).recent()

    def workflow_run(self, workspace: str, run_id: int) -> RunRecord:
        """One kept run with its result."""
        return self._runs(workspace).get(run_id)

    def export_workflow_result(self, result: WorkflowResult, path: Path) -> None:
        """Write it as the suffix says (.csv, .json, .md, .xlsx); OSError or ValueError."""
        export(result, path)

    def cited_passage(self, workspace: str, citation: Citation) -> GeneratorWorker:
        """Done(the passage a cell cites, as the passage view takes it: its first cited page or
        section) or Error saying why not; read off the GUI thread."""
        library = self._library()

        def source(cancel: CancelToken) -> Iterator[Event]:
            found = [d for d in library.documents(workspace) if file_name(d) == citation.document]
            if not found:
                yield Error(f"{citation.document} is no longer in {workspace}.")
                return
            document = found[0]
            space = library.workspace(workspace)
            table = library.table(space, create=False)
            hits = library.vectors_for(space).passages(table, document.id, range(document.chunks))
            ordered = [hits[c] for c in sorted(hits)]
            cited = [h for h in ordered if (h.page is not None and h.page in citation.pages)
                     or (h.section and h.section in citation.sections)]  # fmt: skip
            hit = (cited or ordered or [None])[0]
            if hit is None:
                yield Error(f"{citation.document} has no passages left in {workspace}.")
                return
            yield Done({"n": 1, "document": citation.document, "path": document.path,
                        "page": hit.page, "section": hit.section, "text": hit.text,
                        "sheet": hit.sheet})  # fmt: skip

        return self._start(source)
