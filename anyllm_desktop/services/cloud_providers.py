"""Adding, listing, removing and testing cloud providers: the configuration goes into the
settings file, the API key into the keyring (``store/secrets.py``), never both in one place."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Event, Token
from anyllm_desktop.providers.base import GenerationOptions
from anyllm_desktop.providers.cloud_presets import KINDS, build_provider, on_this_computer
from anyllm_desktop.providers.cloud_requests import ProviderError
from anyllm_desktop.providers.registry import PROVIDERS, OfflineModeError
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store.secrets import SecretStore

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
#: Query parameters that carry a credential (key=, api_key=, access_token=, sig=, ...).
_SECRET_PARAM = re.compile(
    r"(^|[_-])(key|apikey|token|sig|signature|secret|password|passwd|pwd|auth|code|credentials?)$",
    re.IGNORECASE,
)
MASK = "***"
#: The provider entry's key for models it offers besides its default one (fine-tuned there:
#: comma-separated text, as a provider entry's values are text).
EXTRA_MODELS = "extra_models"


def extra_models(config: dict[str, str]) -> list[str]:
    """The provider's models besides its default one (fine-tuned ones, say)."""
    return [m for m in config.get(EXTRA_MODELS, "").split(",") if m]


def url_secrets(url: str) -> list[str]:
    """What in a base URL is a credential: "a user name and password", "the 'key' parameter"."""
    parts = urlsplit(url)
    found = ["a user name or password"] if "@" in parts.netloc else []
    for pair in filter(None, parts.query.split("&")):
        name = pair.partition("=")[0]
        if _SECRET_PARAM.search(name):
            found.append(f"the {name!r} parameter")
    return found


def mask_url(url: str) -> str:
    """The URL with its credentials (user:password@, key=..., token=...) shown as ***."""
    if not url_secrets(url):
        return url
    parts = urlsplit(url)
    netloc = f"{MASK}@{parts.netloc.rpartition('@')[2]}" if "@" in parts.netloc else parts.netloc
    query = "&".join(map(_mask_param, parts.query.split("&"))) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _mask_param(pair: str) -> str:
    name = pair.partition("=")[0]
    return f"{name}={MASK}" if _SECRET_PARAM.search(name) else pair


def list_providers(runtime: Runtime) -> list[dict[str, Any]]:
    """Every provider with where it sends prompts; whether a key is stored, never the key."""
    secrets = SecretStore(runtime.paths.home)
    rows: list[dict[str, Any]] = [
        {
            "name": "local",
            "kind": "local",
            "base_url": "",
            "model": runtime.chat_model_name(),
            "local": True,
            "key": "not needed",
        }
    ]
    for config in runtime.settings.providers:
        kind = KINDS[config["kind"]]
        has_key = secrets.get(config["name"]) is not None
        rows.append(
            {
                **config,
                "base_url": mask_url(config["base_url"] or kind.base_url),
                "local": on_this_computer(config),
                "key": "stored" if has_key else ("missing" if kind.needs_key else "not needed"),
            }
        )
    return rows


def add_provider(
    runtime: Runtime, name: str, kind: str, *, base_url: str = "", model: str = "",
    api_key: str = "", embedding_model: str | None = None,
) -> str | None:  # fmt: skip
    """Store a provider (replacing one of the same name, whose fine-tuned models stay: they live
    in the provider's account, not in this entry); the keyring's fallback notice, if any.
    Without ``model`` it answers with the first model its server lists.
    ``embedding_model`` None takes the kind's usual one; "" offers none for workspaces."""
    if not _NAME.match(name) or name in PROVIDERS:
        raise ValueError(
            f"{name!r} cannot be a provider name: use letters, digits, '.', '_' or '-' (not "
            "'local')."
        )
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; one of: {', '.join(KINDS)}")
    spec = KINDS[kind]
    if not (base_url or spec.base_url):
        raise ValueError(f"A {spec.label} provider needs --base-url.")
    if found := url_secrets(base_url):
        raise ValueError(
            f"The base URL {mask_url(base_url)} has {' and '.join(found)} in it. The URL is "
            "kept in the settings file and shown in lists, so give the key as the provider's "
            "API key instead (--api-key-stdin or --api-key-env): it goes to the system keyring."
        )
    if spec.needs_key and not api_key:
        raise ValueError(
            f"A {spec.label} provider needs an API key (--api-key-stdin, --api-key-env NAME or "
            "--api-key)."
        )
    if not model:
        model = _first_listed_model(runtime, name, kind, base_url, api_key)
    if embedding_model is None:
        embedding_model = spec.embedding_model if spec.embedder else ""
    if embedding_model and spec.embedder is None:
        raise ValueError(f"{spec.label} offers no embeddings API (--embedding-model).")
    secrets = SecretStore(runtime.paths.home)
    if api_key:
        secrets.set(name, api_key)
    else:
        secrets.delete(name)
    config = {"name": name, "kind": kind, "base_url": base_url, "model": model,
              "embedding_model": embedding_model}  # fmt: skip
    for old in runtime.settings.providers:
        if old["name"] == name and extra_models(old):
            config[EXTRA_MODELS] = old[EXTRA_MODELS]
    others = [p for p in runtime.settings.providers if p["name"] != name]
    _save(runtime, [*others, config])
    return secrets.fallback_notice if api_key else None


