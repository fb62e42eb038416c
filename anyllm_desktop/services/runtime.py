"""The app's services for one home folder: settings, model lookup, and ready-to-use backends.

Every model id goes through the registry (``providers/registry.py``); the kinds this version
ships with are defined and registered here, where the catalog, the files and the keyring meet:
``embedded:NAME`` (models that ship with the app), a .gguf path, ``cloud:PROVIDER:MODEL``, and
``BASE+ADAPTER_ID`` (``services/adapter_models.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from anyllm_desktop.core.memory import limit_heap_arenas
from anyllm_desktop.core.paths import AppPaths, private_umask, resolve_home
from anyllm_desktop.core.settings import Settings, SettingsStore
from anyllm_desktop.ingest.tokens import TokenCounter
from anyllm_desktop.models.catalog import (
    ModelFileError,
    ModelSpec,
    VerificationCache,
    assemble_model_dir,
    require_model,
)
from anyllm_desktop.models.embedded import EMBEDDING_MODEL_ID, embedded_models, find_embedded
from anyllm_desktop.providers.base import ChatProvider, Embedder
from anyllm_desktop.providers.cloud_embeddings import CloudEmbedder, RequestReport
from anyllm_desktop.providers.cloud_presets import (
    KINDS,
    base_url,
    build_embedder,
    build_provider,
    on_this_computer,
)
from anyllm_desktop.providers.fastembed_embedder import FastEmbedEmbedder
from anyllm_desktop.providers.llama_local import LocalLlamaProvider
from anyllm_desktop.providers.model_ids import (
    cloud_model_id,
    parse_cloud_model_id,
)
from anyllm_desktop.providers.registry import (
    PROVIDERS,
    ModelKind,
    OfflineModeError,
    UnknownProviderError,
    load_problems,
    model_kind,
    register,
)
from anyllm_desktop.services.adapter_models import AdapterModels
from anyllm_desktop.store.secrets import SecretStore


@dataclass
class Runtime:
    paths: AppPaths
    settings: Settings
    #: Messages for the user gathered while opening (a bad settings file, say).
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, home: str | Path | None = None) -> Runtime:
        private_umask()  # before anything is written: documents and chats are the user's only
        paths = AppPaths(resolve_home(home)).ensure()
        limit_heap_arenas()  # keeps an ingest's peak memory down (the embedding threads)
        loaded = SettingsStore(paths.settings_file).load()
        settings, warnings = loaded.settings, [*paths.make_private(), *loaded.warnings]
        unknown = [p for p in settings.providers if p["kind"] not in KINDS]
        for config in unknown:
            warnings.append(f"The provider {config['name']!r} in the settings is of a kind this "
                            f"version does not know ({config['kind']!r}); it is left out, and "
                            "dropped from the file when settings are next saved.")  # fmt: skip
        settings = replace(settings, providers=[p for p in settings.providers if p not in unknown])
        # A model id this version does not know (a hand-edited file, a newer version's
        # catalog) falls back to the default for this session, with a word, instead of
        # keeping the app from starting. The settings' models are the local ones.
        defaults = Settings()
        for key, role in (("chat_model", "chat"), ("embedding_model", "embedding")):
            chosen = getattr(settings, key)
            if _local_model_for(chosen, role):
                continue
            warnings.append(f"The {role} model {chosen!r} in the settings is unknown; the "
                            "embedded default is used instead.")  # fmt: skip
            settings = replace(settings, **{key: getattr(defaults, key)})
        return cls(paths, settings, [*warnings, *load_problems])

    @property
    def settings_store(self) -> SettingsStore:
        return SettingsStore(self.paths.settings_file)

    def verification_cache(self) -> VerificationCache:
        return VerificationCache(self.paths.cache_dir / "verified-models.json")

    def chat_model(self) -> ModelSpec | None:
        """The configured chat model's catalog entry; None for an imported file."""
        chosen = self.settings.chat_model
        spec: ModelSpec | None = model_kind(chosen).spec(chosen)
        return spec

    def chat_model_name(self, model: str | None = None) -> str:
        """The name of chat model ``model`` (default: the configured one), as the user reads it."""
        chosen = model or self.settings.chat_model
        kind = model_kind(chosen)
        spec: ModelSpec | None = kind.spec(chosen)
        return spec.name if spec is not None else kind.name(chosen, self) or Path(chosen).name

    def embedding_model(self) -> ModelSpec:
        """The configured embedding model's catalog entry (the settings hold an embedded one)."""
        chosen = self.settings.embedding_model
        spec: ModelSpec = model_kind(chosen).spec(chosen)
        return spec

    def create_chat_provider(
        self, *, provider: str | None = None, model: str | None = None, seed: int = 0
    ) -> ChatProvider:
        """The chat provider by name (default: the configured one). For the local provider,
        ``model`` is any model id (default: the configured chat model; embedded files are
        verified first); for a cloud provider, a model id overriding its default. A cloud
        provider is refused while offline mode is on."""
        name = provider or self.settings.default_provider
        if name in self._configured():
            config = {**self.cloud_config(name), **({"model": model} if model else {})}
            return build_provider(config, self.api_key(name))
        if name not in PROVIDERS:
            known = sorted({*PROVIDERS, *self._configured()})
            raise UnknownProviderError(f"Unknown provider {name!r}; available: {', '.join(known)}")
        chosen = model or self.settings.chat_model
        return model_kind(chosen).chat(chosen, self, seed=seed)

    def local_provider(
        self, path: Path, *, seed: int = 0, lora_path: Path | None = None
    ) -> LocalLlamaProvider:
        """llama.cpp on the GGUF file ``path``, with the settings' engine options; ``lora_path``
        (an adapter chosen with the model, ``BASE+ADAPTER_ID``) replaces the settings' one."""
        if lora_path is None and self.settings.lora_path:
            lora_path = Path(self.settings.lora_path)
        return LocalLlamaProvider(
            path,
            context_size=self.settings.context_size,
            threads=self.settings.threads,
            gpu_layers=self.settings.gpu_layers,
            flash_attention=self.settings.flash_attention,
            lora_path=lora_path,
            seed=seed,
        )

    def _configured(self) -> dict[str, dict[str, str]]:
        return {p["name"]: p for p in self.settings.providers}

    def provider_config(self, name: str) -> dict[str, str] | None:
        """A configured provider's settings (None: there is none of that name)."""
        return self._configured().get(name)

    def cloud_config(self, name: str) -> dict[str, str]:
        """A configured provider's settings; refused while offline mode is on, unless its
        server is on this computer (loopback)."""
        configured = self._configured()
        if name not in configured:
            raise UnknownProviderError(
                f"There is no provider named {name!r}; add it in Settings → Providers."
            )
        if self.settings.offline_mode and not on_this_computer(configured[name]):
            raise OfflineModeError(
                f"Offline mode is on, so {name!r} (a cloud provider) cannot be used. Turn "
                "it off in Settings → Privacy, or with `anyllm offline off`."
            )
        return configured[name]

    def api_key(self, name: str) -> str | None:
        return SecretStore(self.paths.home).get(name)

    def create_embedder(
        self, model_id: str | None = None, *, redact: bool = False,
        on_request: RequestReport | None = None,
    ) -> Embedder:  # fmt: skip
        """The embedder of ``model_id`` (default: the configured one): an embedded model's
        files are verified first; a cloud model is refused while offline, removes personal
        data first if ``redact`` and reports each request to ``on_request``."""
        chosen = model_id or self.settings.embedding_model
        return model_kind(chosen).embedder(chosen, self, redact=redact, on_request=on_request)

    def create_token_counter(self, model_id: str) -> TokenCounter:
        """Counts text in the embedding model's own tokens."""
        counter: TokenCounter = model_kind(model_id).token_counter(model_id, self)
        return counter


