"""Kinds of cloud provider and the presets of OpenAI-compatible servers: which wire format,
which default base URL, whether a key is needed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from anyllm_desktop.core.hosts import is_loopback_url
from anyllm_desktop.providers.cloud_embeddings import (
    AzureOpenAIEmbedder,
    CloudEmbedder,
    GeminiEmbedder,
    OpenAIEmbedder,
    RequestReport,
)
from anyllm_desktop.providers.cloud_formats import (
    AnthropicProvider,
    AzureOpenAIProvider,
    GeminiProvider,
    OpenAICompatibleProvider,
)
from anyllm_desktop.providers.cloud_http import CloudChatProvider, Endpoint


@dataclass(frozen=True)
class Kind:
    label: str
    provider: type[CloudChatProvider]
    #: Empty where the user must give one (Azure, a custom server).
    base_url: str
    needs_key: bool = True
    #: Runs on the user's own network (a local server): nothing goes to a third party.
    self_hosted: bool = False
    #: Its embeddings API (None: it has none), and the embedding model suggested for it.
    embedder: type[CloudEmbedder] | None = OpenAIEmbedder
    embedding_model: str = ""


KINDS: dict[str, Kind] = {
    "openai": Kind(
        "OpenAI",
        OpenAICompatibleProvider,
        "https://api.openai.com/v1",
        embedding_model="text-embedding-3-small",
    ),
    "anthropic": Kind("Anthropic", AnthropicProvider, "https://api.anthropic.com", embedder=None),
    "gemini": Kind(
        "Google Gemini",
        GeminiProvider,
        "https://generativelanguage.googleapis.com",
        embedder=GeminiEmbedder,
        embedding_model="gemini-embedding-001",
    ),
    "azure-openai": Kind("Azure OpenAI", AzureOpenAIProvider, "", embedder=AzureOpenAIEmbedder),
    "openai-compatible": Kind(
        "OpenAI-compatible server", OpenAICompatibleProvider, "", needs_key=False
    ),
    "ollama": Kind(
        "Ollama",
        OpenAICompatibleProvider,
        "http://localhost:11434/v1",
        needs_key=False,
        self_hosted=True,
        embedding_model="nomic-embed-text",
    ),
    "lmstudio": Kind(
        "LM Studio",
        OpenAICompatibleProvider,
        "http://localhost:1234/v1",
        needs_key=False,
        self_hosted=True,
    ),
    "vllm": Kind(
        "vLLM",
        OpenAICompatibleProvider,
        "http://localhost:8000/v1",
        needs_key=False,
        self_hosted=True,
    ),
    "llamacpp-server": Kind(
        "llama.cpp server",
        OpenAICompatibleProvider,
        "http://localhost:8080/v1",
        needs_key=False,
        self_hosted=True,
    ),
    "openrouter": Kind("OpenRouter", OpenAICompatibleProvider, "https://openrouter.ai/api/v1"),
    "groq": Kind("Groq", OpenAICompatibleProvider, "https://api.groq.com/openai/v1", embedder=None),
    "mistral": Kind(
        "Mistral",
        OpenAICompatibleProvider,
        "https://api.mistral.ai/v1",
        embedding_model="mistral-embed",
    ),
    "together": Kind("Together", OpenAICompatibleProvider, "https://api.together.xyz/v1"),
    "deepseek": Kind(
        "DeepSeek", OpenAICompatibleProvider, "https://api.deepseek.com/v1", embedder=None
    ),
}


def _endpoint(config: dict[str, str], api_key: str | None, model: str) -> Endpoint:
    kind = KINDS[config["kind"]]
    if kind.needs_key and not api_key:
        raise ValueError(f"The provider {config['name']!r} has no API key; add it again with one.")
    return Endpoint(
        label=f"{config['name']} ({kind.label})",
        base_url=base_url(config),
        model=model,
        api_key=api_key or "",
    )


def base_url(config: Mapping[str, str]) -> str:
    """Where a configured provider is reached: its own URL, else its kind's."""
    return config.get("base_url") or KINDS[config["kind"]].base_url


def on_this_computer(config: Mapping[str, str]) -> bool:
    """Whether a configured provider is a server on loopback (Ollama, LM Studio, a llama.cpp
    server on 127.0.0.1): nothing sent to it leaves the machine, so it is not a cloud."""
    return is_loopback_url(base_url(config))


def build_provider(config: dict[str, str], api_key: str | None) -> CloudChatProvider:
    """A provider from its stored configuration (name, kind, base_url, model) and its key; one
    on loopback says it is local (offline mode, redaction and the outbound log pass it by)."""
    provider = KINDS[config["kind"]].provider(_endpoint(config, api_key, config["model"]))
    provider.name = config["name"]
    if on_this_computer(config):
        provider.capabilities = replace(provider.capabilities, local=True)
    return provider


def build_embedder(
    config: dict[str, str], api_key: str | None, model: str, *, redact: bool = False,
    on_request: RequestReport | None = None,
) -> CloudEmbedder:  # fmt: skip
    """The provider's embeddings API for ``model``; ValueError if it has none."""
    kind = KINDS[config["kind"]]
    if kind.embedder is None:
        raise ValueError(f"{kind.label} offers no embeddings API; choose another provider.")
    return kind.embedder(_endpoint(config, api_key, model), name=config["name"], redact=redact,
                         on_request=on_request)  # fmt: skip
