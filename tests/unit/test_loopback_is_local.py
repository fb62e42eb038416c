"""A provider whose server is on loopback (Ollama, LM Studio, llama.cpp's server on 127.0.0.1)
is this computer, not a cloud: offline mode allows it, no agreement is asked, nothing is logged
as outbound, and it is labelled "on this computer". A provider on any other host stays a cloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyllm_desktop.core.hosts import is_loopback, is_loopback_url
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.providers.cloud_presets import on_this_computer
from anyllm_desktop.providers.model_ids import cloud_model_id
from anyllm_desktop.providers.registry import OfflineModeError, model_kind
from anyllm_desktop.services import outbound
from anyllm_desktop.services.cloud_providers import add_provider, embedding_models, list_providers
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.workflows.models import cloud_destination
from anyllm_desktop.store import secrets
from tests.replay_server import Replay, Reply


@pytest.fixture
def runtime(anyllm_home: Path, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    runtime = Runtime.open(anyllm_home)
    assert runtime.settings.offline_mode  # the default, and it stays on throughout
    return runtime


def test_which_hosts_are_this_computer() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["10.0.0.2", "192.168.1.5", "api.openai.com", "cloud.test"]))
    assert is_loopback_url("http://127.0.0.1:11434/v1") and is_loopback_url("http://[::1]:1234")
    assert not is_loopback_url("https://api.openai.com/v1") and not is_loopback_url("not a url")
    assert on_this_computer({"kind": "ollama", "base_url": ""})  # Ollama's usual address
    assert not on_this_computer({"kind": "openai", "base_url": ""})


def test_a_loopback_server_is_used_in_offline_mode_without_an_agreement(
    runtime: Runtime, server: Replay
) -> None:
    add_provider(runtime, "lm", "openai-compatible", base_url=f"{server.loopback_url}/v1",
                 model="qwen", embedding_model="nomic")  # fmt: skip
    add_provider(runtime, "far", "openai-compatible", base_url=f"{server.url}/v1",
                 model="gpt", embedding_model="emb")  # fmt: skip

    near = runtime.create_chat_provider(provider="lm")
    assert near.capabilities.local and not near.capabilities.grammar
    workspace = Workspace(id=1, name="W", created_at=0.0, embedding_model="e", vector_table="w")
    assert outbound.refusal(workspace, near) is None  # no agreement asked
    with pytest.raises(OfflineModeError, match="'far' \\(a cloud provider\\)"):
        runtime.create_chat_provider(provider="far")

    assert model_kind("cloud:lm:nomic").recipient("cloud:lm:nomic", runtime) is None
    assert model_kind("cloud:far:emb").recipient("cloud:far:emb", runtime) == "far"
    assert cloud_destination(runtime, cloud_model_id("lm", "qwen")) is None  # workflows
    assert cloud_destination(runtime, cloud_model_id("far", "gpt")) == ("far", "cloud.test")

    rows = {row["name"]: row for row in list_providers(runtime)}
    assert rows["lm"]["local"] and not rows["far"]["local"]
    labels = {m["id"]: m for m in embedding_models(runtime)}
    assert labels["cloud:lm:nomic"]["local"]
    assert "on this computer" in labels["cloud:lm:nomic"]["label"]
    assert "sends your documents to cloud.test" in labels["cloud:far:emb"]["label"]
    assert server.requests == []  # nothing was asked of either server


def test_a_provider_added_without_a_model_takes_its_servers_first(
    runtime: Runtime, server: Replay
) -> None:
    server.replies = [Reply(chunks=[b'{"data": [{"id": "zeta-7b"}, {"id": "alpha-1b"}]}'])]
    add_provider(runtime, "ollama", "ollama", base_url=f"{server.loopback_url}/v1")
    (config,) = runtime.settings.providers
    assert config["model"] == "zeta-7b"  # first listed, not first sorted
    assert [r["path"] for r in server.requests] == ["/v1/models"]

    with pytest.raises(ValueError, match=r"Offline mode is on.*--model"):
        add_provider(runtime, "far", "openai-compatible", base_url=f"{server.url}/v1")
    server.replies = [Reply(chunks=[b'{"data": []}'])]
    with pytest.raises(ValueError, match="lists no models"):
        add_provider(runtime, "empty", "openai-compatible", base_url=f"{server.loopback_url}/v1")
    assert [p["name"] for p in runtime.settings.providers] == ["ollama"]
