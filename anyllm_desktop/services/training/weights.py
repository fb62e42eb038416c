"""A llama-family GGUF's configuration and weights, dequantized to float32 numpy arrays.

Training needs the very weights llama.cpp runs: the base model is read from its GGUF (Q4/Q8/
K-quants included) rather than from a separate float checkpoint, so a LoRA trained on them fits the
file it will be applied to. ``gguf.quants.dequantize`` does the unpacking in numpy, no torch.

Tensors keep their GGUF names and numpy's (rows, columns) = (out, in) order; for ``llama`` files
the converter has already permuted Q/K so that llama.cpp's adjacent-pair ("normal") rope applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Architecture -> rope layout. llama.cpp uses the adjacent-pair rotation for ``llama`` (Mistral
# GGUFs carry this architecture too) and the half-split NEOX rotation for ``qwen2``.
ROPE_LAYOUTS = {"llama": "normal", "qwen2": "neox"}

LAYER_MATRICES = (
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_output",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
)
LAYER_VECTORS = ("attn_norm", "ffn_norm")
OPTIONAL_BIASES = ("attn_q", "attn_k", "attn_v")


@dataclass(frozen=True)
class LlamaConfig:
    """The shape of a llama-family model, from its GGUF metadata (hashable: a jit static)."""

    architecture: str
    n_layers: int
    width: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_width: int
    rms_eps: float
    rope_base: float
    rope_dims: int
    rope_neox: bool
    # Positions are multiplied by this before rotation (llama.cpp's freq_scale: 1 / linear factor).
    rope_freq_scale: float
    vocab_size: int
    context_length: int
    tied_embeddings: bool
    qkv_bias: bool


@dataclass
class LlamaWeights:
    """A model's configuration and every tensor as float32, keyed by GGUF tensor name."""

    path: Path
    config: LlamaConfig
    tensors: dict[str, np.ndarray]

    def layer(self, index: int, name: str) -> np.ndarray:
        return self.tensors[f"blk.{index}.{name}.weight"]


class _Fields:
    """Typed access to a GGUF's metadata, with errors that name the file."""

    def __init__(self, path: Path, reader: Any) -> None:
        self.path = path
        self.reader = reader

    def get(self, key: str, default: Any = None) -> Any:
        field = self.reader.fields.get(key)
        return default if field is None else field.contents()

    def require(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise ValueError(f"{self.path.name}: its GGUF metadata lacks {key}; it cannot be read")
        return value


def read_config(path: Path, reader: Any) -> LlamaConfig:
    """The model's shape; refuses architectures and rope scalings the JAX forward does not do."""
    fields = _Fields(path, reader)
    if fields.get("general.type") == "adapter":
        raise ValueError(f"{path.name} is a LoRA adapter, not a model; choose its base model")
    arch = str(fields.require("general.architecture"))
    if arch not in ROPE_LAYOUTS:
        supported = ", ".join(sorted(ROPE_LAYOUTS))
        raise ValueError(
            f"{path.name}: its architecture is '{arch}'; training supports llama-family models "
            f"only ({supported}). Choose a Llama, Mistral, Qwen2 or SmolLM GGUF."
        )
    n_heads = int(fields.require(f"{arch}.attention.head_count"))
    width = int(fields.require(f"{arch}.embedding_length"))
    head_dim = int(fields.get(f"{arch}.attention.key_length", width // n_heads))
    scaling = str(fields.get(f"{arch}.rope.scaling.type", "none"))
    factor = float(fields.get(f"{arch}.rope.scaling.factor", 1.0) or 1.0)
    if scaling not in ("none", "linear"):
        raise ValueError(
            f"{path.name}: its rope scaling is '{scaling}', which training does not implement "
            "(none and linear are). Choose a model without it."
        )
    freq_scale = 1.0 / factor if scaling == "linear" else 1.0
    names = {t.name for t in reader.tensors}
    vocab = fields.get(f"{arch}.vocab_size")
    if vocab is None:
        vocab = len(fields.require("tokenizer.ggml.tokens"))
    return LlamaConfig(
        architecture=arch,
        n_layers=int(fields.require(f"{arch}.block_count")),
        width=width,
        n_heads=n_heads,
        n_kv_heads=int(fields.get(f"{arch}.attention.head_count_kv", n_heads)),
        head_dim=head_dim,
        ffn_width=int(fields.require(f"{arch}.feed_forward_length")),
        rms_eps=float(fields.require(f"{arch}.attention.layer_norm_rms_epsilon")),
        rope_base=float(fields.get(f"{arch}.rope.freq_base", 10000.0)),
        rope_dims=int(fields.get(f"{arch}.rope.dimension_count", head_dim)),
        rope_neox=ROPE_LAYOUTS[arch] == "neox",
        rope_freq_scale=freq_scale,
        vocab_size=int(vocab),
        context_length=int(fields.get(f"{arch}.context_length", 2048)),
        tied_embeddings="output.weight" not in names,
        qkv_bias="blk.0.attn_q.bias" in names,
    )


def _dequantize(path: Path, tensor: Any) -> np.ndarray:
    from gguf.quants import dequantize

    try:
        values = dequantize(tensor.data, tensor.tensor_type)
    except NotImplementedError:
        raise ValueError(
            f"{path.name}: tensor {tensor.name} is stored as {tensor.tensor_type.name}, which "
            "cannot be unpacked for training. Choose a Q4_0/Q4_1/Q8_0/K-quant/F16/F32 file."
        ) from None
    # numpy order: the GGUF's ne reversed, i.e. (out, in) for a weight matrix.
    shape = tuple(int(n) for n in reversed(tensor.shape))
    return np.ascontiguousarray(values.reshape(shape), dtype=np.float32)


def _check_tensors(path: Path, config: LlamaConfig, tensors: dict[str, np.ndarray]) -> None:
    needed = ["token_embd.weight", "output_norm.weight"]
    if not config.tied_embeddings:
        needed.append("output.weight")
    for i in range(config.n_layers):
        needed += [f"blk.{i}.{name}.weight" for name in LAYER_MATRICES + LAYER_VECTORS]
        if config.qkv_bias:
            needed += [f"blk.{i}.{name}.bias" for name in OPTIONAL_BIASES]
    missing = [name for name in needed if name not in tensors]
    if missing:
        raise ValueError(
            f"{path.name}: tensors {', '.join(missing[:3])} are missing; the file is not a "
            "complete llama-family model (perhaps a mixture-of-experts or a partial file)."
        )
    expected_q = (config.n_heads * config.head_dim, config.width)
    if tensors["blk.0.attn_q.weight"].shape != expected_q:
        raise ValueError(
            f"{path.name}: attn_q has shape {tensors['blk.0.attn_q.weight'].shape}, not the "
            f"{expected_q} its metadata implies; the file cannot be trained."
        )


def load_weights(path: Path) -> LlamaWeights:
    """Read ``path``: configuration from metadata, every tensor dequantized to float32.

    Raises ValueError naming the file and the reason for anything else than a complete
    llama-family model whose tensors numpy can unpack.
    """
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path.name}: cannot be read as a GGUF file ({error})") from None
    config = read_config(path, reader)
    tensors = {t.name: _dequantize(path, t) for t in reader.tensors}
    _check_tensors(path, config, tensors)
    return LlamaWeights(path=path, config=config, tensors=tensors)