def _local_model_for(model_id: str, role: str) -> bool:
    """Whether ``model_id`` names a model on this computer that serves ``role``."""
    try:
        kind = model_kind(model_id)
        return kind.recipient(model_id) is None and kind.offers(model_id, role)
    except KeyError:
        return False


# -- the kinds of model id this version knows ---------------------------------------------------


class EmbeddedModels(ModelKind):
    """``embedded:NAME``: the models that ship with the app (``models/embedded.py``)."""

    scheme = "embedded"

    @property
    def form(self) -> str:
        names = ", ".join(m.id for m in embedded_models())
        return f"embedded:NAME, a model that ships with the app ({names})"

    def offers(self, model_id: str, role: str) -> bool:
        return any(m.id == model_id and m.kind == role for m in embedded_models())

    def spec(self, model_id: str) -> ModelSpec:
        return find_embedded(model_id)

    def dim(self, model_id: str) -> int:
        return find_embedded(model_id).dim or 0

    def chat(self, model_id: str, home: Runtime, *, seed: int = 0) -> ChatProvider:
        spec = find_embedded(model_id)
        require_model(spec, home.verification_cache())
        assert spec.primary_path is not None  # require_model checked it
        return home.local_provider(spec.primary_path, seed=seed)

    def embedder(self, model_id: str, home: Runtime, **_: Any) -> FastEmbedEmbedder:
        spec = find_embedded(model_id)
        require_model(spec, home.verification_cache())
        folder = assemble_model_dir(
            spec, home.paths.cache_dir / "embedders" / spec.id.replace(":", "_")
        )
        return FastEmbedEmbedder(
            folder,
            fastembed_name=spec.architecture,
            dim=spec.dim or 0,
            cache_dir=home.paths.cache_dir / "fastembed",
        )

    def token_counter(self, model_id: str, home: Runtime) -> TokenCounter:
        spec = find_embedded(model_id)
        tokenizer = next((f.path for f in spec.files if f.file_name == "tokenizer.json"), None)
        if tokenizer is None:
            raise ModelFileError(f"{spec.name} has no tokenizer.json. To fix it: {spec.fix_hint}")
        return TokenCounter(tokenizer)

    def choices(self, home: Runtime, role: str) -> list[dict[str, Any]]:
        if role != "embedding":
            return []
        return [
            {"id": m.id, "label": f"{m.name} ({m.dim} dimensions, on this computer)", "local": True}
            for m in embedded_models()
            if m.kind == "embedding"
        ]


