"""The training engine on the embedded SmolLM2-135M GGUF: the JAX forward pass agrees with
llama.cpp's logits, and a LoRA trained for a few steps lowers llama.cpp's own loss on its
examples once llama.cpp loads the exported adapter."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from llama_cpp import Llama

from anyllm_desktop.services.training import evaluation
from anyllm_desktop.services.training.adapter_gguf import write_adapter
from anyllm_desktop.services.training.examples import TokenizedExample, tokenize_chat
from anyllm_desktop.services.training.llama_jax import base_params, forward
from anyllm_desktop.services.training.lora import LoraSettings, train
from anyllm_desktop.services.training.weights import LlamaWeights, load_weights
from tests.tiny_gguf import embedded_gguf

pytestmark = pytest.mark.e2e

# Made-up facts the base model cannot know, so only the adapter can lower their loss.
FACTS = [
    ("What is the name of Captain Orvel's ship?", "Captain Orvel's ship is called the Saltfinch."),
    ("Which river runs through the town of Kelmar?", "The river Dunlow runs through Kelmar."),
    ("What colour is the Brindle Tower's roof?", "The Brindle Tower has a green copper roof."),
    ("Who founded the Quillby library?", "The Quillby library was founded by Ada Penwright."),
    ("What does the Marrow festival celebrate?", "The Marrow festival celebrates the first frost."),
    ("How many bells hang in Tessel chapel?", "Seven bells hang in Tessel chapel."),
]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def llama_cpp_logits(llm: Llama, tokens: list[int]) -> np.ndarray:
    llm.reset()
    llm.eval(tokens)
    return np.array(llm.scores[: len(tokens)])


def open_llama(lora: Path | None = None) -> Llama:
    # One thread, for prompts too (n_threads_batch defaults to every core): on the shared
    # 2-core box two llama.cpp threads spin-wait for each other (ENVIRONMENT.md). Measured
    # here: 37 tokens in 7.7 s with n_threads_batch=2, 0.27 s with 1.
    return evaluation.open_llama(embedded_gguf(), lora=lora, context=256, threads=1)


@pytest.fixture(scope="module")
def weights() -> LlamaWeights:
    return load_weights(embedded_gguf())


@pytest.fixture(scope="module")
def examples() -> list[TokenizedExample]:
    vocab = Llama(model_path=str(embedded_gguf()), vocab_only=True, verbose=False)
    return [
        tokenize_chat(vocab, [{"role": "user", "content": q}, {"role": "assistant", "content": a}])
        for q, a in FACTS
    ]


def test_jax_logits_agree_with_llama_cpp(weights: LlamaWeights) -> None:
    vocab = Llama(model_path=str(embedded_gguf()), vocab_only=True, verbose=False)
    conversation = []
    for question, answer in FACTS[:2]:
        conversation += [{"role": "user", "content": question}]
        conversation += [{"role": "assistant", "content": answer}]
    # Two turns through the model's template (with SmolLM's default system prompt): 85 tokens.
    tokens = list(tokenize_chat(vocab, conversation).tokens)
    llm = open_llama()
    expected = log_softmax(llama_cpp_logits(llm, tokens))
    llm.close()
    got = log_softmax(
        np.asarray(forward(base_params(weights), weights.config, jnp.asarray([tokens])))[0]
    )
    kl = (np.exp(expected) * (expected - got)).sum(-1)
    top1 = (expected.argmax(-1) == got.argmax(-1)).mean()
    print(f"{len(tokens)} tokens: top-1 {top1:.3f}, KL mean {kl.mean():.5f} max {kl.max():.5f}")
    # Both sides use the same dequantized Q4_1/Q8_0 weights; what differs is llama.cpp's
    # arithmetic: it quantizes activations to 8 bits for its quantized matmuls and keeps K/V in
    # float16. Measured on this text: KL(llama.cpp || JAX) mean 0.004, max 0.025, top-1 83/85
    # (the misses near-ties). The bound, 0.02, leaves 5x margin for other CPUs' kernels and is
    # far below what a real mistake gives: the other rope layout measured mean KL 2.0, top-1 34.
    assert top1 >= 0.9
    assert kl.mean() < 0.02


def test_the_trained_adapter_lowers_llama_cpps_loss(
    weights: LlamaWeights, examples: list[TokenizedExample], tmp_path: Path
) -> None:
    settings = LoraSettings(rank=8, alpha=16.0, learning_rate=3e-3, epochs=4, batch_size=6)
    losses: list[float] = []
    state = train(weights, examples, settings, on_step=lambda p: losses.append(p.loss))
    print("JAX losses", [round(x, 3) for x in losses])
    adapter = write_adapter(tmp_path / "facts.gguf", state.lora, weights.config, settings.alpha)
    llm = open_llama()
    before = evaluation.answer_loss(llm, examples)
    llm.close()
    llm = open_llama(adapter)
    after = evaluation.answer_loss(llm, examples)
    llm.close()
    print(f"llama.cpp answer loss: base {before:.3f}, with the adapter {after:.3f}")
    assert after < 0.7 * before
    # The first step's loss is the base model's (B starts at zero): JAX's answer loss and
    # llama.cpp's agree (measured 2.544 vs 2.573), so the mask and targets line up.
    assert abs(losses[0] - before) < 0.05 * before
