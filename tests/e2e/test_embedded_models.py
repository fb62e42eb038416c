"""The bundled models, loaded for real: golden outputs catch silent regressions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Token, Usage
from anyllm_desktop.models.catalog import check_model
from anyllm_desktop.models.embedded import embedded_models
from anyllm_desktop.providers.base import GenerationOptions
from anyllm_desktop.services.runtime import Runtime

pytestmark = pytest.mark.e2e

SYSTEM = "You are a helpful assistant."
QUESTION = (
    "Answer from the context. Context: The office opens at 9 am. "
    "Question: When does the office open?"
)
# SmolLM2-135M-Instruct Q4_1, greedy (temperature 0), seed 0, llama-cpp-python 0.3.36.
GOLDEN_ANSWER = (
    'The office opens at 9 am.\nIn this context, the answer is "at 9 am" in the context of a '
    "business meeting or event."
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return Runtime.open(tmp_path_factory.mktemp("home"))


def test_every_embedded_file_is_installed_and_intact() -> None:
    for spec in embedded_models():
        assert all(check.ok for check in check_model(spec)), spec.id


def test_generation_at_temperature_zero_matches_the_golden_answer(runtime: Runtime) -> None:
    provider = runtime.create_chat_provider()
    events = list(
        provider.stream(
            [ChatMessage("system", SYSTEM), ChatMessage("user", QUESTION)],
            GenerationOptions(temperature=0.0, max_tokens=32),
            CancelToken(),
        )
    )
    tokens = [e.text for e in events if isinstance(e, Token)]
    done = events[-1]
    assert isinstance(done, Done)
    assert "".join(tokens) == done.result.text == GOLDEN_ANSWER
    assert next(e for e in events if isinstance(e, Usage)).completion_tokens == len(tokens)
    provider.unload()


def test_cancel_between_tokens_keeps_the_partial_answer(runtime: Runtime) -> None:
    provider = runtime.create_chat_provider()
    cancel = CancelToken()
    tokens: list[str] = []
    done = None
    for event in provider.stream(
        [ChatMessage("user", "Count from one to fifty in words.")],
        GenerationOptions(temperature=0.0, max_tokens=200),
        cancel,
    ):
        if isinstance(event, Token):
            tokens.append(event.text)
            if len(tokens) == 3:
                cancel.cancel()
        elif isinstance(event, Done):
            done = event
    assert done is not None and done.result.stopped is True
    assert len(tokens) == 3 and done.result.text == "".join(tokens)
    provider.unload()


def test_embedding_matches_golden_values_and_the_fp32_reference(runtime: Runtime) -> None:
    embedder = runtime.create_embedder()
    vectors = embedder.embed(
        [
            "hello world",
            "Private document chat on your own computer.",
            "A cat sleeps on the sofa.",
            "The kitten naps on the couch.",
        ]
    )
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Golden values of this int8 file (regression guard).
    assert np.allclose(vectors[1, :4], [-0.04546, -0.01314, 0.01187, -0.01744], atol=1e-4)
    # fastembed's canonical values for the fp32 all-MiniLM-L6-v2 on "hello world": int8 weights
    # stay within 0.01 of them (a wrong tokenizer, pooling or normalisation would not).
    fp32_reference = [-0.034478, 0.03102, 0.00673, 0.02611, -0.039362]
    assert np.allclose(vectors[0, :5], fp32_reference, atol=0.01)
    # Meaning, not just numbers: the paraphrase is the nearest neighbour.
    similarity = vectors @ vectors.T
    assert similarity[2, 3] > 0.6 and similarity[2, 3] > similarity[2, 1] + 0.3


def test_embedder_tokenizer_reads_256_word_pieces(runtime: Runtime, anyllm_home: Path) -> None:
    """all-MiniLM-L6-v2 was trained on 256 tokens; the tokenizer must not claim 512."""
    from fastembed.common.preprocessor_utils import load_tokenizer

    embedder = runtime.create_embedder()
    tokenizer, _ = load_tokenizer(embedder.model_dir)
    assert len(tokenizer.encode("word " * 1000).ids) == 256


def test_bulk_session_runs_two_batches_at_once_with_the_same_vectors(runtime: Runtime) -> None:
    """Ingestion's sibling session (half the cores, two batches in flight, half the tokens per
    batch) gives the vectors of the session that answers questions."""
    from concurrent.futures import ThreadPoolExecutor

    embedder = runtime.create_embedder()
    embedder.threads = 2  # as on the 2-core CI machine, whatever this machine has
    bulk = embedder.for_bulk()
    assert bulk is not embedder and bulk is embedder.for_bulk()  # one sibling, kept
    assert (bulk.threads, bulk.concurrent_batches) == (1, 2)
    assert bulk.batch_tokens == embedder.batch_tokens // 2
    texts = [f"Passage {i} about {topic}." for i, topic in enumerate(["apt", "dpkg", "tar"] * 4)]
    with ThreadPoolExecutor(2) as pool:
        halves = list(pool.map(bulk.embed, [texts[:6], texts[6:]]))
    assert np.allclose(np.vstack(halves), embedder.embed(texts), atol=1e-5)
    embedder.unload()
    assert bulk._model is None  # freed with its parent


def test_a_question_embedded_again_is_not_run_again(runtime: Runtime) -> None:
    """The search and the evidence finder embed the same question: the second time its kept
    vector comes back (the model, unloaded meanwhile, is not loaded for it), and changing
    the returned row does not change what is kept."""
    embedder = runtime.create_embedder()
    question = "How do I keep a package at its version?"
    first = embedder.embed([question])
    embedder.unload()
    first[0, :] = 0.0
    again = embedder.embed([question])
    assert embedder._model is None and np.isclose(np.linalg.norm(again[0]), 1.0)
    # One by one (as the evidence finder embeds), the vectors of one batch.
    texts = ["Run apt-mark hold.", "A much longer sentence about pinning a package's version."]
    assert np.allclose(embedder.embed(texts, 1), embedder.embed(texts, 2), atol=1e-5)
