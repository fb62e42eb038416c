"""Answer likelihoods from a local llama.cpp model: how a classify step chooses its label.

Held to a grammar of its labels, SmolLM2-135M answers the first label listed for nearly every
text, and reading each label's log-probability as the answer does the same, calibrated by a
content-free input ("Calibrate Before Use", Zhao et al., 2021) or not (measured:
tests/benchmarks/RESULTS.md, "Classify"). What works for it is the other direction ("noisy
channel" prompting, Min et al., 2022): the likelihood of the text itself after a prompt that
names each label. :func:`answer_logprobs` scores any answers after a prompt: the prompt is
evaluated once (its prefix reused from the KV cache like any generation), each answer's tokens
in batches on top of it.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import Cancelled, CancelToken
from anyllm_desktop.core.conversation import ChatMessage

if TYPE_CHECKING:
    from anyllm_desktop.providers.llama_local import LocalLlamaProvider

#: The text that stands for "no input" in a calibration prompt (the benchmark's baseline).
CONTENT_FREE = "N/A"


@dataclass(frozen=True)
class LabelScore:
    """The log-probability of one label's tokens after the prompt."""

    label: str
    logprob: float
    tokens: int

    @property
    def mean(self) -> float:
        return self.logprob / max(1, self.tokens)


@dataclass(frozen=True)
class LabelScores:
    """Every label's score for one prompt, and what reading the prompt took."""

    labels: list[LabelScore]
    prompt_tokens: int
    #: Prompt tokens reused from the KV cache (not evaluated again).
    cached_tokens: int


def _drain(steps: Generator[object, None, int | None]) -> int | None:
    """Run a generator of Progress to its end and return its value."""
    while True:
        try:
            next(steps)
        except StopIteration as end:
            return end.value  # type: ignore[no-any-return]


def _token_logprobs(llama: Any, tokens: list[int], targets: list[int],
                    cancel: CancelToken) -> list[float]:  # fmt: skip
    """Evaluate ``tokens`` after what the KV cache holds: the log-probability of each
    ``targets[i]`` following ``tokens[: i + 1]`` (logits for every position of a batch;
    llama-cpp-python's ``eval`` keeps only the last one's without ``logits_all``)."""
    import llama_cpp
    import numpy as np

    found: list[float] = []
    for start in range(0, len(tokens), llama.n_batch):
        if cancel.cancelled:
            raise Cancelled()
        chunk = tokens[start : start + llama.n_batch]
        wanted = targets[start : start + llama.n_batch]
        past = int(llama.n_tokens)
        llama._ctx.kv_cache_seq_rm(-1, past, -1)
        llama._batch.set_batch(batch=chunk, n_past=past, logits_all=True)
        llama._ctx.decode(llama._batch)
        llama.input_ids[past : past + len(chunk)] = chunk
        llama.n_tokens = past + len(chunk)
        pointer = llama_cpp.llama_get_logits(llama.ctx)
        logits = np.ctypeslib.as_array(pointer, shape=(len(chunk), llama.n_vocab()))
        top = logits.max(axis=1)
        norm = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        found.extend((logits[np.arange(len(chunk)), wanted] - norm).tolist())
    return found


def _reply(ids: list[int], end: list[int], limit: int | None) -> list[int]:
    """An answer's tokens as scored: whole with the end of the turn, or its first ``limit``."""
    return ids[:limit] if limit is not None and len(ids) > limit else [*ids, *end]


def reply_token_logprobs(provider: LocalLlamaProvider, messages: Sequence[ChatMessage],
                         answers: Sequence[str], cancel: CancelToken, limit: int | None = None,
                         ) -> tuple[list[list[float]], int, int]:  # fmt: skip
    """Per answer, the log-probability of each of its tokens as the whole reply to
    ``messages``: its tokens, then the end of the turn; with ``limit``, of an answer's first
    ``limit`` tokens when it has more (its beginning, not yet the end of the turn). Also the
    prompt's tokens and how many of them were cached. The prompt is read once (its cached
    prefix reused), each answer on top of it. Runs on the thread that owns ``provider`` (the
    model host's, in the app); raises Cancelled when ``cancel`` is set, ValueError when it
    does not fit the context window."""
    tokens, stop = provider._format(messages)
    llama = provider._llama
    end = llama.tokenize(stop[0].encode("utf-8"), add_bos=False, special=True)[:1] if stop else []
    replies = [_reply(llama.tokenize(x.encode("utf-8"), add_bos=False), end, limit)
               for x in answers]  # fmt: skip
    needed = len(tokens) + max(len(ids) for ids in replies)
    if needed > provider.context_size:
        raise ValueError(f"The prompt and answer ({needed} tokens) do not fit into the "
                         f"model's context window ({provider.context_size} tokens).")  # fmt: skip
    cached = _drain(provider._evaluate_prompt(tokens, cancel))
    if cached is None:
        raise Cancelled()
    base = int(llama.n_tokens)  # every prompt token but the last
    found: list[list[float]] = []
    for ids in replies:
        llama.n_tokens = base  # each answer follows the prompt alone
        found.append(_token_logprobs(llama, [tokens[-1], *ids[:-1]], ids, cancel))
    return found, len(tokens), cached


def answer_logprobs(provider: LocalLlamaProvider, messages: Sequence[ChatMessage],
                    answers: Sequence[str], cancel: CancelToken, limit: int | None = None,
                    ) -> LabelScores:  # fmt: skip
    """Each answer's log-probability as the reply to ``messages``: the sum of
    :func:`reply_token_logprobs`, which says how it is read."""
    found, prompt, cached = reply_token_logprobs(provider, messages, answers, cancel, limit)
    scores = [LabelScore(a, sum(x), len(x)) for a, x in zip(answers, found, strict=True)]
    return LabelScores(scores, prompt, cached)


def best_label(scores: Sequence[float], labels: Sequence[str],
               baseline: Sequence[float] | None = None) -> str:  # fmt: skip
    """The label with the highest score, less its content-free baseline when given; ties go
    to the label listed first."""
    values = [s - (baseline[i] if baseline else 0.0) for i, s in enumerate(scores)]
    return labels[max(range(len(labels)), key=lambda i: (values[i], -i))]
