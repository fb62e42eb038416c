"""The app's services for one home folder: settings, model lookup, and ready-to-use backends."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

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
from anyllm_desktop.providers.base import ChatProvider
from anyllm_desktop.providers.cloud_embeddings import (
    CloudEmbedder,
    RequestReport,
    parse_cloud_model_id,
)
from anyllm_desktop.providers.cloud_presets import KINDS, build_embedder, build_provider
from anyllm_desktop.providers.fastembed_embedder import FastEmbedEmbedder
from anyllm_desktop.providers.llama_local import LocalLlamaProvider
from anyllm_desktop.providers.registry import PROVIDERS, OfflineModeError, UnknownProviderError
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
        # keeping the app from starting.
        defaults = Settings()
        for key, kind in (("chat_model", "chat"), ("embedding_model", "embedding")):
            chosen = getattr(settings, key)
            if chosen in {m.id for m in embedded_models() if m.kind == kind} or (
                kind == "chat" and (chosen.endswith(".gguf") or Path(chosen).is_file())
            ):
                continue
            warnings.append(f"The {kind} model {chosen!r} in the settings is unknown; the "
                            "embedded default is used instead.")  # fmt: skip
            settings = replace(settings, **{key: getattr(defaults, key)})
        return cls(paths, settings, warnings)

    @property
    def settings_store(self) -> SettingsStore:
        return SettingsStore(self.paths.settings_file)

    def verification_cache(self) -> VerificationCache:
        return VerificationCache(self.paths.cache_dir / "verified-models.json")

    def chat_model(self) -> ModelSpec | None:
        """The configured chat model when it is an embedded one; None for an imported file."""
        chosen = self.settings.chat_model
        return None if chosen.endswith(".gguf") else find_embedded(chosen)

    def chat_model_name(self) -> str:
        spec = self.chat_model()
        return spec.name if spec is not None else Path(self.settings.chat_model).name

    def embedding_model(self) -> ModelSpec:
        return find_embedded(self.settings.embedding_model)

    def create_chat_provider(
        self, *, provider: str | None = None, model: str | None = None, seed: int = 0
    ) -> ChatProvider:
        """The chat provider by name (default: the configured one). For the local provider,
        ``model`` is a catalog id or a .gguf path (default: the configured chat model; embedded
        files are verified first); for a cloud provider, a model id overriding its default.
        A cloud provider is refused while offline mode is on."""
        name = provider or self.settings.default_provider
        if name in self._configured():
            config = {**self._cloud_config(name), **({"model": model} if model else {})}
            return build_provider(config, SecretStore(self.paths.home).get(name))
        if name not in PROVIDERS:
            known = sorted({*PROVIDERS, *self._configured()})
            raise UnknownProviderError(f"Unknown provider {name!r}; available: {', '.join(known)}")
        chosen = model or self.settings.chat_model
        if chosen.endswith(".gguf") or Path(chosen).is_file():
            path = Path(chosen).expanduser()
        else:
            spec = find_embedded(chosen)
            require_model(spec, self.verification_cache())
            assert spec.primary_path is not None  # require_model checked it
            path = spec.primary_path
        return LocalLlamaProvider(
            path,
            context_size=self.settings.context_size,
            threads=self.settings.threads,
            gpu_layers=self.settings.gpu_layers,
            flash_attention=self.settings.flash_attention,
            lora_path=Path(self.settings.lora_path) if self.settings.lora_path else None,
            seed=seed,
        )

    def _configured(self) -> dict[str, dict[str, str]]:
        return {p["name"]: p for p in self.settings.providers}

    def _cloud_config(self, name: str) -> dict[str, str]:
        """A configured cloud provider's settings; refused while offline mode is on."""
        configured = self._configured()
        if name not in configured:
            raise UnknownProviderError(
                f"There is no provider named {name!r}; add it in Settings → Providers."
            )
        if self.settings.offline_mode:
            raise OfflineModeError(
                f"Offline mode is on, so {name!r} (a cloud provider) cannot be used. Turn "
                "it off in Settings → Privacy, or with `anyllm offline off`."
            )
        return configured[name]

    def create_embedder(self, model_id: str | None = None) -> FastEmbedEmbedder:
        """An embedded embedding model (default: the configured one), its files verified first."""
        spec = find_embedded(model_id) if model_id else self.embedding_model()
        require_model(spec, self.verification_cache())
        folder = assemble_model_dir(
            spec, self.paths.cache_dir / "embedders" / spec.id.replace(":", "_")
        )
        return FastEmbedEmbedder(
            folder,
            fastembed_name=spec.architecture,
            dim=spec.dim or 0,
            cache_dir=self.paths.cache_dir / "fastembed",
        )

    def create_cloud_embedder(
        self, model_id: str, *, redact: bool = False, on_request: RequestReport | None = None
    ) -> CloudEmbedder:
        """The embedder of ``cloud:PROVIDER:MODEL`` (refused while offline), removing personal
        data first if ``redact`` and reporting each request to ``on_request``."""
        cloud = parse_cloud_model_id(model_id)
        if cloud is None:
            raise KeyError(f"{model_id!r} is not a cloud embedding model")
        name, model = cloud
        config = self._cloud_config(name)
        return build_embedder(config, SecretStore(self.paths.home).get(name), model,
                              redact=redact, on_request=on_request)  # fmt: skip

    def create_token_counter(self, model_id: str) -> TokenCounter:
        """Counts text in the embedding model's own tokens. A cloud model's tokenizer is not on
        this machine: the embedded model's word pieces stand in (for English about 1.2 per
        BPE token, so sizes err on the short side)."""
        if parse_cloud_model_id(model_id) is not None:
            model_id = EMBEDDING_MODEL_ID
        spec = find_embedded(model_id)
        tokenizer = next((f.path for f in spec.files if f.file_name == "tokenizer.json"), None)
        if tokenizer is None:
            raise ModelFileError(f"{spec.name} has no tokenizer.json. To fix it: {spec.fix_hint}")
        return TokenCounter(tokenizer)
