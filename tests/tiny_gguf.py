"""A tiny random-weight llama-family GGUF that llama.cpp loads, for fast training tests.

Two layers, width 64, 4 query heads sharing 2 KV heads, seeded weights; the tokenizer metadata
(vocabulary, merges, special tokens, chat template) is copied from the embedded SmolLM2 GGUF so
prompts tokenize and format exactly as they do for the real model. ``token_embd`` is stored as
Q8_0 so the dequantization path is exercised too; ``output.weight`` is a separate tensor (the
real SmolLM2 ties it to the embeddings, which the e2e tests cover).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import quantize

from anyllm_desktop.models.embedded import smollm2_chat

LAYERS = 2
WIDTH = 64
HEADS = 4
KV_HEADS = 2
FFN = 128
HEAD_DIM = WIDTH // HEADS


def embedded_gguf() -> Path:
    path = smollm2_chat().files[0].path
    assert path is not None and path.exists(), "the embedded SmolLM2 GGUF is not installed"
    return path


@functools.cache
def _tokenizer_fields() -> tuple[tuple[str, Any, GGUFValueType, GGUFValueType | None], ...]:
    """The embedded model's tokenizer.* fields as Python values (read once: ~7 s to parse)."""
    reader = GGUFReader(embedded_gguf())
    fields = []
    for name, field in reader.fields.items():
        if name.startswith("tokenizer."):
            kind = field.types[0]
            sub_type = field.types[-1] if kind == GGUFValueType.ARRAY else None
            fields.append((name, field.contents(), kind, sub_type))
    return tuple(fields)


def _copy_tokenizer(writer: GGUFWriter) -> int:
    """Copy every tokenizer.* field; returns the vocabulary size."""
    vocab = 0
    for name, value, kind, sub_type in _tokenizer_fields():
        writer.add_key_value(name, value, kind, sub_type=sub_type)
        if name == "tokenizer.ggml.tokens":
            vocab = len(value)
    return vocab


def _matrix(rng: np.random.Generator, rows: int, cols: int, gain: float = 1.0) -> np.ndarray:
    return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)


def _vector(rng: np.random.Generator, size: int, around: float, spread: float) -> np.ndarray:
    return (around + spread * rng.standard_normal(size)).astype(np.float32)


def write_tiny_gguf(
    folder: Path, architecture: str = "llama", seed: int = 17, q8_1_tensor: bool = False
) -> Path:
    """Write the tiny model into ``folder`` and return its path (same bytes for the same seed).

    ``qwen2`` adds Q/K/V biases (and llama.cpp then uses the NEOX rope); any other
    architecture name is written as-is, which is how the tests make a file training refuses.
    ``q8_1_tensor`` stores one matrix as Q8_1, a type numpy cannot unpack (another refusal).
    """
    rng = np.random.default_rng(seed)
    path = folder / f"tiny-{architecture}{'-q8_1' if q8_1_tensor else ''}.gguf"
    writer = GGUFWriter(path, architecture)
    writer.add_type("model")
    writer.add_name(f"tiny random {architecture}")
    vocab = _copy_tokenizer(writer)
    writer.add_block_count(LAYERS)
    writer.add_context_length(512)
    writer.add_embedding_length(WIDTH)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab)

    embed = rng.standard_normal((vocab, WIDTH)).astype(np.float32)
    writer.add_tensor(
        "token_embd.weight",
        quantize(embed, GGMLQuantizationType.Q8_0),
        raw_dtype=GGMLQuantizationType.Q8_0,
    )
    writer.add_tensor("output_norm.weight", _vector(rng, WIDTH, 1.0, 0.1))
    writer.add_tensor("output.weight", _matrix(rng, vocab, WIDTH, gain=3.0))
    kv = KV_HEADS * HEAD_DIM
    for i in range(LAYERS):
        block = f"blk.{i}"
        writer.add_tensor(f"{block}.attn_norm.weight", _vector(rng, WIDTH, 1.0, 0.1))
        writer.add_tensor(f"{block}.attn_q.weight", _matrix(rng, WIDTH, WIDTH, gain=2.0))
        writer.add_tensor(f"{block}.attn_k.weight", _matrix(rng, kv, WIDTH, gain=2.0))
        writer.add_tensor(f"{block}.attn_v.weight", _matrix(rng, kv, WIDTH))
        if architecture == "qwen2":
            for name, size in (("attn_q", WIDTH), ("attn_k", kv), ("attn_v", kv)):
                writer.add_tensor(f"{block}.{name}.bias", _vector(rng, size, 0.0, 0.5))
        writer.add_tensor(f"{block}.attn_output.weight", _matrix(rng, WIDTH, WIDTH))
        writer.add_tensor(f"{block}.ffn_norm.weight", _vector(rng, WIDTH, 1.0, 0.1))
        writer.add_tensor(f"{block}.ffn_gate.weight", _matrix(rng, FFN, WIDTH))
        writer.add_tensor(f"{block}.ffn_up.weight", _matrix(rng, FFN, WIDTH))
        if q8_1_tensor:
            # Q8_1 blocks: 32 values in 40 bytes; the content is never read.
            raw = rng.integers(0, 256, (WIDTH, FFN // 32 * 40), dtype=np.uint8)
            writer.add_tensor(f"{block}.ffn_down.weight", raw, raw_dtype=GGMLQuantizationType.Q8_1)
        else:
            writer.add_tensor(f"{block}.ffn_down.weight", _matrix(rng, WIDTH, FFN))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


#: Plain facts a tiny model learns in the training tests (one chat example each).
FACTS = [
    ("What colour is the sky?", "The sky is blue."),
    ("What colour is grass?", "Grass is green."),
    ("How many legs has a cat?", "A cat has four legs."),
    ("What do bees make?", "Bees make honey."),
    ("Where do fish live?", "Fish live in water."),
    ("What is ice?", "Ice is frozen water."),
    ("When is it dark?", "It is dark at night."),
    ("What falls from clouds?", "Rain falls from clouds."),
]


def write_facts(folder: Path) -> Path:
    """``FACTS`` as an OpenAI chat JSONL file in ``folder``."""
    path = folder / "facts.jsonl"
    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            for q, a in FACTS]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path
