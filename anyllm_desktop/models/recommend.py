"""A better chat model for this computer than the embedded 135M one: the largest suggested
model that fits its memory and still answers at a readable speed, with what to expect.

Generation on a CPU reads the whole model once per token, so its speed is about the memory
bandwidth a llama.cpp thread reaches divided by the model's size. The bandwidth per core is
measured here: the embedded model (98 MB) generates ~60 tokens/s on 2 cores
(tests/benchmarks/RESULTS.md, chat benchmark), ~3 GB/s a core; machines differ, so the speed
shown is "about", and capped where more cores stop helping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from anyllm_desktop.models.local_models import CURATED, CuratedModel

#: Bytes a second one core's generation reads (measured: 60 tokens/s x 98 MB / 2 cores).
BANDWIDTH_PER_CORE = 3.0e9
#: More cores stop helping once memory is the limit (a desktop's dual channel).
BANDWIDTH_CAP = 25e9
#: The model may take this share of the computer's memory (the app, documents and the system
#: need the rest).
MEMORY_SHARE = 0.3
#: Slower than this and an answer of 150 words takes over a minute.
MIN_TOKENS_PER_S = 4.0
#: The suggestions worth offering over the embedded model (1B parameters and more).
MIN_SIZE_MB = 750


@dataclass(frozen=True)
class Recommendation:
    model: CuratedModel
    tokens_per_s: float

    def describe(self) -> str:
        return (f"{self.model.name} — a {self.model.size_mb:,} MB download, "
                f"about {self.tokens_per_s:.0f} tokens/s on this computer")  # fmt: skip


def expected_speed(size_mb: float, cores: int) -> float:
    """Tokens a second to expect from a model of ``size_mb`` on ``cores`` cores."""
    bandwidth = min(BANDWIDTH_PER_CORE * max(cores, 1), BANDWIDTH_CAP)
    return bandwidth / (size_mb * 2**20)


def recommend(memory_bytes: int, cores: int,
              models: Sequence[CuratedModel] = CURATED) -> Recommendation | None:  # fmt: skip
    """The largest suggestion that fits ``memory_bytes`` and reaches MIN_TOKENS_PER_S on
    ``cores``; None when none does (the embedded model is then the sensible one)."""
    fitting = [
        Recommendation(m, expected_speed(m.size_mb, cores))
        for m in models
        if m.size_mb >= MIN_SIZE_MB and m.size_mb * 2**20 <= memory_bytes * MEMORY_SHARE
    ]
    fast_enough = [r for r in fitting if r.tokens_per_s >= MIN_TOKENS_PER_S]
    return max(fast_enough, key=lambda r: r.model.size_mb, default=None)
