"""What leaves the machine for a cloud provider, and the record of it.

Before a workspace's passages go to a cloud provider: the workspace may be locked to local
models; the first time per provider the user must agree (the UI shows what will be sent and
where); personal data can be removed. After each request a line goes to ``logs/outbound.jsonl``:
time, provider, model, host, tokens, what was removed — never the key or the text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import CONSENT_REQUIRED, LOCAL_ONLY
from anyllm_desktop.core.redaction import Redactions, redact
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.providers.base import ChatProvider
from anyllm_desktop.store.locations import StoreLocation


class Sender(Protocol):
    """A chat provider or an embedder: what the log names."""

    name: str

    @property
    def model(self) -> str: ...


def destination(provider: Sender) -> str:
    """Where a cloud provider sends prompts: its host name."""
    endpoint = getattr(provider, "endpoint", None)
    if endpoint is None:
        return provider.name
    return urlsplit(endpoint.base_url).hostname or endpoint.base_url


def refusal(workspace: Workspace, provider: ChatProvider) -> tuple[str, str] | None:
    """(message, code) when this workspace's passages may not go to ``provider`` now."""
    if provider.capabilities.local:
        return None
    if workspace.chat.local_only:
        return (f"The workspace “{workspace.name}” is locked to local models; its documents are "
                "never sent to a cloud provider (Workspace settings).", LOCAL_ONLY)  # fmt: skip
    if provider.name not in workspace.chat.cloud_consent:
        return (
            f"Sending to {provider.name} ({destination(provider)}) needs your agreement first: "
            f"the system prompt, your question, earlier turns of this chat and up to "
            f"{workspace.retrieval.top_k} passages from “{workspace.name}” will be sent there.",
            CONSENT_REQUIRED,
        )
    return None


def store_refusal(location: StoreLocation, workspace: str, offline: bool) -> str | None:
    """Why a workspace's object store may not be reached now: in offline mode, a store on
    another host is outbound like any provider; one on loopback stays on this machine."""
    if offline and not location.loopback:
        return (f"The workspace “{workspace}” lives on {location.host} ({location.uri}), and "
                "offline mode keeps the app from connecting to other hosts. Turn offline mode "
                "off in Settings to use it.")  # fmt: skip
    return None


def embedding_refusal(workspace: Workspace, provider: str) -> str | None:
    """Why this workspace's text may not go to the cloud embedder of ``provider`` (None: it
    may; agreeing happens when the embedder is chosen)."""
    if workspace.chat.local_only:
        return (f"The workspace “{workspace.name}” is locked to local models, but its passages "
                f"are embedded by {provider} (a cloud provider). Switch its embedding model to "
                "a local one in Workspace settings, or lift the lock.")  # fmt: skip
    return None


def embedding_consent_text(workspace: Workspace, embedder: Sender, passages: int) -> str:
    """What choosing a cloud embedder sends, and where: for the agreement."""
    where = f"{embedder.name} ({destination(embedder)})"
    later = "the text of every document added to it and every question asked in it"
    if passages:
        sends = (
            f"sends the text of all its {passages:,} passages to {where} now, and from then "
            f"on {later}"
        )
    else:
        sends = f"sends {later} to {where}"
    removed = " Personal data is removed first." if workspace.chat.redact_personal_data else ""
    return f"Embedding “{workspace.name}” with {embedder.model} {sends}.{removed}"


def prepared(
    messages: Sequence[ChatMessage], remove_personal_data: bool
) -> tuple[list[ChatMessage], Redactions]:
    """The messages as they will leave: with personal data removed when asked."""
    found = Redactions()
    if not remove_personal_data:
        return list(messages), found
    return [replace(m, content=redact(m.content, found)) for m in messages], found


class OutboundLog:
    def __init__(self, logs_dir: Path) -> None:
        self.path = logs_dir / "outbound.jsonl"

    def record(
        self, provider: Sender, workspace: str, *, prompt_tokens: int = 0,
        completion_tokens: int = 0, redactions: Redactions | None = None, error: str = "",
        kind: str = "chat", texts: int = 0, step: str = "",
    ) -> None:  # fmt: skip
        """One request: ``kind`` "chat" (a prompt), "embeddings" (``texts`` passages or a
        question) or "workflow" (one ``step``'s prompt)."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "kind": kind,
            "provider": provider.name,
            "model": provider.model,
            "host": destination(provider),
            "workspace": workspace,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            **({"texts": texts} if kind == "embeddings" else {}),
            **({"step": step} if step else {}),
            "redactions": dict(redactions.counts) if redactions else {},
            "ok": not error,
        }
        self._append(entry)

    def record_store(self, location: StoreLocation, workspace: str, action: str) -> None:
        """A workspace's object store opened on another host (``action``: "open", "ingest",
        "search"): where, never its keys."""
        if location.loopback:
            return
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "kind": "object_store",
                 "provider": location.scheme, "model": "", "host": location.host,
                 "location": location.uri, "workspace": workspace, "step": action,
                 "ok": True}  # fmt: skip
        self._append(entry)

    def _append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def entries(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, newest first."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in reversed(lines[-limit:]) if line.strip()]
