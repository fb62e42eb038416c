"""Before and after, through llama.cpp: the mean loss on examples' answer tokens and greedy
answers side by side, for the base model and for the base with the adapter. These are the
numbers a person reads to decide whether to use an adapter (issue 17, item 4), and they come
from the engine that will serve it, not from the trainer's own forward pass."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from anyllm_desktop.core.datasets import Example
from anyllm_desktop.services.training.examples import TokenizedExample

#: Answers shown side by side on the card (the held-out examples first).
SIDE_BY_SIDE = 5
ANSWER_TOKENS = 96


def open_llama(path: Path, *, lora: Path | None = None, context: int = 1024, threads: int = 1,
               logits: bool = True) -> Any:  # fmt: skip
    """llama.cpp on ``path`` (with the adapter ``lora``), every position's logits kept."""
    from llama_cpp import Llama

    return Llama(
        model_path=str(path), lora_path=str(lora) if lora else None, logits_all=logits,
        n_ctx=context, n_threads=threads, n_threads_batch=threads, verbose=False, seed=0,
    )  # fmt: skip


def answer_loss(llm: Any, examples: Sequence[TokenizedExample]) -> float | None:
    """llama.cpp's mean cross-entropy (nats a token) over the examples' answer tokens."""
    total, count = 0.0, 0
    for example in examples:
        llm.reset()
        llm.eval(list(example.tokens))
        logits = np.asarray(llm.scores[: len(example.tokens)], dtype=np.float64)
        shifted = logits - logits.max(-1, keepdims=True)
        logprobs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        for t in range(1, len(example.tokens)):
            if example.answer_mask[t]:
                total -= float(logprobs[t - 1, example.tokens[t]])
                count += 1
    return total / count if count else None


def answers(llm: Any, examples: Sequence[Example]) -> list[str]:
    """Greedy answers to each example's conversation without its last (the expected) reply."""
    out = []
    for example in examples:
        messages = [{"role": t.role, "content": t.content} for t in example.messages[:-1]]
        llm.reset()
        reply = llm.create_chat_completion(messages, max_tokens=ANSWER_TOKENS, temperature=0.0,
                                           seed=0)  # fmt: skip
        out.append(str(reply["choices"][0]["message"]["content"] or "").strip())
    return out
