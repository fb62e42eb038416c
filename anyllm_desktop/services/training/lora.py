"""LoRA training of a llama-family model on the CPU with JAX: settings, loss, steps, loop.

The base weights stay frozen; only the low-rank pairs (A: rank x in, B: out x rank) on the chosen
linear layers learn, which is what makes training a 135M-1B model on a laptop's CPU feasible.
The loss is cross-entropy on the answer tokens only, and the vocabulary projection is computed
only at those positions (a third of a small model's FLOPs otherwise goes to logits no loss
reads). Layers are rematerialised in the backward pass (``jax.checkpoint`` in llama_jax).

``training_steps`` is a generator (one event per optimizer step) so a job can report progress,
cancel between steps and keep the state to resume; ``train`` is the plain loop over it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import psutil

from anyllm_desktop.services.training import memory
from anyllm_desktop.services.training.examples import (
    ANSWER_MULTIPLE,
    LENGTH_MULTIPLE,
    TokenizedExample,
    padded,
)
from anyllm_desktop.services.training.llama_jax import (
    Lora,
    Params,
    base_params,
    hidden_states,
    logits_from_hidden,
)
from anyllm_desktop.services.training.weights import LAYER_MATRICES, LlamaConfig, LlamaWeights


@dataclass(frozen=True)
class LoraSettings:
    """What a person may choose; the defaults suit a few hundred examples on a small model."""

    rank: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = LAYER_MATRICES
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    epochs: int = 3
    batch_size: int = 4
    max_length: int = 512
    seed: int = 0

    @property
    def scale(self) -> float:
        """The factor on B @ A, as llama.cpp applies it (alpha / rank at lora_scale 1)."""
        return self.alpha / self.rank


def _shape(config: LlamaConfig, target: str) -> tuple[int, int]:
    """(out, in) of one target matrix."""
    q = config.n_heads * config.head_dim
    kv = config.n_kv_heads * config.head_dim
    return {
        "attn_q": (q, config.width),
        "attn_k": (kv, config.width),
        "attn_v": (kv, config.width),
        "attn_output": (config.width, q),
        "ffn_gate": (config.ffn_width, config.width),
        "ffn_up": (config.ffn_width, config.width),
        "ffn_down": (config.width, config.ffn_width),
    }[target]


def init_lora(config: LlamaConfig, settings: LoraSettings) -> Lora:
    """A uniform(+-1/sqrt(in)) and B zero (as PEFT does): the adapter starts as the identity."""
    unknown = set(settings.targets) - set(LAYER_MATRICES)
    if unknown:
        raise ValueError(
            f"LoRA targets {', '.join(sorted(unknown))} are not linear layers of the model; "
            f"choose from {', '.join(LAYER_MATRICES)}"
        )
    key = jax.random.PRNGKey(settings.seed)
    lora: Lora = {}
    for target in settings.targets:
        key, sub = jax.random.split(key)
        out, inp = _shape(config, target)
        bound = 1.0 / math.sqrt(inp)
        shape = (config.n_layers, settings.rank, inp)
        a = jax.random.uniform(sub, shape, jnp.float32, -bound, bound)
        lora[target] = {"a": a, "b": jnp.zeros((config.n_layers, out, settings.rank), jnp.float32)}
    return lora


def make_batch(examples: Sequence[TokenizedExample], rows: int) -> dict[str, np.ndarray]:
    """Padded arrays for one step: tokens (rows, T); at each answer token t, the logit position
    t - 1 (``index``), the token (``targets``) and a weight of 1 (0 for padding rows/slots)."""
    length = padded(max(len(e.tokens) for e in examples), LENGTH_MULTIPLE)
    answers = [[t for t in range(1, len(e.tokens)) if e.answer_mask[t]] for e in examples]
    slots = padded(max(len(a) for a in answers), ANSWER_MULTIPLE)
    batch = {
        "tokens": np.zeros((rows, length), np.int32),
        "index": np.zeros((rows, slots), np.int32),
        "targets": np.zeros((rows, slots), np.int32),
        "weights": np.zeros((rows, slots), np.float32),
    }
    for row, (example, positions) in enumerate(zip(examples, answers, strict=True)):
        batch["tokens"][row, : len(example.tokens)] = example.tokens
        batch["index"][row, : len(positions)] = [t - 1 for t in positions]
        batch["targets"][row, : len(positions)] = [example.tokens[t] for t in positions]
        batch["weights"][row, : len(positions)] = 1.0
    return batch


def answer_loss(
    lora: Lora,
    params: Params,
    config: LlamaConfig,
    batch: dict[str, jax.Array],
    scale: float,
    keep_linear: bool = False,
) -> jax.Array:
    """Mean cross-entropy over the answer tokens, logits computed at those positions only."""
    hidden = hidden_states(params, config, batch["tokens"], lora, scale, keep_linear)
    hidden = jnp.take_along_axis(hidden, batch["index"][..., None], axis=1)
    logprobs = jax.nn.log_softmax(logits_from_hidden(params, config, hidden), axis=-1)
    picked = jnp.take_along_axis(logprobs, batch["targets"][..., None], axis=-1)[..., 0]
    weights = batch["weights"]
    return -(picked * weights).sum() / jnp.maximum(weights.sum(), 1.0)


@partial(jax.jit, static_argnames=("config", "optimizer", "scale", "keep_linear"))
def train_step(
    lora: Lora,
    opt_state: Any,
    params: Params,
    batch: dict[str, jax.Array],
    config: LlamaConfig,
    optimizer: optax.GradientTransformation,
    scale: float,
    keep_linear: bool = False,
) -> tuple[Lora, Any, jax.Array]:
    """One AdamW step on the LoRA; returns the new LoRA, optimizer state and the batch's loss."""
    loss, grads = jax.value_and_grad(answer_loss)(lora, params, config, batch, scale, keep_linear)
    updates, opt_state = optimizer.update(grads, opt_state, lora)
    return optax.apply_updates(lora, updates), opt_state, loss


