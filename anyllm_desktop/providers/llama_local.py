"""The local chat backend: a GGUF model run by llama.cpp through llama-cpp-python.

``llama_cpp`` is imported on first load, never at module import, so the GUI starts without it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Event, Progress, Token, Usage
from anyllm_desktop.providers.base import Capabilities, Completion, GenerationOptions
from anyllm_desktop.providers.llama_constrained import greedy_constrained, is_greedy
from anyllm_desktop.providers.llama_scoring import LabelScores, answer_logprobs


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


def json_schema_grammar(schema: dict[str, Any]) -> str:
    """The GBNF grammar of a JSON schema (llama.cpp's own converter), for ``options.grammar``."""
    import json

    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return str(json_schema_to_gbnf(json.dumps(schema)))


@lru_cache(maxsize=32)
def _compiled_grammar(text: str) -> Any:
    """A grammar is parsed once per text (a map step uses the same one for every document)."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class ModelDoesNotFitError(RuntimeError):
    """The model file is larger than the memory this machine has free."""


def check_memory(model_path: Path, gpu_layers: int) -> None:
    """Refuse, with a message that says what to do, to load a model that cannot fit in RAM.

    llama.cpp maps the file and needs roughly its size plus the KV cache and scratch buffers;
    loading a model that does not fit swaps the machine to a standstill instead of failing.
    Layers offloaded to a GPU do not count against RAM, so the check is skipped then.
    """
    import psutil

    if gpu_layers:
        return
    size = model_path.stat().st_size
    available = psutil.virtual_memory().available
    needed = int(size * 1.1) + 256 * 2**20
    if needed > available:
        raise ModelDoesNotFitError(
            f"{model_path.name} needs about {needed / 2**30:.1f} GB of memory, but only "
            f"{available / 2**30:.1f} GB are free. Close other programs, choose a smaller "
            "model or quantization, or offload layers to a GPU."
        )


def chat_formatter(llama: Any) -> Any:
    """The chat template stored in the GGUF file; ChatML for files that carry none."""
    from llama_cpp import llama_chat_format

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return llama_chat_format.Jinja2ChatFormatter(
            template=llama_chat_format.CHATML_CHAT_TEMPLATE,
            eos_token=llama_chat_format.CHATML_EOS_TOKEN,
            bos_token=llama_chat_format.CHATML_BOS_TOKEN,
        )
    eos, bos = llama.token_eos(), llama.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=llama.detokenize([eos], special=True).decode("utf-8", "replace")
        if eos >= 0
        else "",
        bos_token=llama.detokenize([bos], special=True).decode("utf-8", "replace")
        if bos >= 0
        else "",
        stop_token_ids=[eos],
    )


class LocalLlamaProvider:
    """Streams chat completions from one loaded GGUF model.

    Not thread-safe: one thread owns an instance (``ModelHost`` in providers/model_host.py).
    The prompt is evaluated in ``batch_size`` pieces with the cancel token checked between
    them, and only the part after the longest prefix shared with the previous call is
    evaluated at all (llama.cpp keeps that prefix in its KV cache).
    """

    name = "local"
    capabilities = Capabilities(local=True, exact_token_count=True, prompt_cache=True, grammar=True)

    def __init__(
        self,
        model_path: Path,
        *,
        context_size: int = 8192,
        threads: int = 0,
        gpu_layers: int = 0,
        flash_attention: bool = False,
        lora_path: Path | None = None,
        batch_size: int = 256,
        seed: int = 0,
    ) -> None:
        self.model_path = model_path
        self.requested_context = context_size
        self.threads = threads or available_cores()
        self.gpu_layers = gpu_layers
        self.flash_attention = flash_attention
        self.lora_path = lora_path
        self.batch_size = batch_size
        self.seed = seed
        self._llama: Any = None
        self._formatter: Any = None

    @property
    def model(self) -> str:
        """The model's file name, with its adapter's folder (the adapter's id) when it has one."""
        if self.lora_path is None:
            return self.model_path.name
        return f"{self.model_path.name} + {self.lora_path.parent.name or self.lora_path.name}"

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    @property
    def context_size(self) -> int:
        return int(self._llama.n_ctx()) if self._llama is not None else self.requested_context

    def load(self) -> None:
        if self._llama is not None:
            return
        from llama_cpp import Llama

        self._check_files()
        try:
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.requested_context,
                n_batch=self.batch_size,
                n_ubatch=self.batch_size,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                n_gpu_layers=self.gpu_layers,
                flash_attn=self.flash_attention,
                lora_path=str(self.lora_path) if self.lora_path else None,
                seed=self.seed,
                verbose=False,
            )
        except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
            raise RuntimeError(
                f"llama.cpp cannot load {self.model_path.name}: the file is damaged or "
                "incomplete, or its architecture is newer than this llama.cpp."
            ) from exc
        self._formatter = chat_formatter(self._llama)

    def _check_files(self) -> None:
        if not self.model_path.is_file():
            raise FileNotFoundError(f"The model file {self.model_path} does not exist.")
        if self.lora_path is not None and not self.lora_path.is_file():
            raise FileNotFoundError(f"The LoRA adapter {self.lora_path} does not exist.")
        check_memory(self.model_path, self.gpu_layers)

    def load_steps(self, cancel: CancelToken, block: int = 32 * 2**20) -> Iterator[Progress]:
        """Load with progress: the file is read once in blocks (cancel checked between them),
        so llama.cpp's memory-mapped load that follows comes from the page cache in a moment.
        Returns without loading when cancelled."""
        if self._llama is not None:
            return
        self._check_files()
        size = self.model_path.stat().st_size
        buffer = bytearray(block)
        done = 0
        started = time.perf_counter()
        message = f"Loading {self.model_path.name}"
        with self.model_path.open("rb", buffering=0) as handle:
            while read := handle.readinto(buffer):
                done += read
                elapsed = time.perf_counter() - started
                eta = elapsed * (size - done) / done if elapsed > 0.5 else None
                yield Progress("load", done, size, message, eta)
                if cancel.cancelled:
                    return
        self.load()
        yield Progress("load", size, size, f"Loaded {self.model_path.name}")

    def unload(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None
            self._formatter = None

    def _format(self, messages: Sequence[ChatMessage]) -> tuple[list[int], list[str]]:
        """The prompt's tokens through the model's chat template, and its stop strings."""
        self.load()
        formatted = self._formatter(
            messages=[{"role": m.role, "content": m.content} for m in messages]
        )
        tokens = self._llama.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )
        stop = formatted.stop or []
        return list(tokens), [stop] if isinstance(stop, str) else [s for s in stop if s]

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self._format(messages)[0])

    def score_answers(self, messages: Sequence[ChatMessage], answers: Sequence[str],
                      cancel: CancelToken, limit: int | None = None) -> LabelScores:  # fmt: skip
        """Each answer's log-probability as the reply to ``messages`` (``llama_scoring.py``:
        how a classify step chooses its label). On the thread that owns this provider."""
        return answer_logprobs(self, messages, answers, cancel, limit)

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]:
        started = time.perf_counter()
        try:
            tokens, stop = self._format(messages)
            room = self.context_size - len(tokens)
            if room < 1:
                yield Error(
                    f"The prompt ({len(tokens)} tokens) does not fit into the model's context "
                    f"window ({self.context_size} tokens)."
                )
                return
            cached = yield from self._evaluate_prompt(tokens, cancel)
            if cached is None:
                yield from self._finish("", started, None, len(tokens), 0, 0, "cancelled")
                return
            yield from self._generate(tokens, stop, cached, min(options.max_tokens, room),
                                      options, cancel, started)  # fmt: skip
        except Exception as exc:  # llama.cpp errors must become chat errors, not crashes
            yield Error(f"The local model failed: {exc}", detail=repr(exc))

    def _evaluate_prompt(self, tokens: list[int], cancel: CancelToken
                         ) -> Generator[Progress, None, int | None]:  # fmt: skip
        """Evaluate all but the last prompt token, reusing the cached prefix, with Progress
        ("prompt": tokens read of the prompt's) after each batch; returns the number of reused
        tokens, or None when cancelled (checked between batches: Stop works while the prompt
        is read). ``create_completion`` then finds everything but the last token cached and
        evaluates just that one to sample the first token."""
        llama = self._llama
        cached = 0
        for held, wanted in zip(llama.input_ids[: llama.n_tokens], tokens[:-1], strict=False):
            if held != wanted:
                break
            cached += 1
        if cached < llama.n_tokens:
            # Drop what follows the shared prefix from the KV cache (llama-cpp-python has no
            # public call for it; create_completion does the same internally).
            if not llama._ctx.kv_cache_seq_rm(-1, cached, -1):
                llama.reset()
                cached = 0
            llama.n_tokens = cached
        total = len(tokens)
        for start in range(cached, total - 1, self.batch_size):
            if cancel.cancelled:
                return None
            yield Progress("prompt", start, total, f"Reading the prompt: {start:,} / {total:,} "
                           "tokens")  # fmt: skip
            llama.eval(tokens[start : min(start + self.batch_size, total - 1)])
        if cancel.cancelled:
            return None
        yield Progress("prompt", total, total, f"Reading the prompt: {total:,} / {total:,} tokens")
        return cached

    def _generate(
        self,
        tokens: list[int],
        stop: list[str],
        cached: int,
        max_tokens: int,
        options: GenerationOptions,
        cancel: CancelToken,
        started: float,
    ) -> Iterator[Event]:
        pieces = self._pieces(tokens, stop, max_tokens, options, cancel)
        parts: list[str] = []
        first_token_at: float | None = None
        finish_reason = "stop"
        try:
            for text, reason in pieces:
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                if cancel.cancelled:
                    finish_reason = "cancelled"
                    break
                if text:
                    parts.append(text)
                    yield Token(text)
                if reason:
                    finish_reason = reason
        finally:
            pieces.close()
        # The last sampled token is never evaluated, so it is not in n_tokens.
        sampled = int(self._llama.n_tokens) - len(tokens) + 1 if first_token_at else 0
        completion_tokens = max(0, sampled)
        yield from self._finish("".join(parts), started, first_token_at, len(tokens), cached,
                                completion_tokens, finish_reason)  # fmt: skip

    def _pieces(self, tokens: list[int], stop: list[str], max_tokens: int,
                options: GenerationOptions, cancel: CancelToken
                ) -> Generator[tuple[str, str | None], None, None]:  # fmt: skip
        """(text, finish reason or None) of the answer: greedy under a grammar checks the
        likeliest token first (``llama_constrained.py``), anything else llama-cpp-python's
        sampler chain."""
        grammar = _compiled_grammar(options.grammar) if options.grammar else None
        if grammar is not None and is_greedy(options.temperature, options.repeat_penalty):
            yield from greedy_constrained(self._llama, grammar, tokens, max_tokens, stop, cancel)
            return
        chunks = self._llama.create_completion(
            prompt=tokens,
            temperature=options.temperature,
            top_p=options.top_p,
            repeat_penalty=options.repeat_penalty,
            max_tokens=max_tokens,
            seed=self.seed if options.seed is None else options.seed,
            stop=stop,
            stream=True,
            grammar=grammar,
        )
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                yield choice.get("text") or "", choice.get("finish_reason")
        finally:
            chunks.close()

    def _finish(
        self,
        text: str,
        started: float,
        first_token_at: float | None,
        prompt_tokens: int,
        cached: int,
        completion_tokens: int,
        finish_reason: str,
    ) -> Iterator[Event]:
        finished = time.perf_counter()
        generating = finished - (first_token_at or finished)
        yield Usage(prompt_tokens, completion_tokens, cached)
        yield Done(
            Completion(
                text=text,
                stopped=finish_reason == "cancelled",
                ttft_s=(first_token_at or finished) - started,
                tokens_per_s=(completion_tokens - 1) / generating
                if generating > 0 and completion_tokens > 1
                else 0.0,
                prompt_tokens=prompt_tokens,
                cached_tokens=cached,
                completion_tokens=completion_tokens,
                finish_reason=finish_reason,
            )
        )
