"""The memory estimate covers what a LoRA run was measured to use, and a run that cannot fit is
refused with the numbers."""

from __future__ import annotations

import pytest

from anyllm_desktop.services.training.examples import TokenizedExample
from anyllm_desktop.services.training.memory import (
    check_fits,
    estimate_bytes,
    parameter_count,
    room_to_keep_linear,
)
from anyllm_desktop.services.training.weights import LlamaConfig

# The embedded SmolLM2-135M's shape (its GGUF metadata).
SMOLLM2 = LlamaConfig(
    architecture="llama",
    n_layers=30,
    width=576,
    n_heads=9,
    n_kv_heads=3,
    head_dim=64,
    ffn_width=1536,
    rms_eps=1e-5,
    rope_base=100000.0,
    rope_dims=64,
    rope_neox=False,
    rope_freq_scale=1.0,
    vocab_size=49152,
    context_length=8192,
    tied_embeddings=True,
    qkv_bias=False,
)


def example(length: int, answers: int) -> TokenizedExample:
    mask = tuple(i >= length - answers for i in range(length))
    return TokenizedExample(tokens=tuple(range(length)), answer_mask=mask)


def test_smollm2_has_its_135m_parameters() -> None:
    assert 134_000_000 < parameter_count(SMOLLM2) < 135_000_000


@pytest.mark.parametrize(
    ("rows", "length", "keep_linear", "measured_gb"),
    [
        (1, 256, False, 1.44),
        (1, 256, True, 1.62),
        (4, 256, False, 1.96),
        (4, 256, True, 2.54),
        (8, 256, False, 2.74),
        (8, 256, True, 3.78),
        (4, 512, False, 2.82),
        (4, 512, True, 3.92),
    ],
)
def test_the_estimate_covers_the_measured_peak(
    rows: int, length: int, keep_linear: bool, measured_gb: float
) -> None:
    # Peak RSS of tests/benchmarks/bench_training.py --keep-linear yes/no (answers are all but
    # ~40 prompt tokens).
    examples = [example(length, length - 40)]
    estimate = estimate_bytes(SMOLLM2, rows, examples, keep_linear) / 2**30
    assert measured_gb <= estimate <= 1.25 * measured_gb


def test_linear_outputs_are_kept_only_with_room_to_spare() -> None:
    examples = [example(256, 216)]
    needed = estimate_bytes(SMOLLM2, 4, examples, keep_linear=True) - 4 * parameter_count(SMOLLM2)
    assert room_to_keep_linear(SMOLLM2, 4, examples, free=2 * needed)
    assert not room_to_keep_linear(SMOLLM2, 4, examples, free=needed)


def test_a_run_that_cannot_fit_is_refused_with_the_numbers() -> None:
    with pytest.raises(ValueError, match=r"needs about 3\.0 GB of memory, but only 1\.5 GB"):
        check_fits(3 * 2**30, 3 * 2**29)
    check_fits(2**30, 2**31)
