"""``anyllm mcp`` as an MCP client meets it: the real command as a subprocess over stdio, driven
by the ``mcp`` SDK's own client; the bundled embedder and chat model answer from an ingested
file, and a local-only workspace set to a cloud provider is refused through the protocol."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from anyllm_desktop.services.cloud_providers import add_provider
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store import secrets
from tests.e2e.conftest import DATA, ingest
from tests.e2e.test_ingest_cli import BIN_DIR

pytestmark = pytest.mark.e2e

FAQ = DATA / "debian-faq-archives.html"
QUESTION = "What is the codename of the unstable distribution?"


def _prepare(home: Path) -> None:
    """Workspace "FAQ" with the Debian FAQ; "Locked", local-only but set to a cloud provider
    the user agreed to, with offline mode off: only the lock stands between it and the cloud."""
    library = Library(Runtime.open(home))
    try:
        library.create_workspace("FAQ")
        ingest(library, "FAQ", FAQ)
        library.update_chat("FAQ", temperature=0.0, max_answer_tokens=48)
        runtime = library.runtime
        runtime.settings = replace(runtime.settings, offline_mode=False)
        runtime.settings_store.save(runtime.settings)
        add_provider(runtime, "claude", "anthropic", model="claude-x", api_key="sk-PLANTED-9f")
        library.create_workspace("Locked")  # refused before its documents are searched
        library.update_chat("Locked", provider="claude", local_only=True, cloud_consent=["claude"])
    finally:
        library.close()


async def _session_calls(env: dict[str, str], errlog: Any) -> dict[str, Any]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=str(BIN_DIR / "anyllm"), args=["mcp"], env=env)
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        calls = {
            "tools": sorted(t.name for t in tools.tools),
            "list": await session.call_tool("list_workspaces", {}),
            "search": await session.call_tool(
                "search", {"workspace": "FAQ", "query": "unstable sid", "k": 3}
            ),
            "ask": await session.call_tool("ask", {"workspace": "FAQ", "question": QUESTION}),
            "unknown": await session.call_tool("search", {"workspace": "Nowhere", "query": "sid"}),
            "locked": await session.call_tool("ask", {"workspace": "Locked", "question": QUESTION}),
        }
        return calls


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def test_mcp_clients_list_search_and_ask_and_local_only_stays_local(
    anyllm_home: Path, keyless_env: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # as the child: no keyring
    _prepare(anyllm_home)
    env = {**keyless_env, "ANYLLM_HOME": str(anyllm_home)}
    errors = tmp_path / "mcp-stderr.log"
    with errors.open("w", encoding="utf-8") as errlog:
        calls = asyncio.run(asyncio.wait_for(_session_calls(env, errlog), timeout=120))

    assert calls["tools"] == ["ask", "list_workspaces", "search"]
    listed = calls["list"]
    assert not listed.is_error, _text(listed)
    rows = {w["name"]: w for w in listed.structured_content["workspaces"]}
    assert rows["FAQ"]["documents"] == 1 and rows["FAQ"]["local_only"] is False
    assert rows["FAQ"]["provider"] == "local" and rows["FAQ"]["model"]
    assert rows["Locked"]["local_only"] is True and rows["Locked"]["model"] == "claude: claude-x"

    found = calls["search"]
    assert not found.is_error, _text(found)
    passages = found.structured_content["results"]
    assert 1 <= len(passages) <= 3
    assert {"document", "path", "page", "section", "text", "score"} <= set(passages[0])
    assert passages[0]["path"] == str(FAQ)
    assert any("sid" in p["text"] for p in passages)

    asked = calls["ask"]
    assert not asked.is_error, _text(asked)
    answer = asked.structured_content
    assert answer["answer"].strip() and answer["provider"] == "local"
    assert answer["citations"] and answer["citations"][0]["valid"]
    assert answer["citations"][0]["document"] and answer["citations"][0]["path"] == str(FAQ)
    assert "evidence" in answer and "unsupported" in answer

    unknown = calls["unknown"]
    assert unknown.is_error and "'Nowhere'" in _text(unknown) and "'FAQ'" in _text(unknown)

    locked = calls["locked"]
    assert locked.is_error
    assert "'Locked' is local-only" in _text(locked) and "'claude'" in _text(locked)
    # The server said nothing on stdout but the protocol (the client parsed every line), and
    # its stderr carries no traceback.
    assert "Traceback" not in errors.read_text(encoding="utf-8")


def test_stdout_carries_only_the_protocol_and_the_server_ends_with_its_input(
    child_env: dict[str, str],
) -> None:
    from mcp_types import LATEST_PROTOCOL_VERSION

    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "list_workspaces", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "search", "arguments": {"workspace": "Nowhere", "query": "x"}}},
    ]  # fmt: skip
    server = subprocess.Popen(
        [str(BIN_DIR / "anyllm"), "mcp"], env=child_env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert server.stdin is not None and server.stdout is not None
    try:
        server.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
        server.stdin.flush()
        replies: dict[int, dict[str, Any]] = {}
        while 3 not in replies:  # every line must be a JSON-RPC message
            line = server.stdout.readline()
            assert line, "the server ended before answering"
            message = json.loads(line)
            if "id" in message:
                replies[message["id"]] = message
        server.stdin.close()  # the client leaves: the server ends, with exit status 0
        assert server.wait(timeout=30) == 0
        assert server.stdout.read() == ""
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert replies[2]["result"]["structuredContent"] == {"workspaces": []}
    assert replies[3]["result"]["isError"] is True
    assert "no workspace named 'Nowhere'" in replies[3]["result"]["content"][0]["text"]
