"""The one front door for models (providers/registry.py): every kind of model id resolves to
its chat provider or embedder through the runtime, an unknown id or scheme says which kinds
exist, a kind registered later (by code or by a package's entry point) is used like the
built-in ones, and cloud ids are refused while offline before anything is sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from anyllm_desktop.models.embedded import CHAT_MODEL_ID, EMBEDDING_MODEL_ID, smollm2_chat
from anyllm_desktop.providers import registry
from anyllm_desktop.providers.cloud_embeddings import CloudEmbedder
from anyllm_desktop.providers.cloud_http import CloudChatProvider
from anyllm_desktop.providers.fastembed_embedder import FastEmbedEmbedder
from anyllm_desktop.providers.llama_local import LocalLlamaProvider
from anyllm_desktop.providers.model_ids import UnknownModelError, cloud_model_id
from anyllm_desktop.providers.registry import ModelKind, OfflineModeError, model_kind
from anyllm_desktop.services.cloud_providers import add_provider, embedding_models
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store import secrets
from tests.replay_server import Replay

KEY = "sk-registry-PLANTED-7c2e"


@pytest.fixture
def kinds() -> Iterator[None]:
    """The registry as it was, after a test that registers kinds or loads entry points."""
    before, loaded = dict(registry._kinds), registry._plugins_loaded
    yield
    registry._kinds.clear()
    registry._kinds.update(before)
    registry._plugins_loaded = loaded
    registry.load_problems.clear()


@pytest.fixture
def runtime(anyllm_home: Path, server: Replay, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """A runtime with one OpenAI-compatible provider "oa" (on loopback), offline mode on."""
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    runtime = Runtime.open(anyllm_home)
    add_provider(runtime, "oa", "openai", base_url=f"{server.url}/v1", model="gpt-x",
                 api_key=KEY)  # fmt: skip
    return runtime


def test_every_kind_of_model_id_resolves(runtime: Runtime, server: Replay, tmp_path: Path) -> None:
    chat = runtime.create_chat_provider(model=CHAT_MODEL_ID)
    assert isinstance(chat, LocalLlamaProvider) and chat.model_path == smollm2_chat().primary_path
    assert not chat.loaded  # resolving loads nothing
    gguf = tmp_path / "mine-Q4_K_M.gguf"
    assert runtime.create_chat_provider(model=str(gguf)).model_path == gguf
    unsuffixed = tmp_path / "model-file"
    unsuffixed.write_bytes(b"GGUF")
    assert runtime.create_chat_provider(model=str(unsuffixed)).model_path == unsuffixed
    embedder = runtime.create_embedder()
    assert isinstance(embedder, FastEmbedEmbedder) and embedder.dim == 384
    assert runtime.create_token_counter(EMBEDDING_MODEL_ID).count("hello world") == 2

    runtime.settings = replace(runtime.settings, offline_mode=False)
    cloud_chat = runtime.create_chat_provider(model="cloud:oa:gpt-y")
    assert isinstance(cloud_chat, CloudChatProvider) and cloud_chat.model == "gpt-y"
    cloud_id = cloud_model_id("oa", "text-embedding-3-small")
    cloud = runtime.create_embedder(cloud_id)
    assert isinstance(cloud, CloudEmbedder) and cloud.dim == 1536 and not cloud.local
    assert cloud.endpoint.api_key == KEY
    assert runtime.create_token_counter(cloud_id).count("hello world") == 2  # a stand-in
    assert server.requests == []  # building them sent nothing

    assert [model_kind(i).scheme for i in (CHAT_MODEL_ID, str(gguf), cloud_id)] == [
        "embedded", "gguf", "cloud"
    ]  # fmt: skip
    assert model_kind(cloud_id).recipient(cloud_id) == "oa"
    assert model_kind(EMBEDDING_MODEL_ID).recipient(EMBEDDING_MODEL_ID) is None


def test_an_unknown_id_or_scheme_names_the_kinds_there_are(runtime: Runtime) -> None:
    with pytest.raises(UnknownModelError) as unknown_scheme:
        runtime.create_chat_provider(model="hf:org/model")
    message = str(unknown_scheme.value)
    assert "'hf:org/model' is a kind of model id this version does not know (hf:…)" in message
    for kind in ("embedded:NAME", CHAT_MODEL_ID, "cloud:PROVIDER:MODEL", "path of a .gguf file"):
        assert kind in message
    with pytest.raises(UnknownModelError, match=r"Unknown model 'gpt-4'\. A model id is one of"):
        runtime.create_embedder("gpt-4")
    with pytest.raises(KeyError, match="the embedded models are"):
        runtime.create_chat_provider(model="embedded:gone")
    with pytest.raises(UnknownModelError, match="is not an embedding model"):
        runtime.create_embedder("/models/chat.gguf")
    with pytest.raises(UnknownModelError, match="cloud:PROVIDER:MODEL"):
        runtime.create_embedder("cloud:oa")


def test_the_settings_fall_back_from_ids_that_are_not_local_models(anyllm_home: Path) -> None:
    """As before the registry: the settings' models are the local ones."""
    anyllm_home.mkdir(parents=True, exist_ok=True)
    (anyllm_home / "settings.json").write_text(
        '{"version": 1, "chat_model": "cloud:oa:gpt-x", "embedding_model": "hf:org/e"}'
    )
    runtime = Runtime.open(anyllm_home)
    assert (runtime.settings.chat_model, runtime.settings.embedding_model) == (
        CHAT_MODEL_ID, EMBEDDING_MODEL_ID
    )  # fmt: skip
    assert len([w for w in runtime.warnings if "unknown" in w]) == 2


