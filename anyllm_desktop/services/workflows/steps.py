"""The step kinds that ask a model, one small class each, registered in :data:`STEP_KINDS`.

A kind turns its step and the values in scope into a :class:`Request` (messages, grammar,
answer length) and the model's text into its output. The runner does the rest the same way for
every kind: the cache lookup, the model call, retries and the error policy. ``map`` and
``output`` shape the run itself and live in ``runner.py``; ``reduce`` is asked once per group
of outputs (``summaries.py`` makes the groups). A new kind: its fields in
``core/workflow_spec.py``'s ``KIND_RULES``, its class here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.sentences import cut_to_sentence
from anyllm_desktop.core.workflow_spec import StepSpec, WorkflowSpec
from anyllm_desktop.core.workflow_templates import render
from anyllm_desktop.providers.base import Completion
from anyllm_desktop.providers.llama_local import json_schema_grammar

DEFAULT_INPUT = "{{document.text}}"


class StepFailed(Exception):
    """One step on one item failed; the message says why, for the table and the log."""


@dataclass(frozen=True)
class Request:
    messages: list[ChatMessage]
    #: GBNF the local model is held to (None: free text).
    grammar: str | None = None
    #: The JSON schema of the answer, for a cloud provider's structured output.
    json_schema: Mapping[str, Any] | None = None
    #: The only answers (classify's labels): a local model scores them instead of generating.
    choices: tuple[str, ...] = ()
    #: Per choice, a prompt that the input would answer if the choice were right: a local
    #: model ranks the choices by the input's likelihood after each (``llama_scoring.py``).
    channel: tuple[list[ChatMessage], ...] = ()
    #: The input classified, which ``channel`` scores.
    text: str = ""
    #: How many of ``text``'s first tokens ``channel`` scores (None: all of them).
    text_tokens: int | None = None


class StepKind(Protocol):
    def request(self, step: StepSpec, scope: Mapping[str, Any]) -> Request: ...

    def parse(self, step: StepSpec, completion: Completion) -> Any: ...


def _input(step: StepSpec, scope: Mapping[str, Any]) -> str:
    return render(step.input or DEFAULT_INPUT, scope)


def _cut_note(step: StepSpec, completion: Completion) -> str:
    if completion.finish_reason == "length":
        return f" (the answer was cut at max_tokens {step.max_tokens}: raise it)"
    return ""


class PromptKind:
    def request(self, step: StepSpec, scope: Mapping[str, Any]) -> Request:
        system = [ChatMessage("system", render(step.system, scope))] if step.system else []
        return Request([*system, ChatMessage("user", render(step.prompt, scope))])

    def parse(self, step: StepSpec, completion: Completion) -> Any:
        text = completion.text.strip()
        if not text:
            raise StepFailed("the model gave an empty answer")
        # Cut at max_tokens: ended at its last whole sentence, not in the middle of a word.
        return cut_to_sentence(text) if completion.finish_reason == "length" else text


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def label_grammar(labels: tuple[str, ...]) -> str:
    """A grammar whose only sentences are the labels."""
    return "root ::= " + " | ".join(_literal(label) for label in labels)


#: The channel scoring reads this many of the input's first tokens after each label's prompt
#: (about 50 words). Measured (tests/benchmarks/RESULTS.md, "Workflows: the map over 200
#: documents at 3×, and how much of the text a classify reads"): on 200 generated messages
#: (median 111 tokens) 95 right at 64 vs 88 reading all; the 36 hand-written texts, all
#: shorter, unchanged; and a long text's cost no longer grows with its length times the labels.
CHANNEL_TOKENS = 64


class ClassifyKind:
    def request(self, step: StepSpec, scope: Mapping[str, Any]) -> Request:
        task = render(step.instructions, scope) or "Classify this text."
        labels = ", ".join(step.labels)
        text = _input(step, scope)
        user = f"{task}\nAnswer with one of these labels: {labels}.\n\nText:\n{text}"
        system = ChatMessage("system", "You classify texts. Answer with the label only.")
        writer = ChatMessage("system", "You write short texts.")
        channel = tuple([writer, ChatMessage("user", f"Write a short text. {task} Answer: {x}.")]
                        for x in step.labels)  # fmt: skip
        return Request([system, ChatMessage("user", user)], label_grammar(step.labels),
                       {"type": "string", "enum": list(step.labels)}, choices=step.labels,
                       channel=channel, text=text, text_tokens=CHANNEL_TOKENS)  # fmt: skip

    def parse(self, step: StepSpec, completion: Completion) -> Any:
        text = completion.text.strip()
        if text in step.labels:
            return text
        # A model that ignored its grammar or schema (a server without structured output).
        found = [
            (text.lower().find(x.lower()), x) for x in step.labels if x.lower() in text.lower()
        ]
        if found:
            return min(found)[1]
        raise StepFailed(f"the model answered {text[:60]!r}, none of the labels "
                         f"{', '.join(step.labels)}")  # fmt: skip


_JSON_CHECKS = {"string": str, "integer": int, "number": (int, float), "boolean": bool}


class ExtractKind:
    def request(self, step: StepSpec, scope: Mapping[str, Any]) -> Request:
        assert step.schema is not None  # validated
        task = render(step.instructions, scope) or "Extract these fields from the text."
        fields = ", ".join(f"{k} ({v.get('type', 'one of ' + str(v.get('enum')))})"
                           for k, v in step.schema["properties"].items())  # fmt: skip
        user = (f"{task}\nAnswer with a JSON object with the fields: {fields}.\n\n"
                f"Text:\n{_input(step, scope)}")  # fmt: skip
        system = ChatMessage("system", "You extract fields from texts as JSON.")
        schema = dict(step.schema)
        return Request([system, ChatMessage("user", user)], json_schema_grammar(schema), schema)

    def parse(self, step: StepSpec, completion: Completion) -> Any:
        assert step.schema is not None
        try:
            value = json.loads(completion.text)
        except json.JSONDecodeError as exc:
            raise StepFailed(f"the model's answer is not JSON ({exc.msg})"
                             + _cut_note(step, completion)) from exc  # fmt: skip
        if not isinstance(value, dict):
            raise StepFailed("the model's answer is not a JSON object")
        for key, prop in step.schema["properties"].items():
            wanted = _JSON_CHECKS.get(prop.get("type", ""))
            if key in value and wanted and not isinstance(value[key], wanted):
                raise StepFailed(f"the field {key} is not of type {prop['type']}")
        return {key: value.get(key) for key in step.schema["properties"]}


#: Where a reduce's request finds the outputs it combines (each opening with its citation).
PARTS = "__parts__"
REDUCE_SYSTEM = ("You combine texts into one. Keep the citations in square brackets, like "
                 "[p. 3–4], exactly as written, after what they support.")  # fmt: skip


class ReduceKind(PromptKind):
    """One group of outputs combined into one. The fixed instruction comes first and the
    outputs last, so the groups of a level share their prompt's prefix (llama.cpp's KV cache
    keeps it: only the outputs are evaluated anew)."""

    def request(self, step: StepSpec, scope: Mapping[str, Any]) -> Request:
        system = render(step.system, scope) if step.system else REDUCE_SYSTEM
        task = render(step.instructions, scope) or "Combine these summaries into one summary."
        user = (f"{task}\nKeep each citation in square brackets exactly as written.\n\n"
                f"{scope[PARTS]}")  # fmt: skip
        return Request([ChatMessage("system", system), ChatMessage("user", user)])


STEP_KINDS: dict[str, StepKind] = {
    "prompt": PromptKind(),
    "reduce": ReduceKind(),
    "classify": ClassifyKind(),
    "extract": ExtractKind(),
}


def model_steps(spec: WorkflowSpec) -> list[StepSpec]:
    """The steps that ask a model, in order (a map's sub-steps in their place)."""
    return [s for top in spec.steps for s in (top, *top.steps) if s.kind in STEP_KINDS]


def register_step_kind(name: str, kind: StepKind) -> None:
    STEP_KINDS[name] = kind
