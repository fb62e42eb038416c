"""Write a trained LoRA as a GGUF adapter that llama.cpp loads (``Llama(lora_path=...)``).

The layout is what llama.cpp's ``llama_adapter_lora_init`` checks (src/llama-adapter.cpp) and
its ``convert_lora_to_gguf.py`` writes: ``general.type = adapter``, ``adapter.type = lora``,
``adapter.lora.alpha`` (float32), ``general.architecture`` equal to the base model's, and for
every adapted matrix ``<base tensor name>.lora_a`` with ggml shape [in, rank] (numpy (rank, in))
and ``.lora_b`` with ggml shape [rank, out] (numpy (out, rank)). llama.cpp then adds
``lora_scale * alpha / rank * B @ (A @ x)`` to that matrix's product, the term lora.py trained.

The LoRA was trained on the GGUF's own tensors (for ``llama`` files with Q/K already permuted
for llama.cpp's rope), so the pairs are written as they are, with no permutation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anyllm_desktop.services.training.llama_jax import Lora
from anyllm_desktop.services.training.weights import LlamaConfig


def adapter_tensors(lora: Lora) -> dict[str, np.ndarray]:
    """The per-layer float32 tensors, named as llama.cpp looks them up."""
    tensors: dict[str, np.ndarray] = {}
    for target, pair in lora.items():
        a, b = np.asarray(pair["a"], np.float32), np.asarray(pair["b"], np.float32)
        for layer in range(a.shape[0]):
            name = f"blk.{layer}.{target}.weight"
            tensors[f"{name}.lora_a"] = np.ascontiguousarray(a[layer])
            tensors[f"{name}.lora_b"] = np.ascontiguousarray(b[layer])
    return tensors


def write_adapter(
    path: Path, lora: Lora, config: LlamaConfig, alpha: float, name: str = "LoRA adapter"
) -> Path:
    """Write ``lora`` to ``path`` (replaced atomically: a half-written adapter never remains)."""
    from gguf import GGUFWriter

    partial = path.with_name(path.name + ".partial")
    writer = GGUFWriter(partial, config.architecture)
    writer.add_type("adapter")
    writer.add_name(name)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    for tensor_name, values in adapter_tensors(lora).items():
        writer.add_tensor(tensor_name, values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(path)
    return path
