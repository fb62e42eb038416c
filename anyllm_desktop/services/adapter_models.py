"""``BASE+ADAPTER_ID``: a local model answering with one of the home's LoRA adapters
(``models/adapters.py``), e.g. ``embedded:smollm2-135m-instruct-q4_1+support-3fa2b1`` or
``/models/x.gguf+support-3fa2b1``.

BASE is any model id the registry resolves to llama.cpp on a GGUF file; the adapter is checked
against that file (architecture, and the base's sha256 when its card names one) before llama.cpp
loads both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.models.adapters import AdapterCard, AdapterStore, BaseModel, split_model_id
from anyllm_desktop.providers.model_ids import UnknownModelError, scheme_of
from anyllm_desktop.providers.registry import ModelKind, model_kind

if TYPE_CHECKING:
    from anyllm_desktop.providers.base import ChatProvider
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime


class AdapterModels(ModelKind):
    """Ids that wrap a base model's id with an adapter's: asked before the base's own kind."""

    scheme = "adapter"
    prefixed = False
    wraps = True
    form = "BASE+ADAPTER_ID, a local model with one of its LoRA adapters (anyllm adapters list)"

    def claims(self, model_id: str) -> bool:
        return split_model_id(model_id) is not None

    def recipient(self, model_id: str, home: Any = None) -> str | None:
        """The base's (a cloud base is refused by :meth:`chat`, but never counted as local)."""
        base = _parts(model_id)[0]
        return model_kind(base).recipient(base, home)

    def offers(self, model_id: str, role: str) -> bool:
        return role == "chat"

    def chat(self, model_id: str, home: Runtime, *, seed: int = 0) -> ChatProvider:
        base_id, adapter_id = _parts(model_id)
        store = AdapterStore(home.paths)
        card = store.get(adapter_id)
        base = base_model(home, base_id)
        store.matches(card, base)
        return home.local_provider(base.path, seed=seed, lora_path=store.file(card.id))

    def name(self, model_id: str, home: Runtime) -> str:
        """ "SmolLM2 135M Instruct + support answers" (the id where the adapter is gone)."""
        base_id, adapter_id = _parts(model_id)
        try:
            adapter = AdapterStore(home.paths).get(adapter_id).name
        except KeyError:
            adapter = adapter_id
        return f"{home.chat_model_name(base_id)} + {adapter}"

    def choices(self, home: Runtime, role: str) -> list[dict[str, Any]]:
        """Each adapter whose base is known and still here, as "BASE + ADAPTER"."""
        if role != "chat":
            return []
        rows = []
        for card in AdapterStore(home.paths).list():
            base = card.base_model
            if not base or (not scheme_of(base) and not Path(base).expanduser().is_file()):
                continue
            label = f"{card.base_name} + {card.name} (on this computer)"
            rows.append({"id": f"{base}+{card.id}", "label": label, "local": True})
        return rows


def base_model(home: Runtime, model_id: str) -> BaseModel:
    """The GGUF file that ``model_id`` runs on with llama.cpp (an embedded model's file is
    verified first); UnknownModelError when it is not such a model."""
    kind = model_kind(model_id)
    if kind.wraps:
        raise UnknownModelError(f"{model_id!r} already has an adapter; a model takes one at a time")
    if kind.recipient(model_id) is not None or not kind.offers(model_id, "chat"):
        raise UnknownModelError(f"{model_id!r} is not a chat model on this computer; a LoRA "
                                "adapter runs only with a local GGUF model")  # fmt: skip
    provider = kind.chat(model_id, home)
    path = getattr(provider, "model_path", None)
    if not isinstance(path, Path):
        raise UnknownModelError(f"{model_id!r} does not run on a GGUF file with llama.cpp, so a "
                                "LoRA adapter cannot be applied to it")  # fmt: skip
    spec = kind.spec(model_id)
    known = next((f.sha256 for f in spec.files if f.path == path), "") if spec else ""
    return BaseModel(model_id, home.chat_model_name(model_id), path, known)


def delete_adapter(library: Library, adapter_id: str) -> tuple[AdapterCard, list[str]]:
    """Delete an adapter; each workspace that answered with it (BASE+ID as its model) goes
    back to the app's default model, instead of failing at its next question. The card and
    the names of those workspaces. UnknownAdapterError when there is no such adapter."""
    store = AdapterStore(library.runtime.paths)
    card = store.get(adapter_id)
    store.delete(card.id)
    reset = []
    for workspace in library.workspaces():
        chat = workspace.chat
        parts = split_model_id(chat.model) if chat.provider in ("", "local") else None
        if parts is not None and parts[1] == card.id:
            library.update_chat(workspace.name, provider="", model="")
            reset.append(workspace.name)
    return card, reset


def _parts(model_id: str) -> tuple[str, str]:
    parts = split_model_id(model_id)
    assert parts is not None  # model_kind gives this kind only the ids it claims
    return parts
