"""Each step's model, resolved once per run through the one front door
(``Runtime.create_chat_provider``), and asked for one completion at a time.

``local`` is the app's chat model, ``embedded`` the one that ships with it, a ``.gguf`` path
that file, ``cloud:PROVIDER:MODEL`` a configured provider's model. Steps naming the same model
share one provider (one loaded model); in the app, a step whose model is the one the model host
serves goes through the host instead of loading it a second time.

A cloud step obeys what chat obeys: before anything runs, a workspace locked to local models,
offline mode and a provider the workspace has not agreed to yet are refused, naming the step,
the provider, its host and what would be sent (:func:`cloud_sends` lists it all for the
agreement); personal data is removed first when the workspace asks; every request is a line in
the outbound log. Its answer is held to the step's schema by the provider's structured output
(local models: the grammar). A step with ``on_error: fallback`` asks its ``fallback`` model
when its own fails, and :attr:`StepModels.answered` / :attr:`StepModels.notes` say so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from anyllm_desktop.core.cancel import Cancelled, CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import CONSENT_REQUIRED, LOCAL_ONLY, Done, Error, Event
from anyllm_desktop.core.workflow_spec import StepSpec, WorkflowSpec
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.models.embedded import CHAT_MODEL_ID
from anyllm_desktop.providers.base import ChatProvider, Completion, GenerationOptions
from anyllm_desktop.providers.cloud_presets import base_url, on_this_computer
from anyllm_desktop.providers.llama_scoring import LabelScores, best_label
from anyllm_desktop.providers.model_ids import parse_cloud_model_id
from anyllm_desktop.services.outbound import OutboundLog, prepared
from anyllm_desktop.services.workflows.inputs import choose, file_name
from anyllm_desktop.services.workflows.steps import STEP_KINDS, Request, StepFailed

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.model_host import ModelHost
    from anyllm_desktop.services.runtime import Runtime

#: The key a non-object answer (classify's label) is wrapped in: OpenAI's strict mode and
#: Anthropic's tool input take only an object at the root.
_WRAP = "answer"


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


def cloud_destination(runtime: Runtime, model: str) -> tuple[str, str] | None:
    """(provider, host) of a configured cloud model, from the settings alone (nothing is built
    or sent, so it also answers in offline mode); None for a local or an unknown model, and
    for a provider whose server is on this computer (loopback)."""
    cloud = parse_cloud_model_id(model)
    config = runtime.provider_config(cloud[0]) if cloud else None
    if config is None or on_this_computer(config):
        return None
    base = base_url(config)
    return config["name"], urlsplit(base).hostname or base


def _what(documents: int | None) -> str:
    if documents is None:
        return "documents' text"
    return f"the text of {documents} document{'s' if documents != 1 else ''}"


def refusal(runtime: Runtime, workspace: Workspace, step: str, model: str,
            documents: int | None = None) -> tuple[str, str] | None:  # fmt: skip
    """(message, Error code) when the step ``step`` may not send to ``model`` now."""
    where = cloud_destination(runtime, model)
    if where is None:
        return None
    sends = f"The step {step} would send {_what(documents)} to {where[0]} ({where[1]})"
    if workspace.chat.local_only:
        return (f"{sends}, but the workspace “{workspace.name}” is locked to local models: its "
                "documents never go to a cloud provider. Choose a local model for the step, or "
                "lift the lock in Workspace settings.", LOCAL_ONLY)  # fmt: skip
    if runtime.settings.offline_mode:
        return (f"{sends}, but offline mode is on. Turn it off in Settings → Privacy or with "
                "`anyllm offline off`, or choose a local model for the step.", "")  # fmt: skip
    if where[0] not in workspace.chat.cloud_consent:
        return (f"{sends}; that needs your agreement first (once per provider for "
                f"“{workspace.name}”).", CONSENT_REQUIRED)  # fmt: skip
    return None


def cloud_sends(library: Library, workspace: str, spec: WorkflowSpec,
                documents: list[str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """What a run would send where, before it runs (the first-use agreement, ``--json``): one
    entry per step and cloud model (its fallback too) with ``step``, ``model``, ``provider``,
    ``host``, ``sends`` ("document text" inside a map, "earlier outputs" after it, "text"),
    ``documents`` (file names), ``agreed``, and ``refused`` (why it cannot run now, or "")."""
    runtime, ws = library.runtime, library.workspace(workspace)
    names: list[str] = []
    if spec.documents is not None and spec.text is None:
        names = [file_name(d) for d in choose(library.documents(ws.name), spec.documents,
                                              documents)]  # fmt: skip
    out: list[dict[str, Any]] = []
    for top in spec.steps:
        for step in (top, *top.steps):
            if step.kind not in STEP_KINDS:
                continue
            sends = "text" if spec.text is not None else (
                "document text" if step is not top else "earlier outputs")  # fmt: skip
            for model in dict.fromkeys(m for m in (step.model, step.fallback) if m):
                where = cloud_destination(runtime, model)
                if where is None:
                    continue
                refused = refusal(runtime, ws, step.name, model, len(names))
                out.append({"step": step.name, "model": model, "provider": where[0],
                            "host": where[1], "sends": sends, "documents": names,
                            "agreed": where[0] in ws.chat.cloud_consent,
                            "refused": refused[0] if refused else ""})  # fmt: skip
    return out


def pending_agreements(library: Library, workspace: str, spec: WorkflowSpec,
                       documents: list[str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The entries of :func:`cloud_sends` that still need the user's agreement; none when
    agreeing would not help (a local-only workspace, offline mode: the run refuses and says
    why)."""
    ws = library.workspace(workspace)
    if ws.chat.local_only or library.runtime.settings.offline_mode:
        return []
    return [s for s in cloud_sends(library, workspace, spec, documents) if not s["agreed"]]


