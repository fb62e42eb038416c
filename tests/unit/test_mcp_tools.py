"""The MCP tools without the protocol (services/mcp_tools.py): what a client is told about the
workspaces, and the refusals it gets in words: a workspace that is not there, a local-only
workspace set to a cloud provider, a cloud answer nobody agreed to, an empty query."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from anyllm_desktop.services.cloud_providers import add_provider
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.mcp_tools import McpToolError, McpTools
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store import secrets


@pytest.fixture
def tools(anyllm_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[McpTools]:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    runtime = Runtime.open(anyllm_home)
    runtime.settings = replace(runtime.settings, offline_mode=False)
    add_provider(runtime, "claude", "anthropic", model="claude-x", api_key="sk-PLANTED-31")
    library = Library(runtime)
    library.create_workspace("Notes")
    library.create_workspace("Locked")
    library.update_chat("Locked", provider="claude", local_only=True, cloud_consent=["claude"])
    tools = McpTools(library)
    yield tools
    tools.close()


def test_the_workspaces_say_who_answers_and_whether_they_stay_local(tools: McpTools) -> None:
    rows = {row["name"]: row for row in tools.list_workspaces()}
    assert rows["Notes"] == {
        "name": "Notes",
        "documents": 0,
        "provider": "local",
        "model": tools.library.runtime.chat_model_name(),
        "local_only": False,
    }
    assert rows["Locked"]["local_only"] is True
    assert rows["Locked"]["provider"] == "claude" and rows["Locked"]["model"] == "claude: claude-x"


def test_an_unknown_workspace_is_named_with_the_ones_there_are(tools: McpTools) -> None:
    with pytest.raises(McpToolError, match=r"no workspace named 'Nowhere'.*'Locked', 'Notes'"):
        tools.search("Nowhere", "anything")
    with pytest.raises(McpToolError, match="'Nowhere'"):
        tools.ask("Nowhere", "anything?")


def test_a_local_only_workspace_never_answers_with_a_cloud_model(tools: McpTools) -> None:
    # Offline mode is off and the user agreed to claude: only the lock refuses (the network
    # guard fails the test if anything was sent).
    with pytest.raises(McpToolError, match=r"'Locked' is local-only.*'claude'.*local model"):
        tools.ask("Locked", "What is in my notes?")
    assert tools.library.threads.of_workspace(tools.library.workspace("Locked").id) == []


def test_a_cloud_answer_nobody_agreed_to_says_where_to_agree(tools: McpTools) -> None:
    tools.library.update_chat("Notes", provider="claude")
    with pytest.raises(McpToolError, match=r"needs your agreement.*MCP client cannot agree"):
        tools.ask("Notes", "What is in my notes?")


def test_an_empty_query_or_a_bad_k_is_refused_in_words(tools: McpTools) -> None:
    with pytest.raises(McpToolError, match="query is empty"):
        tools.search("Notes", "  ")
    with pytest.raises(McpToolError, match="k must be at least 1, not 0"):
        tools.search("Notes", "sid", k=0)


def test_a_request_the_client_cancels_stops_the_answer_on_the_library_thread() -> None:
    """The SDK cancels a tool's task when its client sends notifications/cancelled (or goes):
    the answer on the library's thread is told to stop, and the next call is not kept waiting."""
    import argparse
    import asyncio
    import threading

    from anyllm_desktop.cli.mcp_server import _OneThread
    from anyllm_desktop.core.cancel import CancelToken

    one = _OneThread(argparse.Namespace(home=None))
    one._tools = object()  # type: ignore[assignment]  # no library: the tools below need none
    started, stopped = threading.Event(), threading.Event()

    def answer(_tools: object, cancel: CancelToken) -> str:
        started.set()
        while not cancel.cancelled:  # as ChatService.ask checks between tokens
            threading.Event().wait(0.01)
        stopped.set()
        return "stopped"

    async def client() -> str:
        cancel = CancelToken()
        asking = asyncio.ensure_future(one.call(lambda t: answer(t, cancel), cancel))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        asking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asking
        return await one.call(lambda t: "next")  # runs once the cancelled one has stopped

    assert asyncio.run(client()) == "next" and stopped.is_set()
    one._pool.shutdown()
