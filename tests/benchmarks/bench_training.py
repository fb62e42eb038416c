"""LoRA training throughput on the embedded SmolLM2-135M: train tokens/s, peak RSS and
model-FLOPs utilisation against this machine's own float32 matmul rate, measured in the same run.

Examples: passages of tests/data/debian-faq-archives.html's text as answers to one question,
each about ``--length`` tokens through the model's chat template (the answer is most of it),
so a step is ``--batch`` x ``--length`` tokens like the issue's reference measurement (4 x 256).
Settings are the defaults of ``LoraSettings`` (rank 8 on all seven linear layers) except the
batch. The first step compiles and is reported on its own; the rate is over the later steps.

Model FLOPs per step (the usual MFU convention: no credit for rematerialisation): forward =
2 x linear-layer weights x tokens + attention (QK^T and AV, 4 x T^2 x heads x head_dim per
sequence and layer) + 2 x vocabulary x width per answer position (logits are computed there
only); a LoRA step is 2 x forward (the backward pass computes input gradients but no gradient
of the frozen weights); the LoRA's own FLOPs are under 1% and left out.

    .venv/bin/python tests/benchmarks/bench_training.py [--steps 3] [--batch 4] [--length 256]
"""

from __future__ import annotations

import argparse
import html
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import jax
import jax.numpy as jnp
import psutil
from llama_cpp import Llama

from anyllm_desktop.models.embedded import smollm2_chat
from anyllm_desktop.services.training.examples import (
    TokenizedExample,
    tokenize_chat,
)
from anyllm_desktop.services.training.lora import (
    LoraSettings,
    schedule,
    training_steps,
)
from anyllm_desktop.services.training.memory import estimate_bytes, room_to_keep_linear
from anyllm_desktop.services.training.weights import LlamaConfig, load_weights

SOURCE = Path(__file__).resolve().parents[1] / "data" / "debian-faq-archives.html"


def matmul_rate(size: int = 1024, repeats: int = 10) -> float:
    """This machine's float32 matmul rate through XLA, in FLOP/s (best of ``repeats``)."""
    a = jnp.ones((size, size), jnp.float32)
    b = jnp.ones((size, size), jnp.float32)
    product = jax.jit(lambda x, y: x @ y)
    product(a, b).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        product(a, b).block_until_ready()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def make_examples(vocab: Llama, count: int, length: int) -> list[TokenizedExample]:
    """``count`` chats of about ``length`` tokens whose answers are consecutive FAQ passages."""
    text = re.sub(r"<[^>]+>", " ", SOURCE.read_text(encoding="utf-8", errors="replace"))
    text = " ".join(html.unescape(text).split())
    tokens = list(vocab.tokenize(text.encode(), add_bos=False))
    question = {"role": "user", "content": "Quote the next part of the Debian FAQ."}
    examples, start = [], 0
    while len(examples) < count:
        size = length - 40
        while True:
            answer = vocab.detokenize(tokens[start : start + size]).decode("utf-8", "ignore")
            example = tokenize_chat(vocab, [question, {"role": "assistant", "content": answer}])
            if len(example.tokens) <= length:
                break
            size -= len(example.tokens) - length
        examples.append(example)
        # The page has ~6,000 tokens: later examples wrap around (throughput, not content).
        start = (start + size) % (len(tokens) - length)
    return examples


def step_flops(config: LlamaConfig, examples: list[TokenizedExample]) -> float:
    q = config.n_heads * config.head_dim
    kv = config.n_kv_heads * config.head_dim
    linear = config.width * (2 * q + 2 * kv) + 3 * config.width * config.ffn_width
    forward = 0.0
    for example in examples:
        tokens = len(example.tokens)
        forward += 2 * linear * config.n_layers * tokens
        forward += 4 * tokens * tokens * q * config.n_layers
        forward += 2 * config.vocab_size * config.width * example.answer_tokens
    return 2 * forward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="measured steps after the first")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=256, help="tokens per example")
    parser.add_argument(
        "--keep-linear",
        choices=("auto", "yes", "no"),
        default="auto",
        help="keep the linear layers' outputs for the backward pass (auto: when memory allows)",
    )
    args = parser.parse_args()

    path = smollm2_chat().files[0].path
    assert path is not None
    started = time.perf_counter()
    weights = load_weights(path)
    print(f"read and dequantized {path.name} in {time.perf_counter() - started:.1f} s")
    vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    examples = make_examples(vocab, args.batch * (args.steps + 1), args.length)
    settings = LoraSettings(batch_size=args.batch, epochs=1, max_length=args.length + 64)
    rate = matmul_rate()
    print(f"float32 matmul rate (XLA, 1024^3): {rate / 1e9:.1f} GFLOP/s")

    timed_tokens, timed_seconds, timed_flops = 0, 0.0, 0.0
    batches = schedule(len(examples), settings)
    # "auto" decided here as training_steps decides it, so the run and the report use one answer.
    keep = args.keep_linear == "yes"
    if args.keep_linear == "auto":
        free = psutil.virtual_memory().available
        keep = room_to_keep_linear(weights.config, args.batch, examples, free)
    print(f"linear outputs kept for the backward pass: {'yes' if keep else 'no'}")
    for progress in training_steps(weights, examples, settings, keep_linear=keep):
        chosen = [examples[i] for i in batches[progress.step - 1]]
        print(
            f"step {progress.step}/{progress.total_steps}: loss {progress.loss:.3f}, "
            f"{progress.tokens} tokens in {progress.seconds:.1f} s"
            + (" (includes compilation)" if progress.step == 1 else "")
        )
        if progress.step > 1:
            timed_tokens += progress.tokens
            timed_seconds += progress.seconds
            timed_flops += step_flops(weights.config, chosen)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    if timed_seconds:
        achieved = timed_flops / timed_seconds
        print(f"train tokens/s: {timed_tokens / timed_seconds:.1f}")
        share = 100 * achieved / rate
        print(f"model FLOP/s: {achieved / 1e9:.1f} G = {share:.0f}% of the matmul rate (MFU)")
    estimate = estimate_bytes(weights.config, args.batch, examples, keep) / 2**30
    print(f"peak RSS: {peak_rss:.2f} GiB (estimated beforehand: {estimate:.2f} GiB)")


if __name__ == "__main__":
    main()
