"""The llama-family forward pass in JAX, computed the way llama.cpp computes it.

It follows llama.cpp's graph (``llm_build_llama`` / ``llm_build_qwen2``) so that a LoRA trained
here behaves the same once llama.cpp applies it: RMSNorm, rotary embeddings in the file's layout
(adjacent pairs for ``llama``, half-split NEOX for ``qwen2``), grouped-query attention with a
causal mask, SwiGLU, final norm, logits. Layers are stacked and run with ``lax.scan`` so a
30-layer model compiles one layer, not thirty; each layer is rematerialised in the backward pass
(``jax.checkpoint``), which keeps activation memory to one layer's worth, or keeps only its linear
layers' outputs when memory allows (``keep_linear``).

``logit_index`` computes logits only at chosen positions: the vocabulary projection is about a
third of a small model's FLOPs, and training needs it only where the loss is.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.ad_checkpoint import checkpoint_name

from anyllm_desktop.services.training.weights import (
    LAYER_MATRICES,
    LAYER_VECTORS,
    OPTIONAL_BIASES,
    LlamaConfig,
    LlamaWeights,
)

# Pytrees: {"embed", "output", "output_norm", "rope_factors"?, "layers": {name: (L, ...)}} for
# the base; {target: {"a": (L, rank, in), "b": (L, out, rank)}} for a LoRA.
Params = dict[str, Any]
Lora = dict[str, dict[str, jax.Array]]
# The name a linear layer's output carries for the backward pass's checkpoint policy.
LINEAR_OUTPUT = "linear_output"


def base_params(weights: LlamaWeights) -> Params:
    """The base model as device arrays, each layer's tensors stacked along a leading axis.

    The model is held once: each array is built in a 64-byte-aligned buffer, which the CPU
    device takes without copying, and ``weights.tensors`` is pointed at views of the same
    buffers (the per-layer arrays it held are freed), so a 1B model costs 4 GB, not 8.
    """
    config = weights.config
    tensors = weights.tensors
    names = [(f"{name}.weight", name) for name in LAYER_MATRICES + LAYER_VECTORS]
    if config.qkv_bias:
        names += [(f"{name}.bias", f"{name}_bias") for name in OPTIONAL_BIASES]
    layers = {}
    for suffix, key in names:
        keys = [f"blk.{i}.{suffix}" for i in range(config.n_layers)]
        stacked = _aligned((config.n_layers, *tensors[keys[0]].shape))
        for i, name in enumerate(keys):
            stacked[i] = tensors[name]
            tensors[name] = stacked[i]
        layers[key] = jax.device_put(stacked)
    params: Params = {"layers": layers, "embed": _shared(tensors, "token_embd.weight")}
    params["output_norm"] = _shared(tensors, "output_norm.weight")
    tied = config.tied_embeddings
    params["output"] = params["embed"] if tied else _shared(tensors, "output.weight")
    if "rope_freqs.weight" in tensors:
        # Llama 3's per-frequency divisors (llama.cpp's rope "freq_factors").
        params["rope_factors"] = _shared(tensors, "rope_freqs.weight")
    return params


def _shared(tensors: dict[str, np.ndarray], name: str) -> jax.Array:
    """``tensors[name]`` on the device, sharing one aligned buffer with the dict's entry."""
    tensors[name] = _aligned(tensors[name].shape, tensors[name])
    return jax.device_put(tensors[name])


def _aligned(shape: tuple[int, ...], values: np.ndarray | None = None) -> np.ndarray:
    """A float32 array at a 64-byte boundary (``values`` copied in, unless already so)."""
    if values is not None and _is_aligned_float32(values):
        return values
    size = int(np.prod(shape)) * 4
    buffer = np.empty(size + 64, np.uint8)
    start = -buffer.ctypes.data % 64
    array = buffer[start : start + size].view(np.float32).reshape(shape)
    if values is not None:
        array[...] = values
    return array


def _is_aligned_float32(array: np.ndarray) -> bool:
    return array.dtype == np.float32 and array.flags.c_contiguous and array.ctypes.data % 64 == 0


def rms_norm(x: jax.Array, weight: jax.Array, eps: float) -> jax.Array:
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope_angles(config: LlamaConfig, length: int, factors: jax.Array | None) -> jax.Array:
    """(length, rope_dims / 2) angles: pos * freq_scale * base^(-2i / rope_dims) / factor_i."""
    half = config.rope_dims // 2
    inv_freq = config.rope_base ** (-jnp.arange(half, dtype=jnp.float32) * 2.0 / config.rope_dims)
    if factors is not None:
        inv_freq = inv_freq / factors[:half]
    positions = jnp.arange(length, dtype=jnp.float32) * config.rope_freq_scale
    return positions[:, None] * inv_freq[None, :]


