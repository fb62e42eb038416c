"""Each step's model, resolved once per run through the one front door
(``Runtime.create_chat_provider``), and asked for one completion at a time.

``local`` is the app's chat model, ``embedded`` the one that ships with it, a ``.gguf`` path
that file, ``cloud:PROVIDER:MODEL`` a configured provider's model. Steps naming the same model
share one provider (one loaded model); in the app, a step whose model is the one the model host
serves goes through the host instead of loading it a second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import Cancelled, CancelToken
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.core.workflow_spec import StepSpec
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.models.embedded import CHAT_MODEL_ID
from anyllm_desktop.providers.base import ChatProvider, Completion, GenerationOptions
from anyllm_desktop.providers.model_ids import parse_cloud_model_id
from anyllm_desktop.services.outbound import refusal
from anyllm_desktop.services.workflows.steps import Request, StepFailed

if TYPE_CHECKING:
    from anyllm_desktop.services.model_host import ModelHost
    from anyllm_desktop.services.runtime import Runtime


class ModelRefused(Exception):
    """A step's model cannot be used for this workspace now (message, Error code)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _create(runtime: Runtime, model: str) -> ChatProvider:
    if model == "local":
        return runtime.create_chat_provider(provider="local")
    if model == "embedded":
        return runtime.create_chat_provider(provider="local", model=CHAT_MODEL_ID)
    cloud = parse_cloud_model_id(model)
    if cloud is None:  # a .gguf path
        return runtime.create_chat_provider(provider="local", model=model)
    return runtime.create_chat_provider(provider=cloud[0], model=cloud[1])


def identity(provider: ChatProvider) -> str:
    """What answered, for the cache key: the local file (and adapter), or provider and model."""
    path = getattr(provider, "model_path", None)
    if path is not None:
        return f"{path}|{getattr(provider, 'lora_path', None) or ''}"
    return f"cloud:{provider.name}:{provider.model}"


class StepModels:
    def __init__(self, runtime: Runtime, workspace: Workspace,
                 host: ModelHost | None = None) -> None:  # fmt: skip
        self.runtime, self.workspace, self.host = runtime, workspace, host
        self._providers: dict[str, ChatProvider] = {}
        self._via_host: set[str] = set()
        #: Model calls made (cache hits are not calls).
        self.calls = 0

    def prepare(self, steps: list[StepSpec]) -> None:
        """Resolve every step's model before anything runs; ModelRefused says why one cannot
        be used (unknown, offline, the workspace locked to local models, no agreement yet)."""
        for step in steps:
            if step.model in self._providers:
                continue
            try:
                provider = _create(self.runtime, step.model)
            except (KeyError, OSError, ValueError, RuntimeError) as exc:
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
                raise ModelRefused(f"The step {step.name} cannot use {step.model}: {message}"
                                   ) from exc  # fmt: skip
            refused = refusal(self.workspace, provider)
            if refused is not None:
                raise ModelRefused(f"The step {step.name} sends documents' text to "
                                   f"{provider.name}. {refused[0]}", refused[1])  # fmt: skip
            served = self.host.provider if self.host is not None else None
            if served is not None and getattr(served, "model_path", 0) == getattr(
                provider, "model_path", None
            ):
                provider = served
                self._via_host.add(step.model)
            self._providers[step.model] = provider

    def name(self, model: str) -> str:
        return self._providers[model].model

    def identity(self, model: str) -> str:
        return identity(self._providers[model])

    def complete(self, step: StepSpec, request: Request, cancel: CancelToken) -> Completion:
        """One completion; StepFailed with the provider's message, Cancelled when stopped."""
        options = GenerationOptions(
            temperature=step.temperature, max_tokens=step.max_tokens, seed=0,
            repeat_penalty=1.0 if request.grammar else 1.1, grammar=request.grammar,
        )  # fmt: skip
        self.calls += 1
        completion: Completion | None = None
        for event in self._stream(step.model, request, options, cancel):
            if isinstance(event, Error):
                raise StepFailed(event.message)
            if isinstance(event, Done) and isinstance(event.result, Completion):
                completion = event.result
        if cancel.cancelled or completion is None or completion.stopped:
            raise Cancelled()
        return completion

    def _stream(self, model: str, request: Request, options: GenerationOptions,
                cancel: CancelToken) -> Iterator[Event]:  # fmt: skip
        if model in self._via_host and self.host is not None:
            return self.host.stream(request.messages, options, cancel)
        return self._providers[model].stream(request.messages, options, cancel)

    def close(self) -> None:
        """Unload what this run loaded (the model host's model stays)."""
        for model, provider in self._providers.items():
            unload: Any = getattr(provider, "unload", None)
            if model not in self._via_host and unload is not None:
                unload()
