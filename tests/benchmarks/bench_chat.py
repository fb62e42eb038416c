"""The chat engine against raw llama-cpp-python, on the embedded GGUF, in one run.

1. generation tokens/s: the app's path (ChatService → ModelHost → LocalLlamaProvider) vs
   `Llama.create_completion` on the same prompt tokens (target ≥ 0.95×);
2. time to first token of a RAG turn vs raw evaluation of the same prompt tokens (target
   ≤ 1.1× plus retrieval);
3. TTFT of the 6th turn of a thread vs evaluating that whole prompt from scratch (≤ 0.35×).

    .venv/bin/python tests/benchmarks/bench_chat.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done
from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.services.chat import ChatService
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.runtime import Runtime

DOCUMENT = Path(__file__).parents[1] / "data" / "debian-faq-archives.html"
QUESTIONS = [
    "What is the codename of the unstable distribution?",
    "What does the stable directory contain?",
    "What are the contrib and non-free areas?",
    "Where is the source code?",
    "What is sid?",
    "How are the archives organised?",
]
ANSWER_TOKENS = 128


def raw_run(llama: object, tokens: list[int]) -> tuple[float, float]:
    """(seconds to the first token, tokens/s after it) with a cold cache."""
    llama.reset()  # type: ignore[attr-defined]
    started = time.perf_counter()
    first = None
    count = 0
    for _ in llama.create_completion(prompt=tokens, temperature=0.0, repeat_penalty=1.1,  # type: ignore[attr-defined]
                                     max_tokens=ANSWER_TOKENS, stream=True):  # fmt: skip
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    return first - started, (count - 1) / (end - first) if end > first else 0.0


def main() -> None:
    apply_offline_environment()
    runtime = Runtime.open(Path(tempfile.mkdtemp(prefix="anyllm-bench-chat-")))
    library = Library(runtime)
    library.create_workspace("FAQ")
    list(library.ingest("FAQ", [DOCUMENT], CancelToken()))
    library.update_chat("FAQ", temperature=0.0, max_answer_tokens=ANSWER_TOKENS)
    provider = runtime.create_chat_provider()
    host = ModelHost(provider)
    service = ChatService(library, host)
    thread = None
    answers = []
    for question in QUESTIONS:
        done = [e for e in service.ask("FAQ", question, thread_id=thread) if isinstance(e, Done)]
        answers.append(done[0].result)
        thread = answers[-1].thread
    sixth = answers[-1]
    # The same prompts, raw: the first turn's and the sixth turn's, evaluated from scratch.
    messages = service.threads.messages(thread)
    system = service.threads.get(thread).system_prompt or ""
    first_prompt = [ChatMessage("system", system), ChatMessage("user", messages[0].sent_content)]
    sixth_prompt = [ChatMessage("system", system)]
    for message in messages[:-1]:
        sixth_prompt.append(ChatMessage(message.role, message.sent_content or message.content))
    llama = host.run(lambda p: p._llama)  # the raw baseline: the same loaded model
    first_tokens = host.run(lambda p: p._format(first_prompt)[0])
    sixth_tokens = host.run(lambda p: p._format(sixth_prompt)[0])
    raw_first = host.run(lambda p: raw_run(llama, first_tokens))
    raw_sixth = host.run(lambda p: raw_run(llama, sixth_tokens))
    first = answers[0].timings
    print(f"model {provider.model}, {provider.threads} threads, context {provider.context_size}")
    ratio = first["tokens_per_s"] / raw_first[1]
    print(f"1. tokens/s, turn 1: app {first['tokens_per_s']:.1f} vs raw {raw_first[1]:.1f} on the "
          f"same prompt → {ratio:.2f}× (target ≥ 0.95×)")  # fmt: skip
    print(f"2. RAG turn 1: TTFT {first['ttft_s']:.3f} s + retrieval {first['retrieval_s']:.3f} s "
          f"for {first['prompt_tokens']} prompt tokens vs raw evaluation {raw_first[0]:.3f} s → "
          f"{first['ttft_s'] / raw_first[0]:.2f}× (target ≤ 1.1× plus retrieval)")  # fmt: skip
    print(f"3. turn 6: TTFT {sixth.timings['ttft_s']:.3f} s with {sixth.timings['cached_tokens']}"
          f" of {sixth.timings['prompt_tokens']} tokens cached vs whole prompt from scratch "
          f"{raw_sixth[0]:.3f} s ({len(sixth_tokens)} tokens) → "
          f"{sixth.timings['ttft_s'] / raw_sixth[0]:.2f}× (target ≤ 0.35×)")  # fmt: skip
    host.close()
    library.close()


if __name__ == "__main__":
    main()
