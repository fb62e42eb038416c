"""What quick actions and the prompt library need from the services: a quick action over a
text, or a filled prompt template, answered by the workspace's answering model through the
model host (tokens stream, like a chat answer; Stop cancels), and a quick action over a whole
document as a workflow job (progress, cancel, kept as a run). A part of
:class:`workers.backend.Backend`, which supplies the rest (``runtime``, ``jobs``, ``_start``,
``_chat``, ``_serve``, …). The service types the UI names it names through here."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import CONSENT_REQUIRED, Done, Error, Event
from anyllm_desktop.core.jobs import JobRecord
from anyllm_desktop.core.prompt_library import PromptLibrary
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.providers.base import ChatProvider, GenerationOptions
from anyllm_desktop.services import outbound
from anyllm_desktop.services.quick_actions import (
    LANGUAGES,
    QUICK_ACTIONS,
    ActionRequest,
    QuickAction,
    QuickResult,
    answer_budget,
    check_parameters,
    document_workflow,
    fitted_text,
    prompt_request,
    run_request,
    split_names,
    text_request,
)
from anyllm_desktop.services.workflows.loading import resolve_workflow

if TYPE_CHECKING:
    from anyllm_desktop.services.chat import ChatService
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.workers.generator_worker import GeneratorWorker
    from anyllm_desktop.workers.job_queue import JobQueue

__all__ = ["LANGUAGES", "QUICK_ACTIONS", "QuickAction", "QuickActions", "QuickResult",
           "split_names"]  # fmt: skip

Build = Callable[[str], ActionRequest]


class QuickActions:
    runtime: Runtime
    jobs: JobQueue | None
    served_model: str

    def _start(self, source: Any, signal: Any = None) -> GeneratorWorker:
        raise NotImplementedError

    def _library(self) -> Library:
        raise NotImplementedError

    def _chat(self) -> ChatService:
        raise NotImplementedError

    def _serve(self, model: str, cancel: CancelToken) -> Iterator[Event]:
        raise NotImplementedError

    def answering_provider(self, workspace: str) -> str:
        raise NotImplementedError

    def prompt_library(self) -> PromptLibrary:
        """The saved prompt templates over the built-ins (a small file in the data folder)."""
        return PromptLibrary(self.runtime.paths.prompt_library)

    def quick_action_agreement(self, workspace: str) -> str | None:
        """What to ask before a quick action's text goes to the workspace's cloud provider
        for the first time; None when it is local, agreed, or refused anyway (local-only,
        offline: the action says why). Quick: nothing is sent."""
        name = self.answering_provider(workspace)
        ws = self._library().workspace(workspace)
        if name == "local" or name in ws.chat.cloud_consent or ws.chat.local_only:
            return None
        if self.runtime.settings.offline_mode:
            return None
        try:
            provider = self.runtime.create_chat_provider(provider=name, model=ws.chat.model or None)
        except (KeyError, ValueError, RuntimeError):
            return None  # the action says why
        if provider.capabilities.local:
            return None  # a server on this computer: nothing leaves it
        removed = " Personal data is removed first." if ws.chat.redact_personal_data else ""
        return (f"This quick action sends the text to {provider.name} "
                f"({outbound.destination(provider)}), the cloud provider answering in "
                f"“{workspace}”.{removed}")  # fmt: skip

    def quick_action(self, workspace: str, action: str, text: str, *, language: str = "",
                     labels: tuple[str, ...] = (), fields: tuple[str, ...] = (),
                     ) -> GeneratorWorker:  # fmt: skip
        """Tokens, then Done(QuickResult) or Error; ValueError at once when a parameter is
        missing (no language, fewer than two labels, no field)."""
        check_parameters(action, language=language, labels=labels, fields=fields)
        return self._quick(workspace, text, lambda t: text_request(
            action, t, language=language, labels=labels, fields=fields))  # fmt: skip

    def run_prompt(self, workspace: str, title: str, prompt: str) -> GeneratorWorker:
        """A filled prompt template, answered like a quick action."""
        return self._quick(workspace, "", lambda _text: prompt_request(title, prompt))

    def document_action(self, workspace: str, action: str, document: str, *,
                        language: str = "", labels: tuple[str, ...] = (),
                        fields: tuple[str, ...] = ()) -> JobRecord:  # fmt: skip
        """A quick action over one whole document (its file name) as a workflow job: follow it
        on ``jobs.event`` / ``jobs.finished``; its run is kept (``workflow_runs``)."""
        assert self.jobs is not None, "Backend.start() has not finished"
        return self.jobs.submit("workflow", workspace, documents=[document], models={},
                                workflow=str(self.document_workflow_file(
                                    action, document, language=language, labels=labels,
                                    fields=fields)))  # fmt: skip

    def document_workflow_file(self, action: str, document: str, **params: Any) -> Path:
        """Summarize: the built-in ``document-summary``; the others a workflow written for
        this document (in the cache folder, named by its content)."""
        if action == "summarize":
            try:
                return resolve_workflow("document-summary")
            except KeyError:  # an install without it: the same map and reduce, written here
                pass
        text = document_workflow(action, document, **params)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        path = self.runtime.paths.cache_dir / "quick-actions" / f"{action}-{digest}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    # -- one model call, streamed ----------------------------------------------------------------

    def _quick(self, workspace: str, text: str, build: Build) -> GeneratorWorker:
        library, host = self._library(), self._chat().host
        ws = library.workspace(workspace)
        name = self.answering_provider(workspace)
        model = ws.chat.model or self.runtime.settings.chat_model

        def source(cancel: CancelToken) -> Iterator[Event]:
            provider: ChatProvider | None = None
            if name == "local" and model != self.served_model:
                yield from self._serve(model, cancel)
                if self.served_model != model:
                    return
            if name != "local":
                try:
                    provider = self.runtime.create_chat_provider(
                        provider=name, model=ws.chat.model or None
                    )
                except (KeyError, ValueError, RuntimeError) as exc:
                    yield Error(str(exc))
                    return
                if (refused := _refusal(ws, provider)) is not None:
                    yield Error(refused)
                    return
            on = host.run if provider is None else (lambda function: function(provider))
            try:
                request, cut = on(lambda p: _fit(p, build, text))
            except Exception as exc:  # the model could not load: say so in the window
                yield Error(f"The model could not be loaded: {exc}", detail=repr(exc))
                return
            used = provider or host.provider
            stream = _cloud_stream(library, ws, provider) if provider else _local(library, host)
            for event in run_request(request, stream, cancel):
                if isinstance(event, Done) and isinstance(event.result, QuickResult):
                    event.result.model = f"{used.model} ({used.name})"
                    if cut:
                        event.result.notes.insert(0, cut)
                yield event

        return self._start(source)


def _fit(provider: ChatProvider, build: Build, text: str) -> tuple[ActionRequest, str]:
    """The request over as much of ``text`` as fits the model's context, and a note when it
    was cut (on the model's thread: counting needs the loaded model)."""
    empty = build("")
    budget = answer_budget(
        provider.context_size, provider.count_tokens(empty.messages) + empty.options.max_tokens
    )
    fitted, cut = fitted_text(
        text, lambda part: provider.count_tokens([ChatMessage("user", part)]), budget
    )
    note = ""
    if cut:
        share = len(fitted) / max(len(text), 1)
        note = (f"Only the first {share:.0%} of the text fits the model's context "
                f"({provider.context_size:,} tokens) and was read. For a whole document, use "
                "the quick actions of the documents panel (right-click a document).")  # fmt: skip
    return build(fitted), note


def _refusal(workspace: Workspace, provider: ChatProvider) -> str | None:
    refused = outbound.refusal(workspace, provider)
    if refused is None:
        return None
    if refused[1] == CONSENT_REQUIRED:
        return (f"A quick action sends its text to {provider.name} "
                f"({outbound.destination(provider)}), which this workspace has not agreed to "
                "yet. Ask a question in the chat first (it asks for the agreement once), or "
                "choose a local model for the workspace.")  # fmt: skip
    return refused[0]


Stream = Callable[[list[ChatMessage], GenerationOptions, CancelToken], Iterator[Event]]


def _local(library: Library, host: Any) -> Stream:
    def stream(messages: list[ChatMessage], options: GenerationOptions,
               cancel: CancelToken) -> Iterator[Event]:  # fmt: skip
        with library.priority.foreground():  # background embedding waits, as for the chat
            yield from host.stream(messages, options, cancel)

    return stream


def _cloud_stream(library: Library, workspace: Workspace, provider: ChatProvider) -> Stream:
    """The cloud provider's stream with personal data removed when the workspace asks, and
    the request written to the outbound log."""

    def stream(messages: list[ChatMessage], options: GenerationOptions,
               cancel: CancelToken) -> Iterator[Event]:  # fmt: skip
        sent, removed = outbound.prepared(messages, workspace.chat.redact_personal_data)
        error = ""
        try:
            for event in provider.stream(sent, options, cancel):
                if isinstance(event, Error):
                    error = event.message
                yield event
        finally:
            library.outbound_log.record(provider, workspace.name, redactions=removed,
                                        error=error)  # fmt: skip

    return stream
