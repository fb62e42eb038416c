"""Label likelihoods from a local llama.cpp model: classify by scoring, not by generating.

Held to a grammar of its labels, SmolLM2-135M answers the first label listed for nearly every
text (tests/benchmarks/RESULTS.md, "Classify"): the grammar only masks the tokens that cannot
start a label, and the small model's first token prefers whatever was listed first. Scoring
reads the log-probability of each label's tokens after the prompt instead: the prompt is
evaluated once (its prefix reused from the KV cache like any generation), then each label's few
tokens on top of it. Subtracting the same scores for a content-free input ("N/A") removes the
model's bias towards some labels whatever the text ("Calibrate Before Use", Zhao et al., 2021).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from anyllm_desktop.core.cancel import Cancelled, CancelToken
from anyllm_desktop.core.conversation import ChatMessage

if TYPE_CHECKING:
    import numpy as np

    from anyllm_desktop.providers.llama_local import LocalLlamaProvider

#: The text that stands for "no input" in the calibration prompt.
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


def _next_logprobs(llama: object) -> np.ndarray:
    """log-softmax of the logits for the token after the last one evaluated."""
    import llama_cpp
    import numpy as np

    pointer = llama_cpp.llama_get_logits_ith(llama.ctx, -1)  # type: ignore[attr-defined]
    logits = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).astype(np.float64)  # type: ignore[attr-defined]
    top = logits.max()
    return logits - top - np.log(np.exp(logits - top).sum())


def label_logprobs(provider: LocalLlamaProvider, messages: Sequence[ChatMessage],
                   labels: Sequence[str], cancel: CancelToken) -> LabelScores:  # fmt: skip
    """Each label's log-probability as the whole answer to ``messages``: its tokens, then the
    end of the turn. Runs on the thread that owns ``provider`` (the model host's, in the app);
    raises Cancelled when ``cancel`` is set while the prompt is read, ValueError when the
    prompt does not fit the context window."""
    tokens, stop = provider._format(messages)
    llama = provider._llama
    end = llama.tokenize(stop[0].encode("utf-8"), add_bos=False, special=True)[:1] if stop else []
    longest = max(len(llama.tokenize(x.encode("utf-8"), add_bos=False)) for x in labels)
    if len(tokens) + longest + 1 > provider.context_size:
        raise ValueError(f"The prompt ({len(tokens)} tokens) does not fit into the model's "
                         f"context window ({provider.context_size} tokens).")  # fmt: skip
    cached = _drain(provider._evaluate_prompt(tokens, cancel))
    if cached is None:
        raise Cancelled()
    llama.eval(tokens[-1:])
    first = _next_logprobs(llama)
    base = int(llama.n_tokens)
    scores: list[LabelScore] = []
    for label in labels:
        ids = [*llama.tokenize(label.encode("utf-8"), add_bos=False), *end]
        total = float(first[ids[0]])
        for previous, token in pairwise(ids):
            llama.eval([previous])
            total += float(_next_logprobs(llama)[token])
        llama.n_tokens = base  # the next label (or call) starts from the prompt again
        scores.append(LabelScore(label, total, len(ids)))
    return LabelScores(scores, len(tokens), cached)


def best_label(scores: Sequence[float], labels: Sequence[str],
               baseline: Sequence[float] | None = None) -> str:  # fmt: skip
    """The label with the highest score, less its content-free baseline when given; ties go
    to the label listed first."""
    values = [s - (baseline[i] if baseline else 0.0) for i, s in enumerate(scores)]
    return labels[max(range(len(labels)), key=lambda i: (values[i], -i))]
