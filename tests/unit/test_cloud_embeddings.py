"""Cloud embedders against a real HTTP server on loopback answering in each vendor's wire
format (OpenAI-compatible ``/embeddings``, Azure deployments, Gemini ``batchEmbedContents``):
order, normalisation, batching, usage, redaction, dimension probe, and the failures (bad key,
rate limit then success, a wrong answer, no server). The key never shows up in a message."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from anyllm_desktop.core.redaction import Redactions
from anyllm_desktop.providers.cloud_embeddings import (
    AzureOpenAIEmbedder,
    GeminiEmbedder,
    OpenAIEmbedder,
    cloud_model_id,
    parse_cloud_model_id,
)
from anyllm_desktop.providers.cloud_http import Endpoint, ProviderError
from anyllm_desktop.providers.registry import OfflineModeError, UnknownProviderError
from anyllm_desktop.services.cloud_providers import add_provider, embedding_models
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store import secrets
from tests.replay_server import Replay, Reply

KEY = "sk-embed-PLANTED-44d1"


def _json(body: object, status: int = 200) -> Reply:
    return Reply(status, [json.dumps(body).encode()])


def _endpoint(url: str, model: str = "text-embedding-3-small") -> Endpoint:
    return Endpoint(label="Test (OpenAI)", base_url=url, model=model, api_key=KEY, retries=2)


def test_openai_embeddings_come_back_in_order_normalised_with_usage(server: Replay) -> None:
    reports: list[tuple[int, int, Redactions, str]] = []
    embedder = OpenAIEmbedder(_endpoint(f"{server.url}/v1"), name="oa",
                              on_request=lambda *r: reports.append(r))  # fmt: skip
    data = [{"index": 1, "embedding": [0.0, 2.0]}, {"index": 0, "embedding": [3.0, 4.0]}]
    server.replies = [_json({"data": data, "usage": {"prompt_tokens": 7, "total_tokens": 7}})]
    vectors = embedder.embed(["first", "second"])
    assert vectors.dtype == np.float32
    assert np.allclose(vectors, [[0.6, 0.8], [0.0, 1.0]])  # the index orders them, L2 norm 1
    request = server.requests[0]
    assert request["path"] == "/v1/embeddings"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert request["body"] == {"model": "text-embedding-3-small", "input": ["first", "second"]}
    assert [(r[0], r[1], r[3]) for r in reports] == [(7, 2, "")]
    assert embedder.dim == 1536 and embedder.max_input_tokens == 8191  # published, no probe
    assert len(server.requests) == 1


def test_texts_go_in_batches_and_an_unknown_model_is_probed_once(server: Replay) -> None:
    server.respond = lambda _path, body: _json(
        {"data": [{"index": i, "embedding": [1.0, 0.0, 0.0]} for i in range(len(body["input"]))]}
    )
    embedder = OpenAIEmbedder(_endpoint(f"{server.url}/v1", "nomic-embed-text-v2"), name="x")
    assert embedder.embed([f"text {i}" for i in range(200)], batch_size=500).shape == (200, 3)
    assert [len(r["body"]["input"]) for r in server.requests] == [96, 96, 8]
    assert embedder.dim == 3 and embedder.dim == 3
    assert len(server.requests) == 4  # one probe, remembered
    assert embedder.max_input_tokens == 512  # unknown: the common limit is assumed


def test_azure_and_gemini_speak_their_own_formats(server: Replay) -> None:
    azure = AzureOpenAIEmbedder(
        _endpoint(f"{server.url}/openai/deployments/gpt-chat", "embed-deploy"), name="az"
    )
    server.replies = [_json({"data": [{"index": 0, "embedding": [1.0, 0.0]}]})]
    assert azure.embed(["a"]).shape == (1, 2)
    request = server.requests[-1]
    assert request["path"] == "/openai/deployments/embed-deploy/embeddings?api-version=2024-10-21"
    assert request["headers"]["api-key"] == KEY and request["body"] == {"input": ["a"]}

    gemini = GeminiEmbedder(_endpoint(server.url, "gemini-embedding-001"), name="gm")
    server.replies = [_json({"embeddings": [{"values": [0.0, 5.0]}, {"values": [1.0, 0.0]}]})]
    assert np.allclose(gemini.embed(["a", "b"]), [[0.0, 1.0], [1.0, 0.0]])
    request = server.requests[-1]
    assert request["path"] == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert request["headers"]["x-goog-api-key"] == KEY
    assert request["body"]["requests"][1] == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "b"}]},
    }
    assert gemini.dim == 3072


def test_personal_data_is_removed_before_it_leaves_and_counted(server: Replay) -> None:
    reports: list[tuple[int, int, Redactions, str]] = []
    embedder = OpenAIEmbedder(_endpoint(f"{server.url}/v1"), name="oa", redact=True,
                              on_request=lambda *r: reports.append(r))  # fmt: skip
    server.replies = [_json({"data": [{"index": 0, "embedding": [1.0]}]})]
    embedder.embed(["Write to jane.doe@example.org or call +49 30 1234567."])
    sent = server.requests[0]["body"]["input"][0]
    assert "jane.doe" not in sent and "1234567" not in sent and "[email removed]" in sent
    assert dict(reports[0][2].counts) == {"email": 1, "phone": 1}


def test_failures_are_plain_sentences_without_the_key(server: Replay) -> None:
    reports: list[tuple[int, int, Redactions, str]] = []
    embedder = OpenAIEmbedder(_endpoint(f"{server.url}/v1"), name="oa", backoff_s=0.01,
                              on_request=lambda *r: reports.append(r))  # fmt: skip
    server.replies = [_json({"error": {"message": f"Incorrect API key {KEY[:6]}..."}}, 401)]
    with pytest.raises(ProviderError, match="refused the API key") as refused:
        embedder.embed(["a"])
    assert KEY not in str(refused.value) and reports[-1][3]

    server.replies = [_json({"error": {"message": "slow down"}}, 429),
                      _json({"data": [{"index": 0, "embedding": [1.0]}]})]  # fmt: skip
    assert embedder.embed(["a"]).shape == (1, 1)  # retried after the 429

    server.replies = [_json({"data": []})]
    with pytest.raises(ProviderError, match="returned 0 vectors for 1 texts"):
        embedder.embed(["a"])
    server.replies = [_json({"unexpected": True})]
    with pytest.raises(ProviderError, match="not a list of embeddings"):
        embedder.embed(["a"])

    nowhere = OpenAIEmbedder(replace(_endpoint("http://127.0.0.1:9/v1"), retries=0), name="x")
    with pytest.raises(ProviderError, match="Cannot reach"):
        nowhere.embed(["a"])


def test_the_runtime_builds_cloud_embedders_only_when_allowed(
    anyllm_home: Path, server: Replay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    runtime = Runtime.open(anyllm_home)
    add_provider(runtime, "oa", "openai", base_url=f"{server.url}/v1", model="gpt-x",
                 api_key=KEY)  # fmt: skip
    add_provider(runtime, "claude", "anthropic", model="claude-x", api_key=KEY)
    with pytest.raises(ValueError, match="no embeddings API"):
        add_provider(runtime, "c2", "anthropic", model="c", api_key=KEY, embedding_model="e")
    model_id = cloud_model_id("oa", "text-embedding-3-small")
    assert parse_cloud_model_id(model_id) == ("oa", "text-embedding-3-small")
    assert parse_cloud_model_id("embedded:all-minilm-l6-v2-int8") is None
    choices = {m["id"]: m for m in embedding_models(runtime)}
    assert set(choices) == {"embedded:all-minilm-l6-v2-int8", model_id}  # not Anthropic
    assert "cloud.test" in choices[model_id]["label"] and not choices[model_id]["local"]

    assert runtime.settings.offline_mode  # the default
    with pytest.raises(OfflineModeError):
        runtime.create_embedder(model_id)
    runtime.settings = replace(runtime.settings, offline_mode=False)
    with pytest.raises(UnknownProviderError):
        runtime.create_embedder(cloud_model_id("gone", "m"))
    embedder = runtime.create_embedder(model_id)
    assert embedder.endpoint.api_key == KEY and not embedder.local
    assert server.requests == []  # building one sends nothing
    # Chunks for a cloud model are counted with the embedded tokenizer as a stand-in.
    assert runtime.create_token_counter(model_id).count("hello world") == 2