class GGUFFiles(ModelKind):
    """The path of a .gguf file: imported or downloaded into the models folder, or anywhere."""

    scheme = "gguf"
    prefixed = False
    form = "the path of a .gguf file (imported or downloaded)"

    def claims(self, model_id: str) -> bool:
        return model_id.endswith(".gguf") or Path(model_id).is_file()

    def offers(self, model_id: str, role: str) -> bool:
        return role == "chat"

    def chat(self, model_id: str, home: Runtime, *, seed: int = 0) -> ChatProvider:
        return home.local_provider(Path(model_id).expanduser(), seed=seed)


class CloudModels(ModelKind):
    """``cloud:PROVIDER:MODEL``: a model of a provider added in Settings → Providers; refused
    while offline mode is on."""

    scheme = "cloud"
    form = "cloud:PROVIDER:MODEL, a model of a provider added in Settings → Providers"

    def recipient(self, model_id: str, home: Runtime | None = None) -> str | None:
        name = _split(model_id)[0]
        config = home.provider_config(name) if home is not None else None
        return None if config is not None and on_this_computer(config) else name

    def offers(self, model_id: str, role: str) -> bool:
        return role in ("chat", "embedding")

    def chat(self, model_id: str, home: Runtime, *, seed: int = 0) -> ChatProvider:
        name, model = _split(model_id)
        return build_provider({**home.cloud_config(name), "model": model}, home.api_key(name))

    def embedder(
        self, model_id: str, home: Runtime, *, redact: bool = False,
        on_request: RequestReport | None = None,
    ) -> CloudEmbedder:  # fmt: skip
        name, model = _split(model_id)
        return build_embedder(home.cloud_config(name), home.api_key(name), model,
                              redact=redact, on_request=on_request)  # fmt: skip

    def token_counter(self, model_id: str, home: Runtime) -> TokenCounter:
        """A cloud model's tokenizer is not on this machine: the embedded model's word pieces
        stand in (for English about 1.2 per BPE token, so sizes err on the short side)."""
        _split(model_id)
        return home.create_token_counter(EMBEDDING_MODEL_ID)

    def choices(self, home: Runtime, role: str) -> list[dict[str, Any]]:
        if role != "embedding":
            return []
        rows = []
        for config in home.settings.providers:
            if model := config.get("embedding_model"):
                host = urlsplit(base_url(config)).hostname
                here = on_this_computer(config)
                where = f"on this computer, {host}" if here else f"sends your documents to {host}"
                rows.append({"id": cloud_model_id(config["name"], model),
                             "label": f"{model} by {config['name']} ({where})",
                             "local": here})  # fmt: skip
        return rows


def _split(model_id: str) -> tuple[str, str]:
    """(provider, model) of an id the cloud kind was given (it starts with "cloud:")."""
    cloud = parse_cloud_model_id(model_id)
    assert cloud is not None  # model_kind gives this kind only ids of its scheme
    return cloud


for _kind in (EmbeddedModels(), GGUFFiles(), CloudModels(), AdapterModels()):
    register(_kind)
