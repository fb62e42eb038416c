"""The RAG turn: retrieve, build the prompt, stream the answer, link its citations, keep it.

A turn is a generator of events: ``Progress`` (retrieval), ``Sources`` (the numbered passages),
``Token``s, ``Usage``, then ``Done`` carrying an :class:`Answer`, or ``Error``. The question is
stored before the model is called and the answer (or the error, with any partial text) after,
so a failing provider never loses the conversation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.citations import CitationFilter
from anyllm_desktop.core.conversation import ChatMessage, Passage, ThreadInfo
from anyllm_desktop.core.events import Done, Error, Event, Progress, Sources, Token, Usage
from anyllm_desktop.core.prompting import (
    ContextOverflowError,
    Prompt,
    Turn,
    build_prompt,
    render_system_prompt,
)
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.providers.base import ChatProvider, Completion, GenerationOptions
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.services import grounding, outbound
from anyllm_desktop.services.answer import Answer, citations_for, history_of
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.retriever import SearchResult

TITLE_CHARACTERS = 60


def numbered_passages(results: Sequence[SearchResult]) -> list[Passage]:
    """The search's results as the passages an answer cites, numbered from 1."""
    return [
        Passage(i, r.document, r.path, r.page, r.section, r.text, r.score, r.sheet)
        for i, r in enumerate(results, start=1)
    ]


def _reading(passages: int, event: Progress) -> str:
    """ "Reading 4 passages: 640 / 942 tokens" (what the wait before the first token is)."""
    what = f"{passages} passage{'s' if passages != 1 else ''}" if passages else "the question"
    return f"Reading {what}: {event.done:,} / {event.total:,} tokens"