class _Echo:
    """A chat provider that answers nothing (enough to see which one was built)."""

    def __init__(self, model: str) -> None:
        self.model = model


class EchoModels(ModelKind):
    scheme = "echo"
    form = "echo:WORD, a test model"

    def chat(self, model_id: str, home: Any, *, seed: int = 0) -> Any:
        return _Echo(model_id.removeprefix("echo:"))

    def choices(self, home: Any, role: str) -> list[dict[str, Any]]:
        return [{"id": "echo:vectors", "label": "Echo", "local": True}]


def test_a_registered_kind_is_used_like_the_built_in_ones(runtime: Runtime, kinds: None) -> None:
    with pytest.raises(UnknownModelError):
        runtime.create_chat_provider(model="echo:hi")
    registry.register(EchoModels())
    provider: Any = runtime.create_chat_provider(model="echo:hi")
    assert isinstance(provider, _Echo) and provider.model == "hi"
    assert [m["id"] for m in embedding_models(runtime)] == [
        EMBEDDING_MODEL_ID, "cloud:oa:text-embedding-3-small", "echo:vectors"
    ]  # fmt: skip
    with pytest.raises(UnknownModelError, match="echo:WORD, a test model"):
        model_kind("other:x")


def _plugin(folder: Path, name: str, entry_points: str, code: str) -> None:
    """An installed distribution on ``folder`` (as pip leaves one): a module and its
    entry points."""
    (folder / f"{name}.py").write_text(code)
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[anyllm_desktop.models]\n{entry_points}\n")


def test_a_kind_named_by_an_entry_point_is_loaded_when_first_needed(
    runtime: Runtime, kinds: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "from anyllm_desktop.providers.registry import ModelKind\n"
        "class Shout(ModelKind):\n"
        "    scheme = 'shout'\n"
        "    form = 'shout:WORD'\n"
        "    def chat(self, model_id, home, *, seed=0):\n"
        "        return model_id.upper()\n"
    )
    _plugin(tmp_path, "anyllm_shout", "shout = anyllm_shout:Shout", code)
    _plugin(tmp_path, "anyllm_broken", "broken = anyllm_broken:Missing", "")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._plugins_loaded = False
    assert "shout" not in registry._kinds  # nothing loaded on import
    assert runtime.create_chat_provider(model="shout:hi") == "SHOUT:HI"
    [problem] = registry.load_problems
    assert "'broken' (anyllm_broken:Missing) was left out" in problem
    assert problem in Runtime.open(runtime.paths.home).warnings  # said where settings' are


def test_cloud_ids_are_refused_while_offline_before_anything_is_sent(
    runtime: Runtime, server: Replay
) -> None:
    assert runtime.settings.offline_mode  # the default
    with pytest.raises(OfflineModeError, match="Offline mode is on, so 'oa'"):
        runtime.create_chat_provider(model="cloud:oa:gpt-y")
    with pytest.raises(OfflineModeError):
        runtime.create_embedder("cloud:oa:text-embedding-3-small")
    assert server.requests == []
