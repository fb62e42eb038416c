"""What the training view and the model manager need from the services: the models a LoRA can
be trained for, the kept datasets, a training run as a job of the queue, and the adapters
(listed, deleted, imported). A part of :class:`workers.backend.Backend`, which supplies
``runtime``, ``jobs`` and ``_start``. The service types the UI names (an adapter's card, a
dataset's card) it names through here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.models.adapters import AdapterCard, AdapterError, AdapterStore
from anyllm_desktop.models.local_models import chat_models
from anyllm_desktop.providers.model_ids import UnknownModelError
from anyllm_desktop.services.adapter_models import AdapterModels, base_model, delete_adapter
from anyllm_desktop.services.datasets import DatasetCard, DatasetStore
from anyllm_desktop.workers.models_and_providers import ModelChoice

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.workers.generator_worker import GeneratorWorker
    from anyllm_desktop.workers.job_queue import JobQueue

__all__ = ["TRAINING_DEFAULTS", "AdapterCard", "DatasetCard", "TrainingActions"]

#: The settings the training view shows, at ``LoraSettings``' defaults (services/training/
#: lora.py, which imports JAX: seconds the window does not spend before a run starts).
TRAINING_DEFAULTS: dict[str, Any] = {"rank": 8, "epochs": 3, "learning_rate": 1e-3}


class TrainingActions:
    runtime: Runtime
    jobs: JobQueue | None
    library: Library | None

    def _start(self, source: Any, signal: Any = None) -> GeneratorWorker:
        raise NotImplementedError

    def training_bases(self) -> list[tuple[str, str]]:
        """(label, model id) of each local GGUF chat model, the embedded one first; the job
        refuses, with the reason, one whose architecture it cannot train."""
        return [(f"{m.name} (embedded)" if m.embedded else m.name, m.id)
                for m in chat_models(self.runtime.paths.models_dir)]  # fmt: skip

    def datasets(self) -> list[DatasetCard]:
        """The kept datasets (``anyllm dataset build|import``), by name."""
        return DatasetStore(self.runtime.paths).cards()

    def start_training(self, params: dict[str, Any]) -> JobRecord:
        """Run it as a job (the jobs view lists it): ``base``, ``dataset`` or ``data``,
        ``name``, ``settings``; follow it on ``jobs.event`` / ``jobs.finished``."""
        assert self.jobs is not None, "Backend.start() has not finished"
        return self.jobs.submit("training", **params)

    def adapters(self) -> list[AdapterCard]:
        """Every kept adapter, oldest first (a few small files)."""
        return AdapterStore(self.runtime.paths).list()

    def delete_adapter(self, adapter_id: str) -> list[str]:
        """Delete it; the workspaces that answered with it go back to the default model (their
        names are returned)."""
        assert self.library is not None, "Backend.start() has not finished"
        return delete_adapter(self.library, adapter_id)[1]

    def import_adapter(self, path: Path, base_id: str) -> GeneratorWorker:
        """Done(the kept card) or Error naming the file and the reason; off the GUI thread
        (the base model is hashed once to check the adapter fits it)."""
        runtime = self.runtime

        def source(cancel: CancelToken) -> Iterator[Event]:
            try:
                base = base_model(runtime, base_id)
                yield Done(AdapterStore(runtime.paths).import_file(path, base))
            except (AdapterError, UnknownModelError, OSError) as exc:
                yield Error(f"{path.name} cannot be imported: {exc}")

        return self._start(source)

    def adapter_choices(self) -> list[ModelChoice]:
        """The chat picker's entries for base + adapter (those whose base is still here)."""
        rows = AdapterModels().choices(self.runtime, "chat")
        return [ModelChoice(row["label"], "local", row["id"]) for row in rows]

    def adapter_model_id(self, card: AdapterCard) -> str:
        """The id a workspace answers with to use ``card``'s adapter: ``BASE+ID``."""
        return f"{card.base_model}+{card.id}"
