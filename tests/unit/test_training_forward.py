"""The JAX forward pass reproduces llama.cpp's logits on a tiny random llama-family GGUF."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from llama_cpp import Llama

from anyllm_desktop.services.training import evaluation
from anyllm_desktop.services.training.llama_jax import base_params, forward
from anyllm_desktop.services.training.weights import LlamaWeights, load_weights
from tests.tiny_gguf import write_tiny_gguf

CHAT = (
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
    "<|im_start|>assistant\nParis is the capital of France.<|im_end|>\n"
)


def llama_cpp_logits(path: Path, tokens: list[int], lora: Path | None = None) -> np.ndarray:
    """llama.cpp's logits at every position of ``tokens``, on one thread (prompts too: two
    threads spin-wait for each other on the shared 2-core box, ENVIRONMENT.md)."""
    llm = evaluation.open_llama(path, lora=lora, context=256, threads=1)
    llm.eval(tokens)
    scores = np.array(llm.scores[: len(tokens)])
    llm.close()
    return scores


def tokenize(path: Path, text: str) -> list[int]:
    llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return list(llm.tokenize(text.encode(), add_bos=False, special=True))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, LlamaWeights]]:
    """The tiny model of an architecture, written and read once per module."""
    models: dict[str, tuple[Path, LlamaWeights]] = {}

    def get(architecture: str) -> tuple[Path, LlamaWeights]:
        if architecture not in models:
            path = write_tiny_gguf(tmp_path_factory.mktemp(architecture), architecture)
            models[architecture] = (path, load_weights(path))
        return models[architecture]

    return get


@pytest.mark.parametrize("architecture", ["llama", "qwen2"])
def test_jax_logits_match_llama_cpp(
    tiny: Callable[[str], tuple[Path, LlamaWeights]], architecture: str
) -> None:
    path, weights = tiny(architecture)
    tokens = tokenize(path, CHAT)
    expected = llama_cpp_logits(path, tokens)
    params = base_params(weights)
    got = np.asarray(forward(params, weights.config, jnp.asarray([tokens])))[0]
    # Measured 0.015-0.019 at logits of std ~3: llama.cpp keeps K and V in float16.
    assert np.abs(got - expected).max() < 0.1
    assert (got.argmax(-1) == expected.argmax(-1)).all()
    # The other rope layout is far off (measured max |diff| ~13, top-1 5-14%): the check above
    # tells the layouts apart.
    swapped = dataclasses.replace(weights.config, rope_neox=not weights.config.rope_neox)
    wrong = np.asarray(forward(params, swapped, jnp.asarray([tokens])))[0]
    assert np.abs(wrong - expected).max() > 1.0


def test_logits_at_chosen_positions_equal_the_full_ones(
    tiny: Callable[[str], tuple[Path, LlamaWeights]],
) -> None:
    weights = tiny("llama")[1]
    params = base_params(weights)
    tokens = jnp.asarray([[5, 17, 300, 4000, 12, 9, 77, 2], [8, 8, 1000, 3, 44, 5, 6, 7]])
    full = np.asarray(forward(params, weights.config, tokens))
    index = jnp.asarray([[1, 6], [0, 7]])
    chosen = np.asarray(forward(params, weights.config, tokens, logit_index=index))
    assert chosen.shape == (2, 2, weights.config.vocab_size)
    np.testing.assert_allclose(chosen[0], full[0, [1, 6]], atol=1e-4)
    np.testing.assert_allclose(chosen[1], full[1, [0, 7]], atol=1e-4)


def test_a_non_llama_architecture_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path, "gpt2")
    with pytest.raises(ValueError, match=r"tiny-gpt2\.gguf: its architecture is 'gpt2'"):
        load_weights(path)


def test_a_tensor_type_numpy_cannot_unpack_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path, q8_1_tensor=True)
    with pytest.raises(ValueError, match=r"tiny-llama-q8_1\.gguf: tensor blk\.0\.ffn_down.* Q8_1"):
        load_weights(path)
