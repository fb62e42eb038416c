from __future__ import annotations

from anyllm_desktop.services.retrieval import (
    Fused,
    collapse_near_duplicates,
    fuse,
    join_overlapping,
    keep_places,
)
from anyllm_desktop.store.vectors import Hit


def _hit(doc: int, chunk: int, text: str = "", *, sim: float = 0.5,
         bm25: float | None = None) -> Hit:  # fmt: skip
    return Hit(doc, chunk, text or f"passage {doc}-{chunk}", "", None, "", sim, bm25)


def test_a_passage_found_both_ways_beats_one_found_once() -> None:
    vector = [_hit(1, 0, sim=0.60), _hit(2, 0, sim=0.58)]
    text = [_hit(2, 0, sim=0.58, bm25=9.0), _hit(3, 0, sim=0.20, bm25=4.0)]
    ranked = fuse(vector, text, vector_weight=0.85)
    assert [(f.hit.doc_id, round(f.score, 3)) for f in ranked] == [
        (2, round(0.85 * 0.58 + 0.15 * 1.0, 3)),
        (1, round(0.85 * 0.60, 3)),
        (3, round(0.85 * 0.20 + 0.15 * 4.0 / 9.0, 3)),
    ]
    assert ranked[0].similarity == 0.58  # the similarity is kept for the threshold


def test_single_mode_uses_its_own_score() -> None:
    only_text = fuse([], [_hit(1, 0, bm25=2.0), _hit(2, 0, bm25=8.0)])
    assert [f.hit.doc_id for f in only_text] == [2, 1] and only_text[0].score == 1.0
    only_vector = fuse([_hit(1, 0, sim=0.3), _hit(2, 0, sim=0.7)], [])
    assert [f.score for f in only_vector] == [0.7, 0.3]


def test_reserved_passages_take_the_last_places_of_the_first_k() -> None:
    items = [Fused(_hit(doc, 0), score, score) for doc, score in
             [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6), (5, 0.5), (6, 0.4)]]  # fmt: skip
    # The embedding model's best two are 5 and 2: 2 is in the first four already, 5 takes the
    # place of 4, the lowest-ranked other passage there; the order stays the fused order.
    kept = keep_places(items, [(5, 0), (2, 0)], places=4)
    assert [f.hit.doc_id for f in kept] == [1, 2, 3, 5, 4, 6]
    # More reserved passages than places: the best-ranked of them.
    assert [f.hit.doc_id for f in keep_places(items, [(6, 0), (5, 0), (4, 0)], 2)] == [
        4, 5, 1, 2, 3, 6,
    ]  # fmt: skip
    # Reserved passages that are not among the candidates (filtered out) change nothing.
    assert keep_places(items, [(9, 0)], 4) == items


def test_near_duplicates_collapse_to_the_best_ranked() -> None:
    text = "Debian has a start-stop-daemon program that restarts processes during upgrades."
    items = [
        Fused(_hit(1, 0, text), 0.9, 0.9),
        Fused(_hit(2, 5, text + " (copy)"), 0.8, 0.8),
        Fused(_hit(3, 1, "Something else entirely about kernels."), 0.7, 0.7),
        Fused(_hit(4, 2, "Yet another topic: mailing lists."), 0.6, 0.6),
    ]
    kept = collapse_near_duplicates(items, limit=2)
    assert [f.hit.doc_id for f in kept] == [1, 3]


def test_a_passage_and_its_continuation_join_without_repeating_the_overlap() -> None:
    first = "Pinning works per package. Use apt-mark hold to keep a version."
    second = "Use apt-mark hold to keep a version. Undo it with apt-mark unhold."
    assert join_overlapping(first, second) == (
        "Pinning works per package. Use apt-mark hold to keep a version. "
        "Undo it with apt-mark unhold."
    )
    # No shared sentence (overlap 0, or a table): both texts, on separate lines.
    assert join_overlapping("One row.", "Another row.") == "One row.\nAnother row."
    # A shared end shorter than a few characters, or mid-word, is not an overlap.
    assert join_overlapping("It is x", "x marks") == "It is x\nx marks"
    assert join_overlapping("The preset value", "set value and more") == (
        "The preset value\nset value and more"
    )
