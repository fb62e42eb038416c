"""LoRA adapters as models (issue 17): the store (add, list, get, delete, import and what it
refuses), and ``BASE+ADAPTER_ID`` resolved through the registry to llama.cpp on the base file
with the adapter, on the tiny random-weight GGUF and adapters written by the trainer's exporter."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from anyllm_desktop.models.adapters import (
    ADAPTER_ID,
    IMPORTED,
    AdapterCard,
    AdapterError,
    AdapterStore,
    BaseModel,
    UnknownAdapterError,
)
from anyllm_desktop.models.embedded import CHAT_MODEL_ID, smollm2_chat
from anyllm_desktop.providers.registry import kinds, model_kind
from anyllm_desktop.services.adapter_models import AdapterModels
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.training.adapter_gguf import write_adapter
from anyllm_desktop.services.training.lora import LoraSettings, init_lora
from anyllm_desktop.services.training.weights import load_weights
from anyllm_desktop.services.workflows.models import identity
from tests.tiny_gguf import write_tiny_gguf
from tests.unit.test_training_forward import llama_cpp_logits, tokenize


def random_adapter(model: Path, out: Path, seed: int = 3) -> Path:
    """A rank-4 LoRA on every linear layer of ``model`` with B random (not zero), so it
    changes the model's logits."""
    config = load_weights(model).config
    lora = init_lora(config, LoraSettings(rank=4, alpha=8.0, seed=seed))
    key = jax.random.PRNGKey(seed)
    for pair in lora.values():
        key, sub = jax.random.split(key)
        pair["b"] = 0.5 * jax.random.normal(sub, pair["b"].shape)
    return write_adapter(out, lora, config, alpha=8.0, name=f"random {config.architecture} LoRA")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("adapters")
    llama, qwen2 = write_tiny_gguf(folder), write_tiny_gguf(folder, "qwen2")
    return {"llama": llama, "qwen2": qwen2,
            "adapter": random_adapter(llama, folder / "llama-lora.gguf"),
            "qwen2-adapter": random_adapter(qwen2, folder / "qwen2-lora.gguf")}  # fmt: skip


@pytest.fixture
def runtime(anyllm_home: Path) -> Runtime:
    return Runtime.open(anyllm_home)


def tiny_base(files: dict[str, Path]) -> BaseModel:
    return BaseModel(str(files["llama"]), "tiny random llama", files["llama"])


def test_add_list_get_delete_with_unique_readable_ids(
    runtime: Runtime, files: dict[str, Path]
) -> None:
    store = AdapterStore(runtime.paths)
    card = AdapterCard(name="Support answers!", architecture="llama",
                       settings={"rank": 4, "alpha": 8.0}, results={"loss_after": 0.5})  # fmt: skip
    first = store.add(files["adapter"], card)
    second = store.add(files["adapter"], AdapterCard(name="Support answers!", architecture="llama"))
    assert first.id.startswith("support-answers-") and ADAPTER_ID.fullmatch(first.id)
    assert second.id != first.id
    assert [c.id for c in store.list()] == [first.id, second.id]
    kept = store.get(first.id)
    assert kept.results == {"loss_after": 0.5} and kept.created > 0 and len(kept.sha256) == 64
    assert store.file(first.id).read_bytes() == files["adapter"].read_bytes()
    store.delete(first.id)
    assert [c.id for c in store.list()] == [second.id]
    assert sorted(p.name for p in store.root.iterdir()) == [second.id]  # no staging left
    with pytest.raises(UnknownAdapterError) as missing:
        store.get(first.id)
    assert first.id in str(missing.value) and second.id in str(missing.value)


def test_import_reads_the_adapter_and_refuses_other_files_with_the_reason(
    runtime: Runtime, files: dict[str, Path], tmp_path: Path
) -> None:
    store = AdapterStore(runtime.paths)
    with pytest.raises(AdapterError, match=r"tiny-llama\.gguf is not a LoRA adapter: its "
                       r"general\.type is 'model'"):  # fmt: skip
        store.import_file(files["llama"])
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(AdapterError, match=r"notes\.gguf is not a GGUF file"):
        store.import_file(text)
    with pytest.raises(AdapterError) as wrong:
        store.import_file(files["qwen2-adapter"], tiny_base(files))
    assert "'qwen2' models, but tiny random llama is 'llama'" in str(wrong.value)
    assert store.list() == []  # nothing kept from a refusal

    card = store.import_file(files["adapter"], tiny_base(files), name="From elsewhere")
    assert (card.name, card.source, card.architecture) == ("From elsewhere", IMPORTED, "llama")
    assert card.settings["rank"] == 4 and card.settings["alpha"] == 8.0
    assert card.settings["layers"] == 2 and "ffn_down" in card.settings["targets"]
    assert card.base_model == str(files["llama"]) and card.base_sha256
    assert card.origin == str(files["adapter"].resolve())


