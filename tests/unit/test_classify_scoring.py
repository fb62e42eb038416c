"""Classify on a local model chooses the label after whose prompt the text is likeliest (scored
on the model host's thread) instead of generating under a grammar."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Event
from anyllm_desktop.core.workflow_spec import StepSpec
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.models.embedded import CHAT_MODEL_ID
from anyllm_desktop.providers.base import Capabilities, GenerationOptions
from anyllm_desktop.providers.llama_scoring import LabelScore, LabelScores, _reply, best_label
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.workflows.models import StepModels
from anyllm_desktop.services.workflows.steps import CHANNEL_TOKENS, STEP_KINDS

LABELS = ("positive", "neutral", "negative")
#: log P(text | the label's prompt), by text and label.
LIKELIHOOD = {
    "Refund me now.": {"positive": -9.0, "neutral": -8.0, "negative": -4.0},
    "Parcel delivered at 10:12.": {"positive": -9.0, "neutral": -5.0, "negative": -9.5},
}


class FakeScorer:
    """A local provider that scores labels from a table and must not be asked to generate."""

    name = "local"
    capabilities = Capabilities(local=True)

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self.model = model_path.name
        self.context_size = 2048
        self.asked: list[tuple[str, str]] = []
        self.limits: list[int | None] = []

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return 10

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions,
               cancel: CancelToken) -> Iterator[Event]:  # fmt: skip
        raise AssertionError("classify generated instead of scoring its labels")

    def score_answers(self, messages: Sequence[ChatMessage], answers: Sequence[str],
                      cancel: CancelToken, limit: int | None = None) -> LabelScores:  # fmt: skip
        label = messages[-1].content.rsplit("Answer: ", 1)[1].rstrip(".")
        self.asked.append((label, threading.current_thread().name))
        self.limits.append(limit)
        return LabelScores([LabelScore(x, LIKELIHOOD[x][label], 5) for x in answers], 20, 12)


def test_best_label_subtracts_a_baseline_and_breaks_ties_by_order() -> None:
    assert best_label([-1.0, -3.0, -1.5], LABELS) == "positive"
    assert best_label([-1.0, -3.0, -1.5], LABELS, [-0.2, -3.0, -2.5]) == "negative"
    assert best_label([-1.0, -1.0, -2.0], LABELS) == "positive"


def test_a_local_classify_is_the_calibrated_best_label_scored_on_the_host(
    anyllm_home: Path,
) -> None:
    runtime = Runtime.open(anyllm_home)
    workspace = Workspace(1, "w", 0.0, "embedded", "t")
    embedded = runtime.create_chat_provider(provider="local", model=CHAT_MODEL_ID)
    served = FakeScorer(embedded.model_path)  # type: ignore[attr-defined]
    host = ModelHost(served)  # type: ignore[arg-type]
    step = StepSpec(name="mood", kind="classify", model="embedded", labels=LABELS)
    models = StepModels(runtime, workspace, host)
    try:
        models.prepare([step])
        for text, wanted in (("Refund me now.", "negative"),
                             ("Parcel delivered at 10:12.", "neutral")):  # fmt: skip
            request = STEP_KINDS["classify"].request(step, {"document": {"text": text}})
            completion = models.complete(step, request, CancelToken())
            assert completion.text == wanted  # not the first label listed
            # Three prompts of 20 tokens, 12 of them cached, and the text's 5 after each.
            assert (completion.prompt_tokens, completion.cached_tokens) == (75, 36)
    finally:
        models.close()
        host.close()
    # One scoring per label and text, every one on the model's own thread.
    assert [label for label, _ in served.asked] == [*LABELS, *LABELS]
    assert {thread for _, thread in served.asked} == {"model-owner"}
    assert models.calls == 2
    assert served.limits == [CHANNEL_TOKENS] * 6  # the text's first tokens only


def test_a_reply_is_scored_whole_with_its_end_or_by_its_first_tokens() -> None:
    assert _reply([5, 6, 7], [2], None) == [5, 6, 7, 2]
    assert _reply([5, 6, 7], [2], 3) == [5, 6, 7, 2]  # not longer than the limit: whole
    assert _reply([5, 6, 7, 8], [2], 3) == [5, 6, 7]  # cut: the turn does not end there
