"""A classify workflow with the real embedded model tells clearly different texts apart: a
grammar of the labels made SmolLM2-135M answer the first label listed for every document."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done
from anyllm_desktop.models.embedded import smollm2_chat
from anyllm_desktop.providers.llama_local import LocalLlamaProvider
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.workflows.loading import parse_text
from anyllm_desktop.services.workflows.runner import run_workflow
from anyllm_desktop.services.workflows.steps import CHANNEL_TOKENS
from tests.e2e.conftest import ingest

pytestmark = pytest.mark.e2e

LABELS = ["positive", "neutral", "negative"]
FLOW = """\
version: 1
id: moods
name: Moods
steps:
  - name: each
    kind: map
    steps:
      - name: mood
        kind: classify
        instructions: What is the sentiment of this text?
        labels: [positive, neutral, negative]
  - name: table
    kind: output
    table: each
"""
DOCS = {
    "rave.txt": "I love this blender. It makes the smoothest soup I have ever had. Five stars!",
    "refund.txt": "I want a refund. It broke after two days and nobody answers. Terrible service.",
    "delivery.txt": "Your parcel 4471 was delivered on Tuesday at 10:12 to the neighbour.",
}


def test_clearly_different_texts_do_not_all_get_the_same_label(
    library: Library, tmp_path: Path
) -> None:
    library.create_workspace("w")
    for name, text in DOCS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    ingest(library, "w", *(tmp_path / name for name in DOCS))
    events = list(run_workflow(library, "w", parse_text(FLOW, "flow.yaml"), CancelToken()))
    assert isinstance(events[-1], Done), events[-1]
    moods = {row.document: row.values["mood"] for row in events[-1].result.rows}
    assert set(moods) == set(DOCS)
    assert all(mood in LABELS for mood in moods.values()), moods
    assert len(set(moods.values())) > 1, moods


def test_the_channel_scores_a_long_text_by_its_first_tokens() -> None:
    provider = LocalLlamaProvider(smollm2_chat().files[0].path, context_size=2048)
    provider.load()
    try:
        prompt = [ChatMessage("user", "Write a short text. Answer: negative.")]
        long_text = " ".join(["The parcel came late and the box was crushed."] * 20)
        cut = provider.score_answers(prompt, [long_text], CancelToken(), CHANNEL_TOKENS)
        whole = provider.score_answers(prompt, [long_text], CancelToken())
        short = provider.score_answers(prompt, ["Late."], CancelToken(), CHANNEL_TOKENS)
    finally:
        provider.unload()
    assert cut.labels[0].tokens == CHANNEL_TOKENS < whole.labels[0].tokens
    assert cut.labels[0].logprob > whole.labels[0].logprob  # fewer tokens, less improbable
    assert short.labels[0].tokens < CHANNEL_TOKENS  # the whole text and the end of the turn