def apply_rope(x: jax.Array, angles: jax.Array, neox: bool) -> jax.Array:
    """Rotate the first rope_dims features of x (batch, time, heads, head_dim).

    "normal" (llama.cpp's default, used for ``llama`` GGUFs whose Q/K rows the converter
    permuted) rotates adjacent pairs (x0, x1), (x2, x3)...; NEOX rotates (x_i, x_{i+d/2}).
    """
    dims = angles.shape[-1] * 2
    rotated, rest = x[..., :dims], x[..., dims:]
    cos = jnp.cos(angles)[None, :, None, :]
    sin = jnp.sin(angles)[None, :, None, :]
    if neox:
        first, second = rotated[..., : dims // 2], rotated[..., dims // 2 :]
        out = jnp.concatenate([first * cos - second * sin, second * cos + first * sin], axis=-1)
    else:
        even, odd = rotated[..., 0::2], rotated[..., 1::2]
        out = jnp.stack([even * cos - odd * sin, even * sin + odd * cos], axis=-1)
        out = out.reshape(rotated.shape)
    return jnp.concatenate([out, rest], axis=-1)


def _linear(x: jax.Array, layer: Params, lora: Lora | None, name: str, scale: float) -> jax.Array:
    """x @ W.T (+ bias) (+ scale * (x @ A.T) @ B.T): what llama.cpp's build_lora_mm computes."""
    y = x @ layer[name].T
    if f"{name}_bias" in layer:
        y = y + layer[f"{name}_bias"]
    if lora is not None and name in lora:
        y = y + scale * ((x @ lora[name]["a"].T) @ lora[name]["b"].T)
    return checkpoint_name(y, LINEAR_OUTPUT)


def _attention(config: LlamaConfig, q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
    """Causal grouped-query attention; query head h reads KV head h // (n_heads / n_kv_heads)."""
    batch, length = q.shape[:2]
    group = config.n_heads // config.n_kv_heads
    q = q.reshape(batch, length, config.n_kv_heads, group, config.head_dim)
    scores = jnp.einsum("btkgd,bskd->bkgts", q, k) / np.sqrt(config.head_dim)
    causal = jnp.tril(jnp.ones((length, length), dtype=bool))
    scores = jnp.where(causal, scores, -jnp.inf)
    weights = jax.nn.softmax(scores, axis=-1)
    out = jnp.einsum("bkgts,bskd->btkgd", weights, v)
    return out.reshape(batch, length, config.n_heads * config.head_dim)


def _layer(
    config: LlamaConfig,
    scale: float,
    angles: jax.Array,
    x: jax.Array,
    layer: Params,
    lora: Lora | None,
) -> jax.Array:
    batch, length, _ = x.shape
    h = rms_norm(x, layer["attn_norm"], config.rms_eps)
    heads = (batch, length, -1, config.head_dim)
    q = _linear(h, layer, lora, "attn_q", scale).reshape(heads)
    k = _linear(h, layer, lora, "attn_k", scale).reshape(heads)
    v = _linear(h, layer, lora, "attn_v", scale).reshape(heads)
    q = apply_rope(q, angles, config.rope_neox)
    k = apply_rope(k, angles, config.rope_neox)
    x = x + _linear(_attention(config, q, k, v), layer, lora, "attn_output", scale)
    h = rms_norm(x, layer["ffn_norm"], config.rms_eps)
    gated = jax.nn.silu(_linear(h, layer, lora, "ffn_gate", scale))
    ffn = gated * _linear(h, layer, lora, "ffn_up", scale)
    return x + _linear(ffn, layer, lora, "ffn_down", scale)


def hidden_states(
    params: Params,
    config: LlamaConfig,
    tokens: jax.Array,
    lora: Lora | None = None,
    lora_scale: float = 0.0,
    keep_linear: bool = False,
) -> jax.Array:
    """The last layer's output (batch, time, width), before the final norm.

    Under a gradient each layer is recomputed in the backward pass; with ``keep_linear`` the
    outputs of its linear layers are kept instead of recomputed (only norms, rotary and
    attention are redone): a LoRA step of the 135M model at 4 x 256 tokens ran 10-20% faster for
    0.5 GB more (tests/benchmarks/bench_training.py).
    """
    x = params["embed"][tokens]
    angles = rope_angles(config, tokens.shape[1], params.get("rope_factors"))
    policy = jax.checkpoint_policies.save_only_these_names(LINEAR_OUTPUT) if keep_linear else None
    step = jax.checkpoint(partial(_layer, config, lora_scale, angles), policy=policy)

    def body(x: jax.Array, per_layer: tuple[Params, Lora | None]) -> tuple[jax.Array, None]:
        layer, layer_lora = per_layer
        return step(x, layer, layer_lora), None

    x, _ = jax.lax.scan(body, x, (params["layers"], lora))
    return x


def logits_from_hidden(params: Params, config: LlamaConfig, hidden: jax.Array) -> jax.Array:
    return rms_norm(hidden, params["output_norm"], config.rms_eps) @ params["output"].T


@partial(jax.jit, static_argnames=("config",))
def forward(
    params: Params,
    config: LlamaConfig,
    tokens: jax.Array,
    lora: Lora | None = None,
    lora_scale: float = 0.0,
    logit_index: jax.Array | None = None,
) -> jax.Array:
    """Logits (batch, time, vocab) for tokens (batch, time), or (batch, K, vocab) at the
    positions in ``logit_index`` (batch, K) only. Padding after a sequence's end does not change
    its logits (the mask is causal)."""
    hidden = hidden_states(params, config, tokens, lora, lora_scale)
    if logit_index is not None:
        hidden = jnp.take_along_axis(hidden, logit_index[..., None], axis=1)
    return logits_from_hidden(params, config, hidden)
