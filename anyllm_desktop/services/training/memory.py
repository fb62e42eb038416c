"""How much memory a LoRA run needs, so it is refused with the numbers instead of swapping.

The model is fitted to peak RSS measured with tests/benchmarks/bench_training.py on the embedded
SmolLM2-135M (rank 8, all linear layers), batch x length -> measured (this estimate), with each
layer recomputed in the backward pass / with its linear outputs kept: 1 x 256 -> 1.44 (1.48) /
1.62 (1.66) GiB; 4 x 256 -> 1.96 (2.06) / 2.54 (2.80); 8 x 256 -> 2.74 (2.84) / 3.78 (4.32);
4 x 512 -> 2.82 (2.99) / 3.92 (4.47). The weights are held once (numpy and the device share
the buffers); per step the logits at the answer positions dominate (three vocabulary-wide
float32 arrays each: logits, log-softmax and their gradient), then each layer's saved input
(the checkpointed residual stream) and, when kept, its linear outputs, one layer's recomputed
activations and its attention scores.
"""

from __future__ import annotations

from collections.abc import Sequence

from anyllm_desktop.services.training.examples import (
    ANSWER_MULTIPLE,
    LENGTH_MULTIPLE,
    TokenizedExample,
    padded,
)
from anyllm_desktop.services.training.weights import LlamaConfig

FLOAT = 4
# Python, JAX/XLA and llama.cpp's tokenizer: the fit's intercept (0.69-0.74 GiB) and a margin.
RUNTIME_BYTES = 800 * 2**20
# Measured growth per example (4 -> 8 rows: +0.78 GiB recomputing, +1.24 keeping the linear
# outputs) is up to ~1.2x the arrays counted here: XLA's scratch buffers.
ACTIVATION_MARGIN = 1.25


def parameter_count(config: LlamaConfig) -> int:
    q = config.n_heads * config.head_dim
    kv = config.n_kv_heads * config.head_dim
    per_layer = config.width * (2 * q + 2 * kv) + 3 * config.width * config.ffn_width
    per_layer += 2 * config.width
    embeddings = config.vocab_size * config.width * (1 if config.tied_embeddings else 2)
    return config.n_layers * per_layer + embeddings + config.width


def weights_bytes(config: LlamaConfig) -> int:
    """One float32 copy of the base model."""
    return parameter_count(config) * FLOAT


def step_bytes(
    config: LlamaConfig, rows: int, length: int, answers: int, keep_linear: bool = False
) -> int:
    """The arrays of one step on ``rows`` sequences padded to ``length`` tokens with up to
    ``answers`` answer positions each (padded as make_batch pads them); with ``keep_linear``
    each layer's linear outputs are kept for the backward pass too."""
    length = padded(length, LENGTH_MULTIPLE)
    answers = padded(answers, ANSWER_MULTIPLE)
    tokens = rows * length
    saved = config.width  # per token and layer: the layer's input
    if keep_linear:  # q, k, v and the attention output; gate, up and down
        saved += (config.n_heads + 2 * config.n_kv_heads) * config.head_dim + config.width
        saved += 2 * config.ffn_width + config.width
    residuals = tokens * config.n_layers * saved
    one_layer = tokens * (6 * config.width + 4 * config.ffn_width)
    scores = 3 * rows * config.n_heads * length * length
    logits = 3 * rows * answers * config.vocab_size
    return int((residuals + one_layer + scores + logits) * FLOAT * ACTIVATION_MARGIN)


def estimate_bytes(
    config: LlamaConfig,
    rows: int,
    examples: Sequence[TokenizedExample],
    keep_linear: bool = False,
) -> int:
    """Peak memory of a run over ``examples`` in batches of ``rows``: the weights (one copy,
    shared by numpy and the device), the runtime and the worst step (the longest example and
    the most answer tokens together)."""
    longest = max(len(e.tokens) for e in examples)
    answers = max(e.answer_tokens for e in examples)
    step = step_bytes(config, rows, longest, answers, keep_linear)
    return weights_bytes(config) + RUNTIME_BYTES + step


def room_to_keep_linear(
    config: LlamaConfig, rows: int, examples: Sequence[TokenizedExample], free: int
) -> bool:
    """Whether keeping the linear outputs (faster) fits in ``free`` bytes with a quarter to
    spare, the loaded weights aside."""
    needed = estimate_bytes(config, rows, examples, keep_linear=True) - weights_bytes(config)
    return needed <= 0.75 * free


def check_fits(needed: int, available: int) -> None:
    """Refuse, with both numbers and what to change, when ``needed`` exceeds ``available``."""
    if needed > available:
        raise ValueError(
            f"training needs about {needed / 2**30:.1f} GB of memory, but only "
            f"{available / 2**30:.1f} GB are free. Lower the batch size or the maximum length, "
            "choose a smaller model, or close other programs."
        )
