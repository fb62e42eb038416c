"""Hybrid retrieval: vector and full-text candidates fused by reciprocal rank, filtered by a
similarity threshold, with near-duplicate passages collapsed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from anyllm_desktop.store.vectors import Hit

#: The usual RRF constant: damps the influence of the very first ranks.
RRF_K = 60
#: Candidates fetched from each list per passage asked for.
CANDIDATES_PER_RESULT = 5
MIN_CANDIDATES = 20
#: Word-5-gram overlap above which two passages count as the same text.
NEAR_DUPLICATE_JACCARD = 0.8

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Fused:
    hit: Hit
    score: float
    similarity: float | None


def reciprocal_rank_fusion(*ranked: Sequence[Hit]) -> list[tuple[Hit, float]]:
    """Merge ranked lists: each passage scores the sum of 1 / (RRF_K + rank) over the lists it
    appears in; the vector hit's similarity is kept when a passage is in both lists."""
    scores: dict[tuple[int, int], float] = {}
    hits: dict[tuple[int, int], Hit] = {}
    for hits_list in ranked:
        for rank, hit in enumerate(hits_list, start=1):
            key = (hit.doc_id, hit.chunk)
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
            if key not in hits or (hits[key].similarity is None and hit.similarity is not None):
                hits[key] = hit
    order = sorted(scores, key=lambda k: (-scores[k], k))
    return [(hits[k], scores[k]) for k in order]


def _shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {tuple(words)}
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def collapse_near_duplicates(items: Sequence[Fused], limit: int) -> list[Fused]:
    """Keep the best-ranked of passages whose words overlap almost completely (the same
    paragraph in two copies of a document, repeated boilerplate)."""
    kept: list[Fused] = []
    kept_shingles: list[set[tuple[str, ...]]] = []
    for item in items:
        shingles = _shingles(item.hit.text)
        if any(
            len(shingles & other) / max(1, len(shingles | other)) >= NEAR_DUPLICATE_JACCARD
            for other in kept_shingles
        ):
            continue
        kept.append(item)
        kept_shingles.append(shingles)
        if len(kept) == limit:
            break
    return kept
