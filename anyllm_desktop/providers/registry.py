"""The one front door for models: every model id (``embedded:…``, ``cloud:PROVIDER:MODEL``, a
.gguf path, ``BASE+ADAPTER_ID``, and kinds added later) is resolved here to the
:class:`ModelKind` that builds its chat provider or embedder. Also the chat providers by name
(what the settings, the CLI's --provider and the UI's picker list).

The built-in kinds are registered by ``services/runtime.py`` (they need the catalog, the files
and the keyring, which this layer does not import). A kind added later (an adapter, a
reranker, another engine) is a :class:`ModelKind` subclass passed to :func:`register`, or a
package's entry point in the group ``anyllm_desktop.models`` naming one: those are loaded the
first time a model id is resolved, never at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anyllm_desktop.providers.base import ChatProvider, Embedder
from anyllm_desktop.providers.model_ids import UnknownModelError, scheme_of

ENTRY_POINT_GROUP = "anyllm_desktop.models"


class UnknownProviderError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class OfflineModeError(RuntimeError):
    """A cloud provider was asked for while offline mode is on."""


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    label: str
    #: Runs on this machine; a non-local provider sends the prompt over the network.
    local: bool


PROVIDERS: dict[str, ProviderInfo] = {
    "local": ProviderInfo("local", "Local model (llama.cpp)", local=True),
}

#: What a model serves: answering ("chat") or turning text into vectors ("embedding").
ROLES = ("chat", "embedding")


class ModelKind:
    """One kind of model id and what its models can be made into. ``home`` is the app's
    services for one home folder (``services.runtime.Runtime``: settings, paths, keys)."""

    #: Ids of this kind are written ``SCHEME:…``; with ``prefixed`` False, :meth:`claims`
    #: recognises them instead (a file path).
    scheme: str = ""
    prefixed: bool = True
    #: How its ids are written, for the message that lists the kinds.
    form: str = ""
    #: Its ids hold another model's id (``BASE+ADAPTER``, say): :meth:`claims` is asked before
    #: any scheme, so ``embedded:NAME+X`` is not taken for the embedded model ``NAME+X``.
    wraps: bool = False

    def claims(self, model_id: str) -> bool:
        """For a kind without a prefix (or one that wraps): whether ``model_id`` is one of its
        ids."""
        return False

    def recipient(self, model_id: str, home: Any = None) -> str | None:
        """Who gets the text this model reads: None when it runs on this computer, else the
        provider's name (offline mode and local-only workspaces refuse those). With ``home``,
        a provider whose server is on loopback counts as this computer."""
        return None

    def offers(self, model_id: str, role: str) -> bool:
        """Whether ``model_id`` names a model of this kind that serves ``role``."""
        return False

    def spec(self, model_id: str) -> Any:
        """Its catalog entry (a ``models.catalog.ModelSpec``: files to verify), if it has one."""
        return None

    def dim(self, model_id: str) -> int:
        """The vectors' published length; 0 when only the embedder can tell."""
        return 0

    def name(self, model_id: str, home: Any) -> str | None:
        """The model's name as the user reads it, where its catalog entry does not give it."""
        return None

    def chat(self, model_id: str, home: Any, *, seed: int = 0) -> ChatProvider:
        raise UnknownModelError(f"{model_id!r} is not a chat model ({self.form}).")

    def embedder(
        self, model_id: str, home: Any, *, redact: bool = False, on_request: Any = None
    ) -> Embedder:
        """``redact`` and ``on_request`` are for a model that sends text away (see
        ``providers/cloud_embeddings.py``)."""
        raise UnknownModelError(f"{model_id!r} is not an embedding model ({self.form}).")

    def token_counter(self, model_id: str, home: Any) -> Any:
        """Counts text as ``model_id`` reads it (an ``ingest.tokens.TokenCounter``)."""
        raise UnknownModelError(f"{model_id!r} is not an embedding model ({self.form}).")

    def choices(self, home: Any, role: str) -> list[dict[str, Any]]:
        """Its models a user can pick for ``role``: {"id", "label", "local"} each."""
        return []


_kinds: dict[str, ModelKind] = {}
#: Why an entry point's kind was left out (shown with the settings' warnings).
load_problems: list[str] = []
_plugins_loaded = False


def register(kind: ModelKind) -> None:
    """Resolve ids of ``kind.scheme`` with ``kind`` from now on (replacing one there was)."""
    if not kind.scheme:
        raise ValueError("a model kind needs a scheme")
    _kinds[kind.scheme] = kind


def unregister(scheme: str) -> None:
    _kinds.pop(scheme, None)


def kinds() -> list[ModelKind]:
    """Every kind in the order registered (the built-in ones first)."""
    _load_plugins()
    return list(_kinds.values())


def model_kind(model_id: str) -> ModelKind:
    """The kind that resolves ``model_id``; :class:`UnknownModelError` names the known ones."""
    registered = kinds()
    for kind in registered:
        if kind.wraps and kind.claims(model_id):
            return kind
    scheme = scheme_of(model_id)
    if scheme in _kinds and _kinds[scheme].prefixed:
        return _kinds[scheme]
    for kind in registered:
        if not kind.prefixed and not kind.wraps and kind.claims(model_id):
            return kind
    forms = "; ".join(k.form for k in registered)
    if scheme:
        raise UnknownModelError(f"{model_id!r} is a kind of model id this version does not know "
                                f"({scheme}:…). A model id is one of: {forms}.")  # fmt: skip
    raise UnknownModelError(f"Unknown model {model_id!r}. A model id is one of: {forms}.")


def _load_plugins() -> None:
    """The kinds named by entry points, once; a broken one is left out with a word."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    import importlib.metadata

    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            made: Callable[[], ModelKind] | ModelKind = point.load()
            kind = made() if callable(made) else made
            if not isinstance(kind, ModelKind) or kind.scheme in _kinds:
                raise TypeError(f"it is not a ModelKind with a scheme of its own ({kind!r})")
        except Exception as exc:  # a plugin's failure must not keep the app from starting
            load_problems.append(f"The model plugin {point.name!r} ({point.value}) was left "
                                 f"out: {exc}")  # fmt: skip
            continue
        register(kind)
