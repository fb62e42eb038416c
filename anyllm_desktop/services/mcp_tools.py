"""What the MCP server's tools do (``anyllm mcp``), without the protocol: list the workspaces,
search one, answer from one. The same library, retriever and RAG turn as ``anyllm search`` and
``anyllm ask``; the protocol wiring lives in ``cli/mcp_server.py``.

An MCP client is another program acting for the user, so it cannot agree to send a workspace's
passages to a cloud provider on the user's behalf: a cloud answer needs the agreement given
earlier in the app or with ``anyllm ask --send-to-cloud``, and a local-only workspace is never
answered by a cloud model (refused before the provider is asked anything).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import CONSENT_REQUIRED, Done, Error
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.providers.base import ChatProvider
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.providers.registry import OfflineModeError, UnknownProviderError
from anyllm_desktop.services.chat import ChatService
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.store.records import WorkspaceNotFoundError

LOCAL = "local"


class McpToolError(Exception):
    """A tool call that cannot be served, in words for the client's model and its user."""


class McpTools:
    """The tools over one library. Not thread-safe: the server calls it from one thread."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._host: ModelHost | None = None
        self._host_key: tuple[str, str] | None = None

    def close(self) -> None:
        if self._host is not None:
            self._host.close()
            self._host = None
        self.library.close()

    # -- the tools ----------------------------------------------------------------------------

    def list_workspaces(self) -> list[dict[str, Any]]:
        """Every workspace: its indexed documents, who answers in it, whether it is local-only."""
        counts = self.library.records.document_counts()
        rows = []
        for workspace in self.library.workspaces():
            provider, model = self._answerer(workspace)
            rows.append(
                {
                    "name": workspace.name,
                    "documents": counts.get(workspace.id, 0),
                    "provider": provider,
                    "model": self._model_name(provider, model),
                    "local_only": workspace.chat.local_only,
                }
            )
        return rows

    def search(self, workspace: str, query: str, k: int | None = None) -> list[dict[str, Any]]:
        """The passages that match ``query`` best, with where each comes from."""
        if not query.strip():
            raise McpToolError("The query is empty: say what to look for.")
        if k is not None and k < 1:
            raise McpToolError(f"k must be at least 1, not {k}.")
        name = self._workspace(workspace).name
        try:
            results = self.library.search(name, query, k=k)
        except (ProviderError, ValueError) as exc:
            raise McpToolError(f"The workspace {name!r} could not be searched: {exc}") from exc
        return [r.to_json() for r in results]

    def ask(
        self, workspace: str, question: str, cancel: CancelToken | None = None
    ) -> dict[str, Any]:
        """The answer with its citations [n] (document, page), evidence and unsupported
        sentences: the object ``anyllm ask --json`` prints. Each question starts a thread.
        ``cancel``: the client gave up (the answer so far is kept in the thread)."""
        ws = self._workspace(workspace)
        service = ChatService(self.library, self._host_for(ws))
        for event in service.ask(ws.name, question, cancel=cancel or CancelToken()):
            if isinstance(event, Error):
                message = f"The workspace {ws.name!r} could not answer: {event.message}"
                if event.detail == CONSENT_REQUIRED:
                    message += (
                        " Agree in the app's Workspace settings or with `anyllm ask "
                        "--send-to-cloud`; an MCP client cannot agree for you."
                    )
                raise McpToolError(message)
            if isinstance(event, Done):
                answer: dict[str, Any] = event.result.to_json()
                return answer
        raise McpToolError(f"The workspace {ws.name!r} gave no answer.")

    # -- who answers --------------------------------------------------------------------------

    def _workspace(self, name: str) -> Workspace:
        try:
            return self.library.workspace(name)
        except WorkspaceNotFoundError as exc:
            known = ", ".join(repr(w.name) for w in self.library.workspaces()) or "none yet"
            raise McpToolError(
                f"There is no workspace named {name!r}; the workspaces are: {known} "
                "(list_workspaces lists them)."
            ) from exc

    def _answerer(self, workspace: Workspace) -> tuple[str, str]:
        """(provider, model) answering in ``workspace``: its own choice, else the settings'."""
        settings = self.library.runtime.settings
        provider = workspace.chat.provider or settings.default_provider
        model = workspace.chat.model or (settings.chat_model if provider == LOCAL else "")
        return provider, model

    def _model_name(self, provider: str, model: str) -> str:
        runtime = self.library.runtime
        if provider == LOCAL:
            return runtime.chat_model_name(model)
        with suppress(UnknownProviderError, OfflineModeError):  # removed since, or offline
            model = model or runtime.cloud_config(provider).get("model", "")
        return f"{provider}: {model}" if model else provider

    def _host_for(self, workspace: Workspace) -> ModelHost:
        """The host of the model answering in ``workspace``; one model is kept loaded and
        replaced when a workspace answering with another one asks."""
        key = self._answerer(workspace)
        if key == self._host_key and self._host is not None:
            return self._host
        provider = self._provider(workspace, *key)
        if self._host is not None:
            self._host.close()
        self._host, self._host_key = ModelHost(provider), key
        return self._host

    def _provider(self, workspace: Workspace, name: str, model: str) -> ChatProvider:
        """The provider answering in ``workspace``; building one sends nothing, and a cloud one
        is refused for a local-only workspace before it is asked anything (a server on this
        computer, which the provider marks local, is allowed)."""
        try:
            provider = self.library.runtime.create_chat_provider(provider=name, model=model or None)
        except (UnknownProviderError, OfflineModeError, KeyError, OSError, ValueError) as exc:
            if workspace.chat.local_only:
                raise McpToolError(_local_only(workspace, name)) from exc
            raise McpToolError(
                f"The workspace {workspace.name!r} answers with {name!r}, which cannot be used "
                f"now: {exc}"
            ) from exc
        if workspace.chat.local_only and not provider.capabilities.local:
            raise McpToolError(_local_only(workspace, name))
        return provider


def _local_only(workspace: Workspace, name: str) -> str:
    return (
        f"The workspace {workspace.name!r} is local-only, but it is set to answer with {name!r}, "
        "a cloud provider; its documents are never sent to a cloud. Choose a local model for "
        "it in Workspace settings, or lift the lock."
    )
