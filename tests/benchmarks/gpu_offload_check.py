"""GPU offload through the app's own provider, on a CUDA build of llama-cpp-python.

Not part of the test suite (CI has no GPU; nothing in the app depends on one). Run on a machine
with an NVIDIA GPU, CUDA's compiler and no network, as done for RESULTS.md:

    # here: the sdist without .git/, docs/, benches/ and vendor/llama.cpp/models/ (9.5 MB .tar.xz)
    # there:
    CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_NATIVE=off" \
        pip wheel --no-deps --no-build-isolation -w wheels llama_cpp_python-0.3.36/
    python gpu_offload_check.py make-model tokenizer.gguf big.gguf 2048 16 32 8 5632 \
        llama_cpp_python-0.3.36/vendor/llama.cpp/gguf-py
    python gpu_offload_check.py check big.gguf

``make-model`` writes a Llama-architecture GGUF with random f16 weights of the given width,
layers, heads, KV heads and feed-forward size, taking the tokenizer and chat template from
another GGUF (a 1.6 GB model is made in seconds on the GPU machine, so nothing large travels).
``check`` loads it with ``LocalLlamaProvider`` at several ``gpu_layers`` settings and prints the
GPU memory nvidia-smi reports before and after loading, and the time of one streamed answer.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def make_model(source: str, target: str, sizes: list[int], gguf_py: str) -> None:
    import numpy as np

    sys.path.insert(0, gguf_py)
    import gguf

    width, layers, heads, kv_heads, feed_forward = sizes
    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(target, "llama")
    overrides = {
        "llama.embedding_length": width,
        "llama.block_count": layers,
        "llama.attention.head_count": heads,
        "llama.attention.head_count_kv": kv_heads,
        "llama.feed_forward_length": feed_forward,
        "llama.rope.dimension_count": width // heads,
        "llama.context_length": 4096,
    }
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if name in overrides:
            writer.add_uint32(name, overrides[name])
        elif field.types[0] == gguf.GGUFValueType.ARRAY:
            writer.add_array(name, field.contents())
        else:
            writer.add_key_value(name, field.contents(), field.types[0])
    vocabulary = len(reader.fields["tokenizer.ggml.tokens"].data)
    rng = np.random.default_rng(0)

    def matrix(name: str, rows: int, columns: int) -> None:
        values = rng.standard_normal((rows, columns), dtype=np.float32) * 0.02
        writer.add_tensor(name, values.astype(np.float16))

    kv_width = width // heads * kv_heads
    matrix("token_embd.weight", vocabulary, width)
    writer.add_tensor("output_norm.weight", np.ones(width, np.float32))
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(width, np.float32))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(width, np.float32))
        matrix(f"blk.{i}.attn_q.weight", width, width)
        matrix(f"blk.{i}.attn_k.weight", kv_width, width)
        matrix(f"blk.{i}.attn_v.weight", kv_width, width)
        matrix(f"blk.{i}.attn_output.weight", width, width)
        matrix(f"blk.{i}.ffn_gate.weight", feed_forward, width)
        matrix(f"blk.{i}.ffn_up.weight", feed_forward, width)
        matrix(f"blk.{i}.ffn_down.weight", width, feed_forward)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _gpu_memory() -> str:
    if shutil.which("nvidia-smi") is None:
        return "(no nvidia-smi)"
    query = ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader"]
    return subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()


def check(model: Path) -> None:
    import llama_cpp

    from anyllm_desktop.core.cancel import CancelToken
    from anyllm_desktop.core.conversation import ChatMessage
    from anyllm_desktop.core.events import Done, Error, Token
    from anyllm_desktop.providers.base import GenerationOptions
    from anyllm_desktop.providers.llama_local import LocalLlamaProvider

    print(
        "llama_cpp", llama_cpp.__version__, "GPU offload:", llama_cpp.llama_supports_gpu_offload()
    )
    messages = [ChatMessage("system", "You are terse."), ChatMessage("user", "Say hello " * 200)]
    for layers, flash in ((0, False), (-1, False), (-1, True), (8, False)):
        before = _gpu_memory()
        provider = LocalLlamaProvider(
            model, context_size=2048, gpu_layers=layers, flash_attention=flash
        )
        provider.load()
        after = _gpu_memory()
        started = time.perf_counter()
        tokens, finished = 0, False
        options = GenerationOptions(temperature=0.0, max_tokens=64)
        for event in provider.stream(messages, options, CancelToken()):
            tokens += isinstance(event, Token)
            finished |= isinstance(event, Done)
            if isinstance(event, Error):
                print("error:", event.message)
        seconds = time.perf_counter() - started
        print(f"gpu_layers={layers} flash_attention={flash}: GPU memory {before} -> {after}; "
              f"{tokens} tokens in {seconds:.3f} s; done={finished}")  # fmt: skip
        provider.unload()


if __name__ == "__main__":
    if sys.argv[1] == "make-model":
        make_model(sys.argv[2], sys.argv[3], [int(x) for x in sys.argv[4:9]], sys.argv[9])
    else:
        check(Path(sys.argv[2]))