@dataclass
class TrainState:
    """Everything needed to continue a run: the LoRA, AdamW's moments and the steps done."""

    lora: Lora
    opt_state: Any
    step: int


@dataclass(frozen=True)
class TrainProgress:
    """One finished step: its loss (mean over the batch's answer tokens) and what it cost."""

    step: int
    total_steps: int
    epoch: int
    loss: float
    tokens: int
    seconds: float
    state: TrainState


def _optimizer(settings: LoraSettings) -> optax.GradientTransformation:
    return optax.adamw(settings.learning_rate, weight_decay=settings.weight_decay)


def fresh_state(config: LlamaConfig, settings: LoraSettings) -> TrainState:
    """The state a run starts from (and the shape a checkpoint is read into)."""
    lora = init_lora(config, settings)
    return TrainState(lora, _optimizer(settings).init(lora), 0)


def schedule(count: int, settings: LoraSettings) -> list[list[int]]:
    """Example indices per step: each epoch a seeded shuffle cut into batches (resumable)."""
    batches = []
    for epoch in range(settings.epochs):
        order = np.random.default_rng(settings.seed + epoch).permutation(count)
        for start in range(0, count, settings.batch_size):
            batches.append([int(i) for i in order[start : start + settings.batch_size]])
    return batches


def _check_examples(
    examples: Sequence[TokenizedExample], settings: LoraSettings, context: int
) -> None:
    if min(settings.rank, settings.epochs, settings.batch_size) < 1:
        raise ValueError("rank, epochs and batch size must each be at least 1")
    if not examples:
        raise ValueError("there are no training examples")
    limit = min(settings.max_length, context)
    too_long = [i + 1 for i, e in enumerate(examples) if len(e.tokens) > limit]
    if too_long:
        if limit == settings.max_length:
            what, fix = "maximum length", "shorten them or raise the maximum length"
        else:
            what, fix = "model's context", "shorten them: the model cannot read more"
        raise ValueError(
            f"examples {', '.join(map(str, too_long[:10]))} are longer than the {what} "
            f"of {limit} tokens; {fix}"
        )
    empty = [i + 1 for i, e in enumerate(examples) if not any(e.answer_mask[1:])]
    if empty:
        raise ValueError(f"examples {', '.join(map(str, empty[:10]))} have no answer tokens")


def training_steps(
    base: LlamaWeights,
    examples: Sequence[TokenizedExample],
    settings: LoraSettings,
    resume: TrainState | None = None,
    keep_linear: bool | None = None,
) -> Iterator[TrainProgress]:
    """Train, yielding after every optimizer step; stop iterating to cancel.

    With ``resume`` (a yielded state) the run continues at the step after it, on the same
    batches it would have seen. ``keep_linear`` (see ``hidden_states``) is chosen by the memory
    free unless given.
    """
    config = base.config
    _check_examples(examples, settings, config.context_length)
    free = psutil.virtual_memory().available
    if keep_linear is None:
        keep_linear = memory.room_to_keep_linear(config, settings.batch_size, examples, free)
    # The dequantized weights are in memory already; the rest of the estimate must still fit.
    needed = memory.estimate_bytes(config, settings.batch_size, examples, keep_linear)
    memory.check_fits(needed - memory.weights_bytes(config), free)
    params = base_params(base)
    optimizer = _optimizer(settings)
    state = resume if resume is not None else fresh_state(config, settings)
    batches = schedule(len(examples), settings)
    per_epoch = math.ceil(len(examples) / settings.batch_size)
    for step in range(state.step, len(batches)):
        chosen = [examples[i] for i in batches[step]]
        batch = {k: jnp.asarray(v) for k, v in make_batch(chosen, settings.batch_size).items()}
        started = time.perf_counter()
        lora, opt_state, loss = train_step(
            state.lora, state.opt_state, params, batch, config, optimizer, settings.scale,
            keep_linear,
        )  # fmt: skip
        value = float(loss)
        state = TrainState(lora, opt_state, step + 1)
        yield TrainProgress(
            step=step + 1,
            total_steps=len(batches),
            epoch=step // per_epoch + 1,
            loss=value,
            tokens=sum(len(e.tokens) for e in chosen),
            seconds=time.perf_counter() - started,
            state=state,
        )


def train(
    base: LlamaWeights,
    examples: Sequence[TokenizedExample],
    settings: LoraSettings,
    on_step: Callable[[TrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainState:
    """Run ``training_steps`` to the end (or until ``should_stop()`` between steps)."""
    state: TrainState | None = None
    for progress in training_steps(base, examples, settings):
        state = progress.state
        if on_step is not None:
            on_step(progress)
        if should_stop is not None and should_stop():
            break
    assert state is not None  # _check_examples guarantees at least one step
    return state
