"""`anyllm adapters` and `anyllm ask --model BASE+ADAPTER_ID` as a user runs them, on the real
embedded SmolLM2 with a random LoRA written by the trainer's exporter: imported, listed, answering
through llama.cpp (differently from the base, greedy, same question), deleted, then refused."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jax
import pytest
from gguf import GGUFReader

from anyllm_desktop.models.embedded import CHAT_MODEL_ID, smollm2_chat
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.training.adapter_gguf import write_adapter
from anyllm_desktop.services.training.lora import LoraSettings, init_lora
from anyllm_desktop.services.training.weights import read_config
from tests.e2e.conftest import ingest
from tests.e2e.test_ingest_cli import anyllm

pytestmark = pytest.mark.e2e

QUESTION = "What is the unstable distribution called?"


def random_smollm2_lora(out: Path) -> Path:
    """A rank-8 LoRA on all seven linear layers of SmolLM2 with B random (B = 0, as training
    starts, would change nothing). B ~ 0.05 N(0,1) changed the greedy answer on one machine and
    not on another (the base copies its one passage; llama.cpp's kernels differ by CPU):
    0.2 N(0,1) changes it plainly ('1. 2016: [1] (note)' against '... is called sid.')."""
    base = smollm2_chat().primary_path
    assert base is not None
    config = read_config(base, GGUFReader(base))
    lora = init_lora(config, LoraSettings(rank=8, alpha=16.0, seed=5))
    key = jax.random.PRNGKey(5)
    for pair in lora.values():
        key, sub = jax.random.split(key)
        pair["b"] = 0.2 * jax.random.normal(sub, pair["b"].shape)
    return write_adapter(out, lora, config, alpha=16.0, name="random SmolLM2 LoRA")


def test_import_list_ask_with_the_adapter_delete(
    child_env: dict[str, str], library: Library, tmp_path: Path
) -> None:
    runtime = library.runtime
    # One llama.cpp thread: two spin-wait for each other on the shared 2-core box.
    runtime.settings_store.save(replace(runtime.settings, threads=1))
    library.create_workspace("W")
    notes = tmp_path / "notes.txt"
    notes.write_text("The unstable distribution of Debian is always called sid. Testing is the "
                     "next release in preparation.\n")  # fmt: skip
    ingest(library, "W", notes)
    library.update_chat("W", max_answer_tokens=16)
    adapter = random_smollm2_lora(tmp_path / "smollm2-lora.gguf")

    imported = anyllm(child_env, "adapters", "import", str(adapter), "--base", CHAT_MODEL_ID,
                      "--name", "Random", "--json")  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    adapter_id = json.loads(imported.stdout)["id"]
    listed = json.loads(anyllm(child_env, "adapters", "list", "--json").stdout)["adapters"]
    assert [(a["id"], a["name"], a["base"]) for a in listed] == [
        (adapter_id, "Random", CHAT_MODEL_ID)
    ]
    model = listed[0]["model"]
    assert model == f"{CHAT_MODEL_ID}+{adapter_id}"
    shown = json.loads(anyllm(child_env, "adapters", "show", adapter_id, "--json").stdout)
    assert shown["settings"]["rank"] == 8 and shown["base_sha256"] == smollm2_chat().files[0].sha256

    answers = {}
    for label, chosen in (("base", []), ("adapter", ["--model", model])):
        asked = anyllm(child_env, "ask", "-w", "W", QUESTION, *chosen, "--json")
        assert asked.returncode == 0, asked.stderr
        answers[label] = json.loads(asked.stdout)["answer"]
    assert answers["base"] and answers["adapter"]
    assert answers["adapter"] != answers["base"]  # greedy both times: the LoRA changed it

    deleted = anyllm(child_env, "adapters", "delete", adapter_id, "--json")
    assert deleted.returncode == 0 and json.loads(deleted.stdout)["deleted"] == adapter_id
    assert json.loads(anyllm(child_env, "adapters", "list", "--json").stdout)["adapters"] == []
    refused = anyllm(child_env, "ask", "-w", "W", QUESTION, "--model", model)
    assert refused.returncode == 2
    assert f"There is no adapter '{adapter_id}'" in refused.stderr
    assert "anyllm adapters list" in refused.stderr
