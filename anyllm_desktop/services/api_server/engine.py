"""What the server's requests do, on the queue's thread: list the models, answer a chat (a
workspace through the RAG turn with its citations, a plain model directly), embed texts."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Token
from anyllm_desktop.core.prompting import Turn
from anyllm_desktop.models.embedded import embedded_models
from anyllm_desktop.models.local_models import chat_models
from anyllm_desktop.providers.base import Completion, GenerationOptions
from anyllm_desktop.services.api_server.validation import (
    WORKSPACE_PREFIX,
    ChatRequest,
    EmbeddingRequest,
)
from anyllm_desktop.services.chat import ChatService
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.runtime import Runtime


class EngineError(Exception):
    """A request that cannot be served: its HTTP status, OpenAI error type and reason."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


@dataclass
class Reply:
    """The end of a chat answer: what the non-streaming response and the last chunk carry."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    citations: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)


class Engine:
    """The server's library (opened on the queue's thread) and model host. ``shared_host``: the
    app's own host, so requests and the window's chats queue for the one loaded model; the
    window then decides which model that is (``served_model`` says which), and the server
    answers with it instead of switching it under the user."""

    def __init__(self, home: Path | None, shared_host: ModelHost | None = None,
                 served_model: Callable[[], str] | None = None) -> None:  # fmt: skip
        self.library = Library(Runtime.open(home))
        self.runtime = self.library.runtime
        self._model_id = self.runtime.settings.chat_model
        self._shared = shared_host is not None
        self._served_model = served_model or (lambda: self._model_id)
        self.host = shared_host or ModelHost(
            self.runtime.create_chat_provider(model=self._model_id)
        )
        self.chat_service = ChatService(self.library, self.host)

    def close(self) -> None:
        if not self._shared:
            self.host.close()
        self.library.close()

    # -- models -------------------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        created = int(time.time())
        rows = [
            {"id": WORKSPACE_PREFIX + w.name, "object": "model", "created": created,
             "owned_by": "anyllm-workspace"}
            for w in self.library.workspaces()
        ]  # fmt: skip
        rows += [
            {"id": m.id, "object": "model", "created": created, "owned_by": "anyllm-local"}
            for m in chat_models(self.runtime.paths.models_dir)
        ]
        rows += [
            {"id": m.id, "object": "model", "created": created, "owned_by": "anyllm-embedding"}
            for m in embedded_models()
            if m.kind == "embedding"
        ]
        return rows

    def _workspace(self, name: str) -> Any:
        for workspace in self.library.workspaces():
            if workspace.name == name:
                return workspace
        raise EngineError(404, f"There is no workspace named {name!r}; GET /v1/models lists "
                          "the ones there are.", "model_not_found")  # fmt: skip

    # -- chat ---------------------------------------------------------------------------------

    def chat(self, request: ChatRequest, cancel: CancelToken) -> Iterator[str | Reply]:
        """Answer pieces (str) as they are generated, then one Reply; ``cancel`` stops it."""
        if request.workspace is not None:
            yield from self._workspace_chat(request, cancel)
        else:
            yield from self._plain_chat(request, cancel)

    def _workspace_chat(self, request: ChatRequest, cancel: CancelToken) -> Iterator[str | Reply]:
        name = request.workspace or ""
        self._workspace(name)
        asked = {"temperature": request.temperature, "top_p": request.top_p,
                 "max_tokens": request.max_tokens}  # fmt: skip
        overrides = {k: v for k, v in asked.items() if v is not None}  # else the workspace's
        history = [Turn(question, None, answer) for question, answer in request.earlier_turns]
        for event in self.chat_service.ask(name, request.question, cancel=cancel,
                                           overrides=overrides, history=history):  # fmt: skip
            if isinstance(event, Token):
                yield event.text
            elif isinstance(event, Error):
                raise EngineError(500, f"The workspace {name!r} could not answer: "
                                  f"{event.message}", "server_error")  # fmt: skip
            elif isinstance(event, Done):
                answer = event.result
                # A request is not a conversation of the user's: not kept in the chat list.
                self.chat_service.threads.delete(answer.thread)
                yield Reply(
                    text=answer.answer,
                    finish_reason="length" if answer.stopped else "stop",
                    prompt_tokens=int(answer.timings.get("prompt_tokens", 0)),
                    completion_tokens=int(answer.timings.get("completion_tokens", 0)),
                    citations=answer.citations,
                    evidence=answer.evidence,
                )

    def _use_model(self, model_id: str) -> None:
        """Load ``model_id`` on the one model thread in place of the current model."""
        if model_id == self._served_model():
            return
        known = {m.id for m in chat_models(self.runtime.paths.models_dir)}
        if model_id not in known:
            raise EngineError(404, f"There is no model {model_id!r}; GET /v1/models lists the "
                              "ones there are.", "model_not_found")  # fmt: skip
        if self._shared:
            raise EngineError(409, f"The app has {self._served_model()!r} loaded and shares it "
                              "with the API; ask for that model, or choose another in the "
                              "app's Settings → Model.")  # fmt: skip
        provider = self.runtime.create_chat_provider(model=model_id)
        for event in self.host.switch(provider):
            if isinstance(event, Error):
                raise EngineError(500, f"The model {model_id!r} could not be loaded: "
                                  f"{event.message}", "server_error")  # fmt: skip
        self._model_id = model_id

    def _plain_chat(self, request: ChatRequest, cancel: CancelToken) -> Iterator[str | Reply]:
        self._use_model(request.model)
        defaults = GenerationOptions()
        options = GenerationOptions(
            temperature=defaults.temperature if request.temperature is None
            else request.temperature,
            top_p=defaults.top_p if request.top_p is None else request.top_p,
            max_tokens=request.max_tokens or defaults.max_tokens,
        )  # fmt: skip
        with self.library.priority.foreground():
            for event in self.host.stream(request.messages, options, cancel):
                if isinstance(event, Token):
                    yield event.text
                elif isinstance(event, Error):
                    raise EngineError(500, f"The model failed: {event.message}", "server_error")
                elif isinstance(event, Done):
                    completion: Completion = event.result
                    yield Reply(
                        text=completion.text,
                        finish_reason=completion.finish_reason,
                        prompt_tokens=completion.prompt_tokens,
                        completion_tokens=completion.completion_tokens,
                    )

    # -- embeddings ---------------------------------------------------------------------------

    def embed(self, request: EmbeddingRequest) -> dict[str, Any]:
        if request.model.startswith(WORKSPACE_PREFIX):
            workspace = self._workspace(request.model[len(WORKSPACE_PREFIX) :])
            model_id = workspace.embedding_model
        else:
            workspace, model_id = None, request.model
            known = {m.id for m in embedded_models() if m.kind == "embedding"}
            if model_id not in known:
                raise EngineError(404, f"{model_id!r} is not an embedding model here; use a "
                                  "workspace:NAME model or one of "
                                  f"{', '.join(sorted(known))}.", "model_not_found")  # fmt: skip
        vectors = self.library.embedder(model_id, workspace).embed(request.texts)
        tokens = sum(self.library.token_counter(model_id).count_many(request.texts))
        data = []
        for index, vector in enumerate(vectors):
            values = vector.astype("<f4")
            embedding: Any = (
                base64.b64encode(values.tobytes()).decode() if request.base64
                else [float(v) for v in values]
            )  # fmt: skip
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        return {
            "object": "list",
            "data": data,
            "model": request.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
