"""How model ids are written: ``embedded:NAME`` (a model that ships with the app),
``cloud:PROVIDER:MODEL`` (a configured provider's model), the path of a .gguf file, and
``SCHEME:...`` for a kind registered later (``providers/registry.py`` resolves them)."""

from __future__ import annotations

import re

#: Model ids of cloud models start with this: ``cloud:PROVIDER:MODEL``.
CLOUD_PREFIX = "cloud:"

#: A scheme is a word of two or more letters (``C:\models\x.gguf`` is a path, not a scheme).
_SCHEME = re.compile(r"[a-z][a-z0-9_+.-]+")


class UnknownModelError(KeyError):
    """A model id that names no model this app can find (the message says which kinds exist)."""

    def __str__(self) -> str:
        return str(self.args[0])


def scheme_of(model_id: str) -> str:
    """The id's scheme ("embedded", "cloud", ...); "" for a path."""
    head, colon, _ = model_id.partition(":")
    return head if colon and _SCHEME.fullmatch(head) else ""


def cloud_model_id(provider: str, model: str) -> str:
    return f"{CLOUD_PREFIX}{provider}:{model}"


def parse_cloud_model_id(model_id: str) -> tuple[str, str] | None:
    """(provider, model) of a cloud model's id; None for any other kind of id."""
    if not model_id.startswith(CLOUD_PREFIX):
        return None
    provider, _, model = model_id.removeprefix(CLOUD_PREFIX).partition(":")
    if not provider or not model:
        raise UnknownModelError(f"{model_id!r} is not a cloud model id (cloud:PROVIDER:MODEL)")
    return provider, model
