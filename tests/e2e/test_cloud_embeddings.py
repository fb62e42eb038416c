"""A workspace switched to a cloud embedder from the CLI, end to end: the loopback server speaks
the OpenAI ``/embeddings`` format and computes real vectors with the embedded all-MiniLM-L6-v2
(so search results mean something). Offline mode and the agreement refuse before any request;
the switch, later ingests and every query go through the provider and are logged without their
text; a failing provider fails the new files with the reason and keeps the store intact; the
workspace switches back to the local model offline."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.services.chat import ChatService
from anyllm_desktop.services.cloud_providers import add_provider
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store import secrets
from tests.e2e.conftest import DATA, ingest, passages_in_table
from tests.e2e.test_cloud_cli import KEY
from tests.e2e.test_ingest_cli import anyllm
from tests.replay_server import Replay, Reply

pytestmark = pytest.mark.e2e

CLOUD = "cloud:emb:minilm-over-http"
LOCAL = "embedded:all-minilm-l6-v2-int8"


def _serve_minilm(server: Replay, anyllm_home: Path) -> None:
    embedder = Runtime.open(anyllm_home).create_embedder()

    def respond(path: str, body: dict[str, object]) -> Reply:
        assert path == "/v1/embeddings"
        texts = list(body["input"])  # type: ignore[call-overload]
        vectors = 3.0 * embedder.embed(texts)  # not normalised: the client does that
        data = [{"index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
        usage = {"prompt_tokens": sum(len(t.split()) for t in texts)}
        return Reply(chunks=[json.dumps({"data": data, "usage": usage}).encode()])

    server.respond = respond


def _search(env: dict[str, str], query: str) -> list[dict[str, object]]:
    found = anyllm(env, "search", "-w", "FAQ", query, "-k", "1", "--json")
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)["results"]


def test_a_workspace_embedded_by_a_cloud_provider(
    keyless_env: dict[str, str], anyllm_home: Path, server: Replay
) -> None:
    env = keyless_env
    added = anyllm(env, "providers", "add", "emb", "--kind", "openai-compatible", "--base-url",
                   f"{server.url}/v1", "--api-key", KEY, "--model", "chat-x",
                   "--embedding-model", "minilm-over-http")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert anyllm(env, "workspace", "create", "FAQ").returncode == 0
    faq = str(DATA / "debian-faq-archives.html")
    assert anyllm(env, "ingest", "-w", "FAQ", faq).returncode == 0
    local_top = _search(env, "Toy Story codenames")[0]

    listed = json.loads(anyllm(env, "workspace", "embedder", "FAQ", "--json").stdout)
    assert listed["embedding_model"] == LOCAL
    assert [c["id"] for c in listed["choices"]] == [LOCAL, CLOUD]

    # Offline (the default), then without the agreement: refused, nothing sent.
    offline = anyllm(env, "workspace", "embedder", "FAQ", CLOUD, "--send-to-cloud")
    assert offline.returncode == 2 and "Offline mode is on" in offline.stderr
    assert anyllm(env, "offline", "off").returncode == 0
    unasked = anyllm(env, "workspace", "embedder", "FAQ", CLOUD)
    assert unasked.returncode == 2, unasked.stderr
    assert "sends the text of all" in unasked.stderr and "cloud.test" in unasked.stderr
    assert "--send-to-cloud" in unasked.stderr
    assert server.requests == []

    _serve_minilm(server, anyllm_home)
    switched = anyllm(env, "workspace", "embedder", "FAQ", CLOUD, "--send-to-cloud", "--json")
    assert switched.returncode == 0, switched.stderr
    passages = json.loads(switched.stdout)["passages"]
    assert passages > 20
    sent = sum(len(r["body"]["input"]) for r in server.requests)
    assert sent == passages + 1  # every passage, and one probe for the vector size
    assert all(r["headers"]["Authorization"] == f"Bearer {KEY}" for r in server.requests)
    workspaces = json.loads(anyllm(env, "workspace", "list", "--json").stdout)["workspaces"]
    assert workspaces[0]["embedding_model"] == CLOUD

    before = len(server.requests)
    cloud_top = _search(env, "Toy Story codenames")[0]
    assert server.requests[before]["body"]["input"] == ["Toy Story codenames"]
    assert cloud_top["section"] == local_top["section"] and "codenames" in cloud_top["section"]

    added_file = anyllm(env, "ingest", "-w", "FAQ", str(DATA / "nodejs-string-decoder.md"))
    assert added_file.returncode == 0, added_file.stderr
    assert "StringDecoder" in json.dumps(server.requests[-1]["body"])  # embedded over there
    assert "string-decoder" in str(_search(env, "StringDecoder write buffer")[0]["path"])

    # The provider fails: the new file fails with the reason, the rest stays searchable.
    server.replies = [Reply(401, [b'{"error": {"message": "key revoked"}}'])]
    failed = anyllm(env, "ingest", "-w", "FAQ", str(DATA / "live-manual-fr-cp1252.txt"))
    assert failed.returncode == 1
    assert "the embedding provider failed" in failed.stdout and "refused the API key" in (
        failed.stdout
    )
    docs = json.loads(anyllm(env, "docs", "-w", "FAQ", "--json").stdout)["documents"]
    assert sorted(d["status"] for d in docs) == ["indexed", "indexed"]
    assert _search(env, "Toy Story codenames")[0]["section"] == cloud_top["section"]

    # Every request is in the outbound log: tokens and counts, never text or key.
    log = (anyllm_home / "logs" / "outbound.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in log.splitlines()]
    assert {e["kind"] for e in entries} == {"embeddings"}
    assert len(entries) == len(server.requests)
    assert [e["texts"] for e in entries] == [len(r["body"]["input"]) for r in server.requests]
    assert [e["ok"] for e in entries].count(False) == 1  # the refused key
    assert "Toy Story" not in log and "StringDecoder" not in log and KEY not in log

    # Offline again: a query is refused with the reason (no request); back to the local model.
    assert anyllm(env, "offline", "on").returncode == 0
    count = len(server.requests)
    refused = anyllm(env, "search", "-w", "FAQ", "Toy Story codenames")
    assert refused.returncode == 2 and "Offline mode is on" in refused.stderr
    back = anyllm(env, "workspace", "embedder", "FAQ", LOCAL, "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["passages"] == sum(d["chunks"] for d in docs)
    assert _search(env, "Toy Story codenames")[0]["section"] == local_top["section"]
    assert len(server.requests) == count
    for path in anyllm_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def _hashed_vectors(path: str, body: dict[str, object]) -> Reply:
    """Vectors from word hashes: enough for the plumbing, no model needed."""
    rows = []
    for text in body["input"]:  # type: ignore[attr-defined]
        row = [0.0] * 16
        for word in str(text).lower().split():
            row[hash(word) % 16] += 1.0
        rows.append({"index": len(rows), "embedding": row})
    return Reply(chunks=[json.dumps({"data": rows}).encode()])


def test_the_lock_a_failing_switch_and_a_cancelled_one_keep_the_workspace(
    library: Library, server: Replay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    runtime = library.runtime
    add_provider(runtime, "emb", "openai-compatible", base_url=f"{server.url}/v1",
                 model="chat-x", embedding_model="hashed-16")  # fmt: skip
    runtime.settings = replace(runtime.settings, offline_mode=False)
    model = "cloud:emb:hashed-16"
    library.create_workspace("FAQ")
    ingest(library, "FAQ", DATA / "debian-faq-archives.html")
    passages = passages_in_table(library, "FAQ")

    # The provider fails after the first batch: the switch stops, the old index serves.
    server.replies = [_hashed_vectors("", {"input": ["probe"]})]
    server.replies += [Reply(400, [b'{"error": {"message": "bad input"}}'])]
    events = list(library.reembed("FAQ", model, CancelToken(), agreed=True))
    assert isinstance(events[-1], Error) and "Re-embedding stopped" in events[-1].message
    assert "rejected the request (HTTP 400)" in events[-1].message
    assert "keeps its old model" in events[-1].message
    assert library.workspace("FAQ").embedding_model == LOCAL
    assert passages_in_table(library, "FAQ") == passages
    assert library.search("FAQ", "Toy Story codenames")[0].section

    # Cancelled (before its first batch: these 23 passages are one request): the same.
    server.respond = _hashed_vectors
    cancel = CancelToken()
    cancel.cancel()
    events = list(library.reembed("FAQ", model, cancel, agreed=True))
    assert isinstance(events[-1], Error) and "cancelled" in events[-1].message
    assert library.workspace("FAQ").embedding_model == LOCAL

    done = list(library.reembed("FAQ", model, CancelToken(), agreed=True))[-1]
    assert isinstance(done, Done) and done.result["passages"] == passages
    assert library.search("FAQ", "Toy Story codenames")  # through the provider

    # Locked to local models: the cloud embedder is refused everywhere, with the way out.
    library.update_chat("FAQ", local_only=True)
    sent = len(server.requests)
    with pytest.raises(ProviderError, match="locked to local models"):
        library.search("FAQ", "anything")
    results = ingest(library, "FAQ", DATA / "nodejs-string-decoder.md")
    assert results[0].status == "failed" and "locked to local models" in results[0].reason
    host = ModelHost(runtime.create_chat_provider())
    answer = list(ChatService(library, host).ask("FAQ", "What is sid?"))
    host.close()
    assert isinstance(answer[-1], Error) and "could not be searched" in answer[-1].message
    assert len(server.requests) == sent
