"""The local chat backend: a GGUF model run by llama.cpp through llama-cpp-python.

``llama_cpp`` is imported on first load, never at module import, so the GUI starts without it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Token, Usage
from anyllm_desktop.providers.base import ChatMessage, GenerationOptions


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def llama_system_info() -> str:
    """llama.cpp's own report of the CPU features its build uses."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    return info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)


class LocalLlamaProvider:
    """Streams chat completions from one loaded GGUF model.

    Not thread-safe: one thread owns an instance (see ARCHITECTURE.md, "single-owner resources").
    """

    name = "local"

    def __init__(
        self,
        model_path: Path,
        *,
        context_size: int = 4096,
        threads: int = 0,
        gpu_layers: int = 0,
        seed: int = 0,
    ) -> None:
        self.model_path = model_path
        self.context_size = context_size
        self.threads = threads or available_cores()
        self.gpu_layers = gpu_layers
        self.seed = seed
        self._llama: Any = None

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    def load(self) -> None:
        if self._llama is not None:
            return
        from llama_cpp import Llama

        self._llama = Llama(
            model_path=str(self.model_path),
            n_ctx=self.context_size,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            n_gpu_layers=self.gpu_layers,
            seed=self.seed,
            verbose=False,
        )

    def unload(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]:
        try:
            self.load()
            started = time.perf_counter()
            chunks = self._llama.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                temperature=options.temperature,
                top_p=options.top_p,
                max_tokens=options.max_tokens,
                seed=self.seed if options.seed is None else options.seed,
                stream=True,
            )
            parts: list[str] = []
            first_token_at: float | None = None
            try:
                for chunk in chunks:
                    if cancel.cancelled:
                        break
                    text = chunk["choices"][0].get("delta", {}).get("content")
                    if text:
                        if first_token_at is None:
                            first_token_at = time.perf_counter()
                        parts.append(text)
                        yield Token(text)
            finally:
                chunks.close()
            finished = time.perf_counter()
        except Exception as exc:  # llama.cpp errors must become chat errors, not crashes
            yield Error(f"The local model failed: {exc}", detail=repr(exc))
            return
        completion_tokens = len(parts)
        yield Usage(completion_tokens=completion_tokens)
        generating = finished - (first_token_at or finished)
        yield Done(
            {
                "text": "".join(parts),
                "stopped": cancel.cancelled,
                "ttft_s": (first_token_at or finished) - started,
                "tokens_per_s": (completion_tokens - 1) / generating if generating > 0 else 0.0,
            }
        )
