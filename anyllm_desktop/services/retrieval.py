"""Hybrid retrieval: vector and full-text candidates fused into one ranking, filtered by a
similarity threshold, with near-duplicate passages collapsed.

Fusion is a convex combination of the cosine similarity and the BM25 score normalised by the best
BM25 score of the query (Bruch et al., "An Analysis of Fusion Functions for Hybrid Retrieval",
2023: it beats reciprocal-rank fusion when both scores are meaningful). Measured on the Debian
FAQ and Reference (tests/benchmarks/bench_retrieval_quality.py), reciprocal-rank fusion scored
below vector search alone; the convex combination scores above both. In hybrid search the
vector list's best passages keep half the places (``keep_places``): on the same benchmark the
fusion had pushed out answers that vector search alone ranked first or second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from anyllm_desktop.store.vectors import Hit

#: Weight of the cosine similarity; the normalised BM25 score gets the rest.
VECTOR_WEIGHT = 0.85
#: Candidates fetched from each list per passage asked for.
CANDIDATES_PER_RESULT = 10
MIN_CANDIDATES = 40
#: Share of the results kept for the passages the embedding model ranks highest, in hybrid
#: search (see Library.search).
VECTOR_PLACES = 0.5
#: Word-5-gram overlap above which two passages count as the same text.
NEAR_DUPLICATE_JACCARD = 0.8

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Fused:
    hit: Hit
    score: float
    similarity: float


def fuse(
    vector_hits: Sequence[Hit], text_hits: Sequence[Hit], vector_weight: float = VECTOR_WEIGHT
) -> list[Fused]:
    """One ranking from both candidate lists (either may be empty, for single-mode search)."""
    best_bm25 = max((h.text_score or 0.0 for h in text_hits), default=0.0) or 1.0
    bm25 = {(h.doc_id, h.chunk): (h.text_score or 0.0) / best_bm25 for h in text_hits}
    hits = {(h.doc_id, h.chunk): h for h in [*text_hits, *vector_hits]}
    if not vector_hits:
        vector_weight = 0.0
    elif not text_hits:
        vector_weight = 1.0
    fused = [
        Fused(
            hit,
            vector_weight * hit.similarity + (1 - vector_weight) * bm25.get(key, 0.0),
            hit.similarity,
        )
        for key, hit in hits.items()
    ]
    return sorted(fused, key=lambda f: (-f.score, f.hit.doc_id, f.hit.chunk))


def keep_places(
    items: Sequence[Fused], reserved: Sequence[tuple[int, int]], places: int
) -> list[Fused]:
    """``items`` with the ``reserved`` (document, chunk) passages among them moved into the
    first ``places``, each taking the place of the lowest-ranked other passage there; the rest
    keeps the fused order."""
    wanted = set(reserved)
    kept = [i for i in items if (i.hit.doc_id, i.hit.chunk) in wanted][:places]
    kept_keys = {(i.hit.doc_id, i.hit.chunk) for i in kept}
    others = [i for i in items if (i.hit.doc_id, i.hit.chunk) not in kept_keys]
    free = places - len(kept)
    head = sorted([*kept, *others[:free]], key=lambda f: (-f.score, f.hit.doc_id, f.hit.chunk))
    return [*head, *others[free:]]


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


def join_overlapping(first: str, second: str, min_overlap: int = 8) -> str:
    """``first`` followed by ``second``, the sentences the chunker repeated at the start of
    ``second`` (its overlap) written once."""
    if not second:
        return first
    position = first.find(second[0], max(0, len(first) - len(second)))
    while position >= 0:  # the earliest match is the longest overlap
        tail = first[position:]
        at_word = position == 0 or first[position - 1].isspace()
        if len(tail) >= min_overlap and at_word and second.startswith(tail):
            return first[:position] + second
        position = first.find(second[0], position + 1)
    return f"{first}\n{second}"