def agree_to(library: Library, workspace: str, providers: list[str]) -> None:
    """Remember that the workspace's text may go to these cloud providers."""
    agreed = list(library.workspace(workspace).chat.cloud_consent)
    new = [p for p in dict.fromkeys(providers) if p not in agreed]
    if new:
        library.update_chat(workspace, cloud_consent=[*agreed, *new])


def _answer_schema(schema: Mapping[str, Any] | None) -> tuple[Mapping[str, Any] | None, bool]:
    """The schema a cloud provider is given, and whether a non-object answer was wrapped."""
    if schema is None or schema.get("type") == "object":
        return schema, False
    return {"type": "object", "properties": {_WRAP: schema}, "required": [_WRAP]}, True


def _unwrapped(text: str) -> str:
    try:
        value = json.loads(text)[_WRAP]
    except (ValueError, TypeError, KeyError):
        return text  # the step's own parse says what is wrong with it
    return value if isinstance(value, str) else json.dumps(value)


class StepModels:
    def __init__(self, runtime: Runtime, workspace: Workspace,
                 host: ModelHost | None = None) -> None:  # fmt: skip
        self.runtime, self.workspace, self.host = runtime, workspace, host
        self._providers: dict[str, ChatProvider] = {}
        self._via_host: set[str] = set()
        self.log = OutboundLog(runtime.paths.logs_dir)
        #: Model calls made (cache hits are not calls).
        self.calls = 0
        #: The model (as the step names it) that gave each step's latest answer.
        self.answered: dict[str, str] = {}
        self._fallbacks: dict[str, tuple[str, int]] = {}

    def prepare(self, steps: Sequence[StepSpec], documents: int | None = None) -> None:
        """Resolve every step's model (and fallback) before anything runs; ModelRefused says
        why one cannot be used (unknown, offline, the workspace locked to local models, no
        agreement yet), naming the step, and with ``documents`` how many it would send."""
        for step in steps:
            for model in (step.model, step.fallback):
                if model:
                    self._resolve(step, model, documents)

    def _resolve(self, step: StepSpec, model: str, documents: int | None) -> None:
        refused = refusal(self.runtime, self.workspace, step.name, model, documents)
        if refused is not None:
            raise ModelRefused(*refused)
        if model in self._providers:
            return
        try:
            provider = _create(self.runtime, model)
        except (KeyError, OSError, ValueError, RuntimeError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise ModelRefused(f"The step {step.name} cannot use {model}: {message}") from exc
        served = self.host.provider if self.host is not None else None
        if served is not None and getattr(served, "model_path", 0) == getattr(
            provider, "model_path", None
        ):
            provider = served
            self._via_host.add(model)
        self._providers[model] = provider

    def provider(self, model: str) -> ChatProvider:
        """The provider resolved for ``model`` (its context size, its token count)."""
        return self._providers[model]

    def name(self, model: str) -> str:
        return self._providers[model].model

    def identity(self, model: str) -> str:
        return identity(self._providers[model])

    def how(self, model: str, request: Request) -> str:
        """How ``model`` answers ``request``: "scores" (a local model choosing a label by
        likelihood; "scores N" when it reads the input's first N tokens) or "generates" (text,
        held to a grammar or a schema). Part of the cache key: outputs of another way are
        not reused."""
        if not (request.channel and hasattr(self._providers[model], "score_answers")):
            return "generates"
        return "scores" if request.text_tokens is None else f"scores {request.text_tokens}"

    @property
    def notes(self) -> list[str]:
        """For the run's result: "mood: answered by X after Y failed: why" per step."""
        return [note + (f" ({count} times)" if count > 1 else "")
                for note, count in self._fallbacks.values()]  # fmt: skip

    def complete(self, step: StepSpec, request: Request, cancel: CancelToken) -> Completion:
        """One completion, from the step's fallback model when its own fails and the step says
        so; StepFailed with the provider's message, Cancelled when stopped."""
        try:
            completion = self._ask(step, step.model, request, cancel)
        except StepFailed as exc:
            if step.on_error != "fallback" or not step.fallback:
                raise
            failed = f"{self.name(step.model)} failed: {exc}"
            try:
                completion = self._ask(step, step.fallback, request, cancel)
            except StepFailed as again:
                raise StepFailed(f"{again} (the fallback, after {failed})") from again
            note = f"{step.name}: answered by {self.name(step.fallback)} after {failed}"
            self._fallbacks[step.name] = (note, self._fallbacks.get(step.name, ("", 0))[1] + 1)
            self.answered[step.name] = step.fallback
            return completion
        self.answered[step.name] = step.model
        return completion

    def _ask(self, step: StepSpec, model: str, request: Request,
             cancel: CancelToken) -> Completion:  # fmt: skip
        provider = self._providers[model]
        if self.how(model, request).startswith("scores"):
            self.calls += 1
            return self._choose(model, request, cancel)
        cloud, grammar = not provider.capabilities.local, provider.capabilities.grammar
        schema, wrapped = _answer_schema(None if grammar else request.json_schema)
        options = GenerationOptions(
            temperature=step.temperature, max_tokens=step.max_tokens, seed=0,
            repeat_penalty=1.0 if request.grammar else 1.1,
            grammar=request.grammar if grammar else None, json_schema=schema,
        )  # fmt: skip
        messages, removed = list(request.messages), None
        if cloud:
            messages, removed = prepared(messages, self.workspace.chat.redact_personal_data)
        self.calls += 1
        completion: Completion | None = None
        error = ""
        for event in self._stream(model, messages, options, cancel):
            if isinstance(event, Error):
                error = event.message
            elif isinstance(event, Done) and isinstance(event.result, Completion):
                completion = event.result
        if cloud:  # never the text or the key: who, how much, what was removed
            self.log.record(provider, self.workspace.name, kind="workflow", step=step.name,
                            redactions=removed, error=error,
                            prompt_tokens=completion.prompt_tokens if completion else 0,
                            completion_tokens=completion.completion_tokens if completion else 0,
                            )  # fmt: skip
        if error:
            raise StepFailed(error)
        if cancel.cancelled or completion is None or completion.stopped:
            raise Cancelled()
        return replace(completion, text=_unwrapped(completion.text)) if wrapped else completion

    def _choose(self, model: str, request: Request, cancel: CancelToken) -> Completion:
        """The choice after whose prompt the input is likeliest (``request.channel``, scored by
        ``providers/llama_scoring.py``). Measured in tests/benchmarks/RESULTS.md, "Classify":
        with a grammar, or scoring the labels as the answer, the embedded model answers the
        first label listed for nearly every text (11 of 36 labelled texts right); this way 27.
        Costs the evaluation of the input's first ``request.text_tokens`` once per label (its
        prompt's prefix stays cached)."""
        started = time.perf_counter()

        def score(provider: Any) -> list[LabelScores]:
            return [provider.score_answers(prompt, [request.text], cancel, request.text_tokens)
                    for prompt in request.channel]  # fmt: skip

        try:
            if model in self._via_host and self.host is not None:
                found = self.host.run(score)
            else:
                found = score(self._providers[model])
        except Cancelled:
            raise
        except ValueError as exc:  # the prompt and input do not fit the context window
            raise StepFailed(str(exc)) from exc
        except Exception as exc:  # llama.cpp's errors become the step's, as in stream()
            raise StepFailed(f"The local model failed: {exc}") from exc
        label = best_label([f.labels[0].logprob for f in found], request.choices)
        return Completion(text=label, stopped=False, ttft_s=time.perf_counter() - started,
                          tokens_per_s=0.0,
                          prompt_tokens=sum(f.prompt_tokens + f.labels[0].tokens for f in found),
                          cached_tokens=sum(f.cached_tokens for f in found),
                          completion_tokens=0)  # fmt: skip

    def _stream(self, model: str, messages: list[ChatMessage], options: GenerationOptions,
                cancel: CancelToken) -> Iterator[Event]:  # fmt: skip
        if model in self._via_host and self.host is not None:
            return self.host.stream(messages, options, cancel)
        return self._providers[model].stream(messages, options, cancel)

    def close(self) -> None:
        """Unload what this run loaded (the model host's model stays)."""
        for model, provider in self._providers.items():
            unload: Any = getattr(provider, "unload", None)
            if model not in self._via_host and unload is not None:
                unload()