def test_base_plus_adapter_ids_resolve_to_llama_cpp_with_the_adapter(
    runtime: Runtime, files: dict[str, Path], tmp_path: Path
) -> None:
    store = AdapterStore(runtime.paths)
    made_for_tiny = store.import_file(files["adapter"], tiny_base(files), name="tiny")
    for model_id in (f"{files['llama']}+{made_for_tiny.id}", f"{CHAT_MODEL_ID}+abc-123456"):
        assert isinstance(model_kind(model_id), AdapterModels)
    assert not isinstance(model_kind(str(files["llama"])), AdapterModels)
    assert model_kind("cloud:acme:gpt+abc-123456").recipient("cloud:acme:gpt+abc-123456") == "acme"

    provider = runtime.create_chat_provider(model=f"{files['llama']}+{made_for_tiny.id}")
    assert provider.model_path == files["llama"]  # type: ignore[attr-defined]
    assert provider.lora_path == store.file(made_for_tiny.id)  # type: ignore[attr-defined]
    base = runtime.create_chat_provider(model=str(files["llama"]))
    assert identity(provider) != identity(base)  # workflow caches keep their answers apart
    tokens = tokenize(files["llama"], "<|im_start|>user\nWhat colour is the sky?<|im_end|>\n")
    changed = llama_cpp_logits(files["llama"], tokens, provider.lora_path)  # type: ignore[attr-defined]
    assert np.abs(changed - llama_cpp_logits(files["llama"], tokens)).max() > 1.0

    # The base's sha256 is on the card: another llama file is refused, naming both.
    with pytest.raises(AdapterError) as other:
        runtime.create_chat_provider(model=f"{CHAT_MODEL_ID}+{made_for_tiny.id}")
    assert "made for tiny random llama" in str(other.value)
    assert smollm2_chat().name in str(other.value)
    # Without a named base, architecture and layer shapes are checked: SmolLM2 is a llama
    # too, but of other sizes (llama.cpp would load it and leave the adapter out unsaid).
    anywhere = store.import_file(files["adapter"], name="any llama")
    with pytest.raises(AdapterError) as unfit:
        runtime.create_chat_provider(model=f"{CHAT_MODEL_ID}+{anywhere.id}")
    assert (f"The adapter 'any llama' ({anywhere.id}) does not fit {smollm2_chat().name}: its "
            "blk.0.attn_q.weight is 64→64, the model has 576→576") in str(unfit.value)  # fmt: skip
    same_shapes = write_tiny_gguf(tmp_path, seed=99)  # another file, the same sizes
    on_it = runtime.create_chat_provider(model=f"{same_shapes}+{anywhere.id}")
    assert on_it.lora_path == store.file(anywhere.id)  # type: ignore[attr-defined]


def test_an_unknown_adapter_is_named_with_the_ones_there_are(
    runtime: Runtime, files: dict[str, Path]
) -> None:
    kept = AdapterStore(runtime.paths).import_file(files["adapter"], name="kept")
    with pytest.raises(UnknownAdapterError) as unknown:
        runtime.create_chat_provider(model=f"{files['llama']}+gone-abcdef")
    assert "'gone-abcdef'" in str(unknown.value) and f"{kept.id} (kept)" in str(unknown.value)


def test_adapters_with_a_known_base_are_chat_choices(
    runtime: Runtime, files: dict[str, Path]
) -> None:
    store = AdapterStore(runtime.paths)
    listed = store.import_file(files["adapter"], tiny_base(files), name="Support")
    store.import_file(files["adapter"], name="no base")  # usable as BASE+ID, not listed
    rows = [row for kind in kinds() for row in kind.choices(runtime, "chat")]
    assert rows == [{"id": f"{files['llama']}+{listed.id}", "local": True,
                     "label": "tiny random llama + Support (on this computer)"}]  # fmt: skip
