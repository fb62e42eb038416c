"""The better model offered for this computer: fits its memory, answers at a readable speed."""

from __future__ import annotations

from anyllm_desktop.models.recommend import MIN_TOKENS_PER_S, expected_speed, recommend

GB = 2**30


def test_a_two_core_laptop_gets_a_small_capable_model() -> None:
    chosen = recommend(8 * GB, cores=2)
    assert chosen is not None and chosen.model.name.startswith("SmolLM2 1.7B")
    assert chosen.tokens_per_s >= MIN_TOKENS_PER_S
    assert "1,056 MB download" in chosen.describe() and "tokens/s" in chosen.describe()


def test_more_cores_and_memory_get_a_larger_one_and_too_little_memory_none() -> None:
    big = recommend(32 * GB, cores=8)
    assert big is not None and big.model.size_mb > 2000
    assert recommend(2 * GB, cores=8) is None  # nothing of 1B+ fits in 30% of 2 GB


def test_speed_follows_size_and_cores() -> None:
    assert expected_speed(98 / 1.0, 2) > 55  # the embedded model's measured ~60 tokens/s
    assert expected_speed(1000, 4) == 2 * expected_speed(1000, 2)
