"""LoRA training on the tiny GGUF: the answer mask, the loss falling, resume, and an exported
adapter that llama.cpp loads and applies exactly as the JAX model does."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from llama_cpp import Llama

from anyllm_desktop.services.training.adapter_gguf import write_adapter
from anyllm_desktop.services.training.examples import TokenizedExample, tokenize_chat
from anyllm_desktop.services.training.llama_jax import base_params, forward
from anyllm_desktop.services.training.lora import LoraSettings, train, training_steps
from anyllm_desktop.services.training.weights import LlamaWeights, load_weights
from tests.tiny_gguf import write_tiny_gguf
from tests.unit.test_training_forward import llama_cpp_logits

PAIRS = [
    ("What colour is the sky?", "The sky is blue."),
    ("Name a fruit.", "An apple."),
    ("What is two plus two?", "Two plus two is four."),
    ("Say hello.", "Hello there!"),
]
SETTINGS = LoraSettings(rank=4, alpha=8.0, learning_rate=2e-2, epochs=8, batch_size=4)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LlamaWeights]:
    path = write_tiny_gguf(tmp_path_factory.mktemp("tiny"))
    return path, load_weights(path)


@pytest.fixture(scope="module")
def examples(tiny: tuple[Path, LlamaWeights]) -> list[TokenizedExample]:
    vocab = Llama(model_path=str(tiny[0]), vocab_only=True, verbose=False)
    return [
        tokenize_chat(vocab, [{"role": "user", "content": q}, {"role": "assistant", "content": a}])
        for q, a in PAIRS
    ]


def test_the_answer_mask_covers_the_reply_and_its_end_of_turn(
    tiny: tuple[Path, LlamaWeights], examples: list[TokenizedExample]
) -> None:
    vocab = Llama(model_path=str(tiny[0]), vocab_only=True, verbose=False)
    example = examples[0]
    answer = [t for t, m in zip(example.tokens, example.answer_mask, strict=True) if m]
    prompt = [t for t, m in zip(example.tokens, example.answer_mask, strict=True) if not m]
    assert vocab.detokenize(answer, special=True).decode() == "The sky is blue.<|im_end|>\n"
    assert (
        vocab.detokenize(prompt, special=True)
        .decode()
        .endswith("What colour is the sky?<|im_end|>\n<|im_start|>assistant\n")
    )


def test_a_few_steps_lower_the_loss_stop_and_resume_continue_the_same_run(
    tiny: tuple[Path, LlamaWeights], examples: list[TokenizedExample]
) -> None:
    losses: list[float] = []
    final = train(tiny[1], examples, SETTINGS, on_step=lambda p: losses.append(p.loss))
    assert len(losses) == SETTINGS.epochs
    assert losses[-1] < 0.5 * losses[0], losses
    # A cancel check between steps ends the run with the state it reached.
    assert train(tiny[1], examples, SETTINGS, should_stop=lambda: True).step == 1
    # Stopped after 3 steps and resumed from the yielded state: the same LoRA at the end.
    first = list(zip(range(3), training_steps(tiny[1], examples, SETTINGS), strict=False))
    resumed = list(training_steps(tiny[1], examples, SETTINGS, resume=first[-1][1].state))
    assert [p.step for p in resumed] == list(range(4, SETTINGS.epochs + 1))
    np.testing.assert_allclose(
        np.asarray(resumed[-1].state.lora["attn_q"]["b"]),
        np.asarray(final.lora["attn_q"]["b"]),
        rtol=1e-4,
        atol=1e-6,
    )


def test_keeping_the_linear_outputs_trains_the_same_lora_from_one_copy_of_the_weights(
    tiny: tuple[Path, LlamaWeights], examples: list[TokenizedExample]
) -> None:
    settings = dataclasses.replace(SETTINGS, epochs=2)
    runs = [
        list(training_steps(tiny[1], examples, settings, keep_linear=keep))
        for keep in (False, True)
    ]
    recomputed, kept = (run[-1] for run in runs)
    assert kept.loss == pytest.approx(recomputed.loss, rel=1e-5)
    np.testing.assert_allclose(
        np.asarray(kept.state.lora["ffn_down"]["b"]),
        np.asarray(recomputed.state.lora["ffn_down"]["b"]),
        rtol=1e-4,
        atol=1e-6,
    )
    # The device arrays use the numpy buffers the weights hold: the model is in memory once.
    params = base_params(tiny[1])
    assert (
        params["embed"].unsafe_buffer_pointer() == tiny[1].tensors["token_embd.weight"].ctypes.data
    )
    stacked = params["layers"]["ffn_up"].unsafe_buffer_pointer()
    assert tiny[1].tensors["blk.0.ffn_up.weight"].ctypes.data == stacked


def test_examples_longer_than_the_maximum_are_refused_by_number(
    tiny: tuple[Path, LlamaWeights], examples: list[TokenizedExample]
) -> None:
    short = dataclasses.replace(SETTINGS, max_length=len(examples[1].tokens))
    longer = [i + 1 for i, e in enumerate(examples) if len(e.tokens) > short.max_length]
    assert longer and 2 not in longer
    numbers = ", ".join(map(str, longer))
    with pytest.raises(ValueError, match=f"examples {numbers} are longer than the maximum length"):
        train(tiny[1], examples, short)


def test_the_exported_adapter_loads_in_llama_cpp_and_matches_jax(
    tiny: tuple[Path, LlamaWeights], examples: list[TokenizedExample], tmp_path: Path
) -> None:
    path, weights = tiny
    lora = train(weights, examples, SETTINGS).lora
    adapter = write_adapter(tmp_path / "tiny-lora.gguf", lora, weights.config, SETTINGS.alpha)
    tokens = list(examples[2].tokens)
    base = llama_cpp_logits(path, tokens)
    adapted = llama_cpp_logits(path, tokens, lora=adapter)
    params = base_params(weights)
    expected = np.asarray(
        forward(params, weights.config, jnp.asarray([tokens]), lora, SETTINGS.scale)
    )[0]
    # As for the base model (test_training_forward): llama.cpp's f16 KV cache, ~0.02.
    assert np.abs(adapted - expected).max() < 0.1
    assert np.abs(adapted - base).max() > 1.0
