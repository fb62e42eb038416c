"""The window's reads and actions on models and cloud providers: local models (list, import,
download, delete), embedding choices, providers (list, add, test, their model lists), the
outbound log and the data folder's size. A part of :class:`workers.backend.Backend`, which
supplies ``runtime``, ``jobs`` and ``_start``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.core.paths import folder_size
from anyllm_desktop.models.local_models import (
    CURATED,
    CuratedModel,
    LocalModel,
    chat_models,
    delete_model,
    memory_hint,
)
from anyllm_desktop.models.recommend import Recommendation, recommend
from anyllm_desktop.services.cloud_providers import extra_models
from anyllm_desktop.services.jobs import model_job

if TYPE_CHECKING:
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.workers.generator_worker import GeneratorWorker
    from anyllm_desktop.workers.job_queue import JobQueue


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the chat header's model picker: who answers in a workspace."""

    label: str
    #: The workspace's chat settings for it ("" and "": the app's default).
    provider: str
    model: str


class ModelsAndProviders:
    runtime: Runtime
    jobs: JobQueue | None

    def _start(self, source: Any, signal: Any = None) -> GeneratorWorker:
        raise NotImplementedError

    def chat_models(self) -> list[LocalModel]:
        return chat_models(self.runtime.paths.models_dir)

    def curated_models(self) -> tuple[CuratedModel, ...]:
        return CURATED

    def measure_disk_usage(self) -> GeneratorWorker:
        """Done(bytes the data folder holds), counted off the GUI thread (a large library is
        many files)."""
        home = self.runtime.paths.home
        return self._start(lambda cancel: iter([Done(folder_size(home))]))

    def memory_hint(self, size: int) -> str:
        import psutil

        return memory_hint(size, psutil.virtual_memory().available)

    def delete_model(self, model: LocalModel) -> None:
        delete_model(model)

    def import_model(self, path: Path, *, link: bool = False) -> GeneratorWorker:
        return self._model_job("model-import", path=str(path), link=link)

    def download_model(self, url: str, sha256: str | None = None) -> GeneratorWorker:
        return self._model_job("model-download", url=url, sha256=sha256)

    def _model_job(self, kind: str, **params: Any) -> GeneratorWorker:
        """A model job (it conflicts with nothing, so it starts at once): its worker. Before
        the library is open it runs unrecorded."""
        if self.jobs is None:
            runtime = self.runtime
            return self._start(lambda cancel: model_job(kind, runtime, params, cancel))
        worker = self.jobs.worker_of(self.jobs.submit(kind, **params).id)
        assert worker is not None
        return worker

    def embedding_models(self) -> list[tuple[str, str]]:
        """(id, label) of the embedding models a workspace can use: the embedded ones, then
        each cloud provider's."""
        from anyllm_desktop.services.cloud_providers import embedding_models

        return [(m["id"], m["label"]) for m in embedding_models(self.runtime)]

    def providers(self) -> list[dict[str, Any]]:
        from anyllm_desktop.services.cloud_providers import list_providers

        return list_providers(self.runtime)

    def provider_kinds(self) -> dict[str, tuple[str, str, bool, str | None]]:
        """Kind → (label, default base URL, needs a key, usual embedding model or None when
        the kind has no embeddings API)."""
        from anyllm_desktop.providers.cloud_presets import KINDS

        return {
            k: (v.label, v.base_url, v.needs_key, v.embedding_model if v.embedder else None)
            for k, v in KINDS.items()
        }

    def save_provider(
        self, name: str, kind: str, base_url: str, model: str, api_key: str | None,
        embedding_model: str = "",
    ) -> str | None:  # fmt: skip
        """Add or replace a provider; ``api_key`` None keeps the stored one. The keyring's
        fallback notice, if any. Raises ValueError with a message for the user."""
        from anyllm_desktop.services.cloud_providers import add_provider
        from anyllm_desktop.store.secrets import SecretStore

        if api_key is None:
            api_key = SecretStore(self.runtime.paths.home).get(name) or ""
        return add_provider(self.runtime, name, kind, base_url=base_url, model=model,
                            api_key=api_key, embedding_model=embedding_model)  # fmt: skip

    def remove_provider(self, name: str) -> None:
        from anyllm_desktop.services.cloud_providers import remove_provider

        remove_provider(self.runtime, name)

    def test_provider(self, name: str) -> GeneratorWorker:
        from anyllm_desktop.services.cloud_providers import check_provider

        runtime = self.runtime
        return self._start(lambda cancel: check_provider(runtime, name, cancel))

    def fetch_models(
        self, kind: str, base_url: str, api_key: str, *, stored_for: str | None = None
    ) -> GeneratorWorker:
        """The provider's model list; an empty ``api_key`` uses the key stored for
        ``stored_for``."""
        from anyllm_desktop.services.cloud_providers import fetch_models, listing_refusal
        from anyllm_desktop.store.secrets import SecretStore

        if not api_key and stored_for:
            api_key = SecretStore(self.runtime.paths.home).get(stored_for) or ""

        def source(cancel: CancelToken) -> Iterator[Event]:
            if refused := listing_refusal(self.runtime, kind, base_url):
                yield Error(refused)
                return
            try:
                yield Done(fetch_models(kind, base_url, api_key))
            except (ValueError, RuntimeError) as exc:
                yield Error(str(exc))

        return self._start(source)

    def model_choices(self) -> list[ModelChoice]:
        """The app's default, every chat model on this computer, every cloud provider (at its
        default model)."""
        default = f"{self.runtime.chat_model_name()} · app default"
        choices = [ModelChoice(default, "", "")]
        choices += [ModelChoice(m.name, "local", m.id) for m in self.chat_models()]
        for cloud in self.runtime.settings.providers:
            model = cloud.get("model") or "default model"
            choices.append(ModelChoice(f"{cloud['name']} · {model} (cloud)", cloud["name"], ""))
            for tuned in extra_models(cloud):  # fine-tuned there (anyllm finetune --cloud)
                choices.append(ModelChoice(f"{cloud['name']} · {tuned} (cloud)", cloud["name"],
                                           tuned))  # fmt: skip
        return choices

    def recommendation(self) -> Recommendation | None:
        """A better chat model for this computer's memory and cores, if one fits."""
        import psutil

        return recommend(psutil.virtual_memory().total, psutil.cpu_count(logical=False) or 1)

    def curated_model(self, url: str) -> CuratedModel | None:
        return next((m for m in CURATED if m.url == url), None)

    def provider_places(self) -> dict[str, bool]:
        """Each provider's name → whether it runs on this computer ("local", a loopback server)."""
        return {row["name"]: bool(row["local"]) for row in self.providers()}

    def outbound_log(self) -> list[dict[str, Any]]:
        from anyllm_desktop.services.outbound import OutboundLog

        return OutboundLog(self.runtime.paths.logs_dir).entries()
