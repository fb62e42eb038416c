"""How texts are grouped into embedding calls: similar lengths together, bounded by tokens, and
long texts (whose attention memory grows with the square of their length) in smaller groups."""

from __future__ import annotations

from anyllm_desktop.services.embedding import plan_batches


def test_texts_of_similar_length_go_together_within_the_bounds() -> None:
    lengths = [200, 10, 210, 12, 11, 205]
    batches = plan_batches(lengths, max_tokens=450, max_texts=2)
    assert batches == [[1, 4], [3, 0], [5, 2]]  # sorted by length, two at most
    assert all(len(b) * max(lengths[i] for i in b) <= 450 for b in batches)
    assert plan_batches(lengths, max_tokens=2048, max_texts=64) == [[1, 4, 3, 0, 5, 2]]
    assert plan_batches([], max_tokens=100, max_texts=4) == []
    assert plan_batches([5000], max_tokens=100, max_texts=4) == [[0]]  # never dropped


def test_long_texts_count_for_more_when_attention_memory_is_bounded() -> None:
    short, long = [100] * 40, [256] * 40
    assert {len(b) for b in plan_batches(short, max_tokens=2048, max_texts=64)} == {20}
    assert {len(b) for b in plan_batches(long, max_tokens=2048, max_texts=64)} == {8}
    quadratic = plan_batches(long, max_tokens=2048, max_texts=64, quadratic_from=128)
    assert {len(b) for b in quadratic} == {4}
    short_quadratic = plan_batches(short, max_tokens=2048, max_texts=64, quadratic_from=128)
    assert {len(b) for b in short_quadratic} == {20}  # short texts are not affected
