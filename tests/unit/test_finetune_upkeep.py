"""Keeping fine-tuning's results consistent (issue 17): deleting an adapter that a workspace
answers with puts that workspace back on the default model (and the CLI says so); re-adding or
editing a cloud provider keeps the models fine-tuned there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyllm_desktop.cli import main
from anyllm_desktop.models.adapters import AdapterCard, AdapterStore
from anyllm_desktop.models.embedded import CHAT_MODEL_ID
from anyllm_desktop.services.cloud_finetune import _add_model
from anyllm_desktop.services.cloud_providers import add_provider, list_providers
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store import secrets

TUNED = "ft:gpt-4o-mini:acme:faq:abc123"


def test_deleting_an_adapter_resets_the_workspaces_that_answer_with_it(
    anyllm_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "adapter.gguf"
    fake.write_bytes(b"GGUF not read by add")
    store = AdapterStore(Runtime.open(anyllm_home).paths)
    used = store.add(fake, AdapterCard(name="support", architecture="llama"))
    other = store.add(fake, AdapterCard(name="other", architecture="llama"))
    library = Library(Runtime.open(anyllm_home))
    try:
        for name in ("Uses it", "Uses another", "Default"):
            library.create_workspace(name)
        library.update_chat("Uses it", provider="local", model=f"{CHAT_MODEL_ID}+{used.id}")
        library.update_chat("Uses another", provider="local", model=f"{CHAT_MODEL_ID}+{other.id}")
    finally:
        library.close()

    assert main(["adapters", "delete", used.id]) == 0
    said = capsys.readouterr().out
    assert f"deleted the adapter support ({used.id})" in said
    assert "'Uses it' answered with it" in said and "default model" in said
    assert "Uses another" not in said

    library = Library(Runtime.open(anyllm_home))
    try:
        chats = {w.name: (w.chat.provider, w.chat.model) for w in library.workspaces()}
    finally:
        library.close()
    assert chats == {"Uses it": ("", ""), "Default": ("", ""),
                     "Uses another": ("local", f"{CHAT_MODEL_ID}+{other.id}")}  # fmt: skip

    assert main(["adapters", "delete", other.id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["workspaces_reset"] == ["Uses another"]
    assert AdapterStore(Runtime.open(anyllm_home).paths).list() == []


def test_re_adding_or_editing_a_provider_keeps_its_fine_tuned_models(
    anyllm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    runtime = Runtime.open(anyllm_home)
    add_provider(runtime, "oa", "openai", model="gpt-x", api_key="sk-1")
    add_provider(runtime, "other", "openai", model="gpt-x", api_key="sk-2")
    _add_model(runtime, "oa", TUNED)  # what a finished cloud fine-tuning does

    # The provider dialog's save and `anyllm providers add` with the same name: an edit.
    add_provider(runtime, "oa", "openai", model="gpt-y", api_key="sk-3")
    reopened = {p["name"]: p for p in list_providers(Runtime.open(anyllm_home))}
    assert reopened["oa"]["model"] == "gpt-y"
    assert reopened["oa"]["extra_models"] == TUNED
    assert "extra_models" not in reopened["other"]