def remove_provider(runtime: Runtime, name: str) -> None:
    if name not in {p["name"] for p in runtime.settings.providers}:
        raise ValueError(f"There is no provider named {name!r}.")
    SecretStore(runtime.paths.home).delete(name)
    _save(runtime, [p for p in runtime.settings.providers if p["name"] != name])


def check_provider(runtime: Runtime, name: str, cancel: CancelToken) -> Iterator[Event]:
    """A one-line request to the provider: Done({"model", "reply", "seconds"}) or Error."""
    try:
        provider = runtime.create_chat_provider(provider=name)
    except (OfflineModeError, ValueError, KeyError) as exc:
        yield Error(str(exc))
        return
    started = time.perf_counter()
    reply: list[str] = []
    options = GenerationOptions(temperature=0.0, max_tokens=8)
    for event in provider.stream([ChatMessage("user", "Reply with: OK")], options, cancel):
        if isinstance(event, Token):
            reply.append(event.text)
        elif isinstance(event, Error):
            yield event
            return
    seconds = round(time.perf_counter() - started, 3)
    yield Done({"model": provider.model, "reply": "".join(reply).strip(), "seconds": seconds})


def embedding_models(runtime: Runtime) -> list[dict[str, Any]]:
    """What a workspace can embed with, each kind of model's in turn (the embedded models,
    then each provider's embedding model): "id", "label", "local"."""
    from anyllm_desktop.providers.registry import kinds

    return [row for kind in kinds() for row in kind.choices(runtime, "embedding")]


def fetch_models(kind: str, base_url: str, api_key: str) -> list[str]:
    """The models a provider offers, sorted for the picker (raises ProviderError with a
    message)."""
    return sorted(_listed_models(kind, base_url, api_key))


def listing_refusal(runtime: Runtime, kind: str, base_url: str) -> str | None:
    """Why a provider's model list may not be asked for now: offline mode, unless its server
    is on this computer."""
    here = on_this_computer({"kind": kind, "base_url": base_url})
    if runtime.settings.offline_mode and not here:
        return "Offline mode is on: the model list cannot be fetched."
    return None


def _listed_models(kind: str, base_url: str, api_key: str) -> list[str]:
    config = {"name": "new", "kind": kind, "base_url": base_url, "model": ""}
    return build_provider(config, api_key).list_models()


def _first_listed_model(runtime: Runtime, name: str, kind: str, base_url: str,
                        api_key: str) -> str:  # fmt: skip
    """The model a provider added without one answers with: its server's first listed (asked
    only where the user may reach it: on loopback, or with offline mode off)."""
    if refused := listing_refusal(runtime, kind, base_url):
        raise ValueError(f"{refused} Give {name!r}'s default model with --model.")
    try:
        listed = _listed_models(kind, base_url, api_key)
    except ProviderError as exc:
        raise ValueError(
            f"No --model was given, and {name!r} did not list its models: {exc}"
        ) from exc
    if not listed:
        raise ValueError(f"No --model was given, and {name!r} lists no models; give one with "
                         "--model.")  # fmt: skip
    return listed[0]


def _save(runtime: Runtime, providers: list[dict[str, str]]) -> None:
    settings = replace(runtime.settings, providers=providers)
    if runtime.settings.default_provider not in {"local", *(p["name"] for p in providers)}:
        settings = replace(settings, default_provider="local")
    runtime.settings_store.save(settings)
    runtime.settings = settings
