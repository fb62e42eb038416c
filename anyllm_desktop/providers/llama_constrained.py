"""Greedy decoding under a grammar that checks the likeliest token first.

llama-cpp-python's sampler chain applies a grammar to every token of the vocabulary at every
step: 49,152 checks a token for SmolLM2. At temperature 0 and
without a repeat penalty the answer is the likeliest token the grammar allows, so when the
model's own first choice is allowed — most tokens of a JSON answer — that token is the answer
and one check found it; only when the grammar rejects it is the whole vocabulary checked
(llama.cpp's own ``common_sampler`` does the same). The tokens are the same as the sampler
chain's, one for one (tests/e2e/test_constrained_decoding.py); an extract step's answer took
0.59 s instead of 0.79 (tests/benchmarks/RESULTS.md, "Workflows: the map over 200 documents
at 3×").
"""

from __future__ import annotations

import codecs
import ctypes
from collections.abc import Iterator, Sequence
from typing import Any

from anyllm_desktop.core.cancel import CancelToken

#: What a decoding yields: (text, finish reason or None) pieces of the answer.
Pieces = Iterator[tuple[str, str | None]]
#: ``llama_token_data`` (id, logit, p) as a NumPy record, for arrays llama.cpp reads in place.
_TOKEN_DATA = [("id", "<i4"), ("logit", "<f4"), ("p", "<f4")]


def is_greedy(temperature: float, repeat_penalty: float) -> bool:
    """Whether the answer is the likeliest allowed token at each step (what this module does)."""
    return temperature == 0.0 and repeat_penalty == 1.0


class _Grammar:
    """A llama.cpp grammar sampler over a model's vocabulary: ``best`` is the likeliest token it
    allows next (applying it sets the others' logits to -inf), ``accept`` advances it."""

    def __init__(self, llama: Any, grammar: Any) -> None:
        import llama_cpp
        import numpy as np

        self._llama_cpp, self._np = llama_cpp, np
        self.vocab = llama._model.vocab
        self.sampler = llama_cpp.llama_sampler_init_grammar(
            self.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self.sampler:
            raise ValueError("llama.cpp could not parse the grammar")
        dtype = np.dtype(_TOKEN_DATA, align=True)
        self.one = np.zeros(1, dtype)
        self.every = np.zeros(llama.n_vocab(), dtype)
        self.every["id"] = np.arange(llama.n_vocab())

    def _apply(self, data: Any) -> None:
        lib = self._llama_cpp
        view = lib.llama_token_data_array(
            data.ctypes.data_as(lib.llama_token_data_p), len(data), -1, False
        )
        lib.llama_sampler_apply(self.sampler, ctypes.byref(view))

    def best(self, logits: Any) -> int:
        """The likeliest token the grammar allows: the model's first choice when it is allowed,
        otherwise the best of the whole vocabulary after the grammar."""
        token = int(logits.argmax())
        self.one[0] = (token, logits[token], 0.0)
        self._apply(self.one)
        if self._np.isfinite(self.one[0]["logit"]):
            return token
        self.every["logit"] = logits
        self._apply(self.every)
        return int(self.every["logit"].argmax())

    def accept(self, token: int) -> None:
        self._llama_cpp.llama_sampler_accept(self.sampler, token)

    def close(self) -> None:
        self._llama_cpp.llama_sampler_free(self.sampler)


def greedy_constrained(llama: Any, grammar: Any, tokens: Sequence[int], max_tokens: int,
                       stop: Sequence[str], cancel: CancelToken) -> Pieces:  # fmt: skip
    """The answer's pieces after ``tokens``, whose every token but the last the KV cache holds
    (``LocalLlamaProvider._evaluate_prompt``). The finish reason is "stop" (the end of the
    turn, or a stop string, which is cut off), "length" or "cancelled". Like
    ``create_completion``, the last token sampled is not evaluated."""
    import llama_cpp
    import numpy as np

    rules = _Grammar(llama, grammar)
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    written = ""
    try:
        llama.eval(list(tokens[-1:]))
        for count in range(1, max_tokens + 1):
            if cancel.cancelled:
                yield "", "cancelled"
                return
            pointer = llama_cpp.llama_get_logits_ith(llama._ctx.ctx, -1)
            token = rules.best(np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)))
            rules.accept(token)
            if llama_cpp.llama_vocab_is_eog(rules.vocab, token):
                yield "", "stop"
                return
            piece = text.decode(llama.detokenize([token]))
            cut = min((i for i in ((written + piece).find(s) for s in stop if s) if i >= 0),
                      default=-1)  # fmt: skip
            if cut >= 0:
                yield (written + piece)[len(written) : cut], "stop"
                return
            written += piece
            if count == max_tokens:
                yield piece, "length"
                return
            yield piece, None
            llama.eval([token])
    finally:
        rules.close()
