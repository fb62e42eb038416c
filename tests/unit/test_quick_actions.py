"""Quick actions without Qt: each action's prompt and constraint, the answers read back, a text
cut to the model's context, and the one-document workflows (valid, over that document)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Token
from anyllm_desktop.providers.base import Completion
from anyllm_desktop.services.quick_actions import (
    ACTIONS,
    document_workflow,
    fitted_text,
    read_answer,
    run_request,
    split_names,
    text_request,
)
from anyllm_desktop.services.workflows.loading import parse_text
from anyllm_desktop.services.workflows.steps import label_grammar


def _completion(text: str, finish: str = "stop") -> Completion:
    return Completion(text=text, stopped=False, ttft_s=0.0, tokens_per_s=0.0, prompt_tokens=0,
                      cached_tokens=0, completion_tokens=1, finish_reason=finish)  # fmt: skip


def test_each_action_asks_for_the_text_last_and_holds_classify_and_extract_to_a_grammar() -> None:
    for action in ACTIONS:
        request = text_request(action, "THE TEXT", language="German", labels=("bug", "praise"),
                               fields=("Invoice number", "Total"))  # fmt: skip
        assert request.messages[-1].content.endswith("THE TEXT")
    classify = text_request("classify", "x", labels=("bug", "praise"))
    assert classify.options.grammar == label_grammar(("bug", "praise"))
    sentiment = text_request("sentiment", "x")
    assert sentiment.labels == ("positive", "neutral", "negative")
    extract = text_request("extract", "x", fields=("Invoice number", "Total"))
    assert extract.options.json_schema is not None
    assert list(extract.options.json_schema["properties"]) == ["invoice_number", "total"]
    assert "invoice_number" in (extract.options.grammar or "")
    assert "German" in text_request("translate", "x", language="German").messages[-1].content


@pytest.mark.parametrize(("action", "given", "says"), [
    ("translate", {}, "language"), ("classify", {"labels": ("one",)}, "two labels"),
    ("extract", {}, "field"), ("shout", {}, "no quick action"),
])  # fmt: skip
def test_a_missing_parameter_is_refused_saying_what_to_give(action: str, given: dict,
                                                            says: str) -> None:  # fmt: skip
    with pytest.raises(ValueError, match=says):
        text_request(action, "text", **given)


def test_answers_are_read_as_a_label_or_named_fields() -> None:
    classify = text_request("classify", "x", labels=("Bug", "Praise"))
    assert read_answer(classify, _completion("praise")).value == "Praise"
    with pytest.raises(ValueError, match="none of the labels"):
        read_answer(classify, _completion("maybe"))
    extract = text_request("extract", "x", fields=("Invoice number", "Total"))
    result = read_answer(extract, _completion('{"invoice_number": "A-17", "total": ""}'))
    assert result.value == {"Invoice number": "A-17", "Total": ""}
    assert "**Invoice number**: A-17" in result.text
    cut = read_answer(text_request("summarize", "x"), _completion("Half a", finish="length"))
    assert "cut at 300 tokens" in cut.notes[0]


def test_a_text_longer_than_the_budget_is_cut_to_fit_and_says_so() -> None:
    words = " ".join(f"w{i}" for i in range(1000))
    count = len  # one token a character: plain and exact
    fitted, cut = fitted_text(words, count, 500)
    assert cut and 0 < count(fitted) <= 500 and words.startswith(fitted)
    assert fitted_text("short", count, 500) == ("short", False)


def test_run_request_streams_tokens_then_the_read_result_or_the_reason() -> None:
    request = text_request("sentiment", "I love it")

    def stream(text: str) -> object:
        def produce(messages: object, options: object, cancel: CancelToken) -> Iterator[Event]:
            yield Token(text)
            yield Done(_completion(text))

        return produce

    events = list(run_request(request, stream("positive"), CancelToken()))  # type: ignore[arg-type]
    assert isinstance(events[0], Token) and events[-1].result.value == "positive"  # type: ignore[union-attr]
    bad = list(run_request(request, stream("great"), CancelToken()))  # type: ignore[arg-type]
    assert isinstance(bad[-1], Error) and "none of the labels" in bad[-1].message


def test_document_workflows_are_valid_and_run_over_that_one_document() -> None:
    for action in ACTIONS:
        text = document_workflow(action, "report 2024.pdf", language="French",
                                 labels=("a", "b"), fields=("Date",))  # fmt: skip
        spec = parse_text(text, f"{action}.yaml")
        assert spec.documents is not None and "report 2024.pdf" in str(spec.documents)
        kinds = [s.kind for s in spec.steps]
        assert kinds[0] == "map" and kinds[-1] == "output"
    keypoints = parse_text(document_workflow("keypoints", "r.md"), "k.yaml")
    assert [s.kind for s in keypoints.steps] == ["map", "reduce", "output"]
    classify = parse_text(document_workflow("classify", "r.md", labels=("a", "b")), "c.yaml")
    assert classify.steps[0].steps[0].labels == ("a", "b")


def test_labels_and_fields_are_split_as_typed() -> None:
    assert split_names(" bug, billing;praise,\nbug ") == ("bug", "billing", "praise")