class ChatService:
    def __init__(self, library: Library, host: ModelHost) -> None:
        self.library = library
        self.host = host
        self.threads = library.threads
        self.outbound_log = library.outbound_log

    # -- threads ------------------------------------------------------------------------------

    def thread_of(self, workspace: Workspace, thread_id: int | None, title: str) -> ThreadInfo:
        if thread_id is None:
            return self.threads.create(workspace.id, title[:TITLE_CHARACTERS])
        thread = self.threads.get(thread_id)
        if thread.workspace_id != workspace.id:
            raise ValueError(f"thread {thread_id} belongs to another workspace")
        return thread

    def regenerate(
        self, thread_id: int, cancel: CancelToken, provider: ChatProvider | None = None
    ) -> Iterator[Event]:
        """Answer the thread's last question again. The earlier answer is kept as a version
        (``Threads.versions``; it comes back if no new answer is stored)."""
        messages = self.threads.messages(thread_id)
        last_question = next((m for m in reversed(messages) if m.role == "user"), None)
        if last_question is None:
            yield Error("This thread has no question to answer again.")
            return
        thread = self.threads.get(thread_id)
        workspace = self.library.records.workspace_by_id(thread.workspace_id)
        earlier = [m.id for m in messages if m.id >= last_question.id]
        self.threads.set_superseded(earlier)
        try:
            yield from self.ask(workspace.name, last_question.content, thread_id=thread_id,
                                cancel=cancel, provider=provider)  # fmt: skip
        finally:
            newest = self.threads.messages(thread_id, superseded=True)[-1].id
            if newest == earlier[-1]:  # nothing new was kept: the earlier answer stays shown
                self.threads.set_superseded(earlier, False)

    def edit_and_resend(
        self,
        thread_id: int,
        message_id: int,
        question: str,
        cancel: CancelToken,
        provider: ChatProvider | None = None,
    ) -> Iterator[Event]:
        """Replace a question (and everything after it) with ``question`` and answer it."""
        thread = self.threads.get(thread_id)
        workspace = self.library.records.workspace_by_id(thread.workspace_id)
        self.threads.truncate_from(thread_id, message_id)
        yield from self.ask(
            workspace.name, question, thread_id=thread_id, cancel=cancel, provider=provider
        )

    # -- the turn -----------------------------------------------------------------------------

    def ask(
        self,
        workspace_name: str,
        question: str,
        *,
        thread_id: int | None = None,
        cancel: CancelToken | None = None,
        provider: ChatProvider | None = None,
        overrides: Mapping[str, Any] | None = None,
        history: list[Turn] | None = None,
    ) -> Iterator[Event]:
        """One turn. ``provider`` overrides the host's model (a cloud provider chosen for the
        workspace); it then runs on the calling thread, since it holds no model. ``overrides``:
        this turn's ``temperature``, ``top_p`` or ``max_tokens`` (an API request's) in place of
        the workspace's; ``history``: the earlier turns as a client kept them, in place of the
        thread's."""
        cancel = cancel or CancelToken()
        question = question.strip()
        if not question:
            yield Error("The question is empty.")
            return
        workspace = self.library.workspace(workspace_name)
        settings = workspace.chat
        sampling = {"temperature": settings.temperature, "top_p": settings.top_p,
                    "max_tokens": settings.max_answer_tokens} | dict(overrides or {})  # fmt: skip
        thread = self.thread_of(workspace, thread_id, question)
        if history is None:
            history = history_of(self.threads.messages(thread.id))

        yield Progress("retrieve", 0, 1, "Searching the documents")
        started = time.perf_counter()
        try:
            results = self.library.search(workspace.name, question)
        except ProviderError as exc:  # the workspace's cloud embedder failed or is refused
            yield Error(f"The documents could not be searched: {exc}")
            return
        retrieval_s = time.perf_counter() - started
        passages = numbered_passages(results)
        provider = provider or self.host.provider
        if (refused := outbound.refusal(workspace, provider)) is not None:
            yield Error(refused[0], detail=refused[1])
            return
        indexing = grounding.indexing_note(self.library, workspace)
        if settings.mode == "query" and not passages:
            yield from self._refuse(thread, question, settings.refusal_message, provider,
                                    retrieval_s, [indexing] if indexing else [])  # fmt: skip
            return

        system = thread.system_prompt or render_system_prompt(
            settings.system_prompt, settings.mode, workspace=workspace.name, now=datetime.now()
        )
        try:
            prompt: Prompt = self._on(provider)(
                lambda p: build_prompt(
                    system=system,
                    history=history,
                    question=question,
                    passages=passages,
                    count=p.count_tokens,
                    context_size=p.context_size,
                    answer_tokens=sampling["max_tokens"],
                    history_turns=settings.history_turns,
                )
            )
        except ContextOverflowError as exc:
            yield Error(str(exc))
            return
        except Exception as exc:  # the model could not load: say so in the chat
            yield Error(f"The model could not be loaded: {exc}", detail=repr(exc))
            return
        if thread.system_prompt is None:
            self.threads.set_system_prompt(thread.id, system)
        messages, removed = prompt.messages, None
        if not provider.capabilities.local:
            messages, removed = outbound.prepared(messages, settings.redact_personal_data)
            if removed.counts:
                prompt.notes.append(f"Removed before sending: {removed.summary()}.")
        if indexing:
            prompt.notes.append(indexing)
        yield Sources(prompt.passages, prompt.notes)
        self.threads.add_message(thread.id, "user", question, sent_content=prompt.sent_question)
        started = time.perf_counter()
        finder = grounding.evidence_finder(self.library, workspace, question, prompt.passages)
        evidence_s = time.perf_counter() - started
        # Citations to no passage never reach the user; given none, the answer says so first.
        cited = CitationFilter(len(prompt.passages))
        shown = [] if prompt.passages else [grounding.NO_PASSAGE]
        if shown:
            yield Token(grounding.NO_PASSAGE)

        options = GenerationOptions(**sampling)
        parts: list[str] = []
        completion: Completion | None = None
        for event in self._generate(provider, messages, options, cancel):
            if isinstance(event, Token):
                parts.append(event.text)
                if text := cited.feed(event.text):
                    shown.append(text)
                    yield Token(text)
            elif isinstance(event, Usage):
                yield event
            elif isinstance(event, Progress):  # the local model reading the prompt
                yield Progress(event.stage, event.done, event.total,
                               _reading(len(prompt.passages), event), event.eta_s)  # fmt: skip
            elif isinstance(event, Done):
                completion = event.result
            elif isinstance(event, Error):
                shown.append(cited.flush())
                self.threads.add_message(
                    thread.id,
                    "assistant",
                    "".join(shown),
                    sources=prompt.passages,
                    provider=provider.name,
                    model=provider.model,
                    error=event.message,
                )
                if not provider.capabilities.local:
                    self.outbound_log.record(provider, workspace.name, redactions=removed,
                                             error=event.message)  # fmt: skip
                yield event
                return
        assert completion is not None, "a provider stream ends with Done or Error"
        if tail := cited.flush():
            shown.append(tail)
            yield Token(tail)
        started = time.perf_counter()
        checked = grounding.check(
            finder,
            question=question,
            shown="".join(shown),
            generated=completion.text,
            passages=prompt.passages,
            replace_unsupported=settings.mode == "query" and not completion.stopped,
            refusal=settings.refusal_message,
        )
        evidence_s += time.perf_counter() - started
        if not provider.capabilities.local:
            self.outbound_log.record(provider, workspace.name, redactions=removed,
                                     prompt_tokens=completion.prompt_tokens,
                                     completion_tokens=completion.completion_tokens)  # fmt: skip
        timings = {
            "retrieval_s": round(retrieval_s, 4),
            "ttft_s": round(completion.ttft_s, 4),
            "tokens_per_s": round(completion.tokens_per_s, 2),
            "prompt_tokens": completion.prompt_tokens,
            "cached_tokens": completion.cached_tokens,
            "completion_tokens": completion.completion_tokens,
            "evidence_s": round(evidence_s, 4),
            # The context indicator: how full the model's window was, and what was left out.
            "context_size": provider.context_size,
            "passages_left_out": prompt.passages_left_out,
            "turns_left_out": prompt.turns_left_out,
        }
        citations = citations_for(checked.text, prompt.passages)
        message = self.threads.add_message(
            thread.id,
            "assistant",
            checked.text,
            sources=prompt.passages,
            citations=citations,
            provider=provider.name,
            model=provider.model,
            stopped=completion.stopped,
            timings=timings,
            evidence=checked.evidence,
            unsupported=checked.unsupported,
            generated=checked.generated,
        )
        yield Done(
            Answer(
                answer=checked.text,
                citations=citations,
                thread=thread.id,
                provider=provider.name,
                model=provider.model,
                stopped=completion.stopped,
                timings=timings,
                message=message.id,
                sources=[p.to_dict() for p in prompt.passages],
                notes=prompt.notes,
                evidence=checked.evidence,
                unsupported=checked.unsupported,
                generated=checked.generated,
            )
        )

    def _generate(
        self,
        provider: ChatProvider,
        messages: list[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken,
    ) -> Iterator[Event]:
        """The provider's stream; while a local model generates, background embedding waits."""
        if provider is not self.host.provider:
            yield from provider.stream(messages, options, cancel)
        elif not provider.capabilities.local:
            yield from self.host.stream(messages, options, cancel)
        else:
            with self.library.priority.foreground():
                yield from self.host.stream(messages, options, cancel)

    def _on(self, provider: ChatProvider) -> Any:
        """Run a function of the provider: on the model's thread for the host's provider."""
        if provider is self.host.provider:
            return self.host.run
        return lambda function: function(provider)

    def _refuse(
        self,
        thread: ThreadInfo,
        question: str,
        refusal: str,
        provider: ChatProvider,
        retrieval_s: float,
        notes: list[str],
    ) -> Iterator[Event]:
        timings = {"retrieval_s": round(retrieval_s, 4)}
        self.threads.add_message(thread.id, "user", question, sent_content=question)
        message = self.threads.add_message(
            thread.id, "assistant", refusal, provider=provider.name, model="", timings=timings
        )
        yield Sources([], notes)
        yield Token(refusal)
        yield Done(
            Answer(
                answer=refusal,
                citations=[],
                thread=thread.id,
                provider=provider.name,
                model="",
                stopped=False,
                timings=timings,
                message=message.id,
                refused=True,
                notes=notes,
            )
        )
