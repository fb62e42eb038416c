"""Quick actions: one small prompt over a piece of text (a selection in the chat or a passage,
pasted text) or, as a workflow, over one whole document.

Plain data and pure functions, no Qt. A text action is one model call on the workspace's
answering model (``workers/quick_actions.py`` streams it through the model host, like a chat
answer); Classify and Extract are held to their answer by the grammars the workflow steps use
(a label grammar, llama.cpp's grammar of a JSON schema), so the answer is always one of the
labels or a JSON object with the fields named. A document action is a workflow built here as
YAML text over that one document (``document_workflow``), Summarize the built-in
``document-summary`` (map over sections, then reduce): a document may be far longer than the
model's context.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Event, Progress, Token
from anyllm_desktop.providers.base import Completion, GenerationOptions
from anyllm_desktop.providers.llama_local import json_schema_grammar
from anyllm_desktop.services.workflows.steps import label_grammar


@dataclass(frozen=True)
class QuickAction:
    id: str
    label: str
    #: What it asks of the user first: "" (nothing), "language", "labels" or "fields".
    asks: str = ""


QUICK_ACTIONS: tuple[QuickAction, ...] = (
    QuickAction("summarize", "Summarize"),
    QuickAction("keypoints", "Key points"),
    QuickAction("translate", "Translate to…", "language"),
    QuickAction("sentiment", "Sentiment"),
    QuickAction("classify", "Classify…", "labels"),
    QuickAction("extract", "Extract fields…", "fields"),
)
ACTIONS = {action.id: action for action in QUICK_ACTIONS}
#: Offered by "Translate to…" (any other name may be typed).
LANGUAGES = ("English", "French", "German", "Spanish", "Italian", "Portuguese", "Dutch",
             "Polish", "Swedish", "Russian", "Ukrainian", "Turkish", "Arabic", "Hindi",
             "Chinese", "Japanese", "Korean")  # fmt: skip
SENTIMENT = ("positive", "neutral", "negative")
#: Tokens kept free besides the answer: the instruction, the chat template, a margin.
_OVERHEAD_TOKENS = 160

_PROMPTS = {
    "summarize": "Summarize this text in a few sentences. Say only what the text says.",
    "keypoints": "List the key points of this text as short bullet points, most important "
    "first. Say only what the text says.",
    "translate": "Translate this text into {language}. Answer with the translation only.",
}
_RUN_NAMES = {"summarize": "Summary of", "keypoints": "Key points of",
              "translate": "Translation of", "sentiment": "Sentiment of",
              "classify": "Classification of", "extract": "Fields from"}  # fmt: skip
_ANSWER_TOKENS = {"summarize": 300, "keypoints": 400, "translate": 1024, "extract": 400}


@dataclass(frozen=True)
class ActionRequest:
    """What one quick action asks the model, and how its answer is read."""

    title: str
    messages: list[ChatMessage]
    options: GenerationOptions
    #: Classify: the answer is one of these.
    labels: tuple[str, ...] = ()
    #: Extract: the answer is a JSON object with these fields.
    fields: tuple[str, ...] = ()


@dataclass
class QuickResult:
    title: str
    #: The answer as shown (an extraction as "field: value" lines).
    text: str
    model: str = ""
    stopped: bool = False
    notes: list[str] = field(default_factory=list)
    #: The label (classify, sentiment) or the fields (extract); None for free text.
    value: Any = None


def split_names(text: str) -> tuple[str, ...]:
    """Labels or field names as typed: "billing, bug; praise" -> ("billing", "bug", "praise"),
    each once, in order."""
    names = (part.strip() for part in re.split(r"[,;\n]", text))
    return tuple(dict.fromkeys(name for name in names if name))


def field_key(name: str) -> str:
    """A field's name as a JSON key: "Invoice number" -> "invoice_number"."""
    return re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "field"


def fields_schema(fields: tuple[str, ...]) -> dict[str, Any]:
    """A JSON schema of an object with each named field as a string (empty when absent)."""
    keys = [field_key(name) for name in fields]
    return {"type": "object", "properties": {k: {"type": "string"} for k in keys},
            "required": keys}  # fmt: skip


def _options(max_tokens: int, grammar: str | None = None,
             schema: dict[str, Any] | None = None) -> GenerationOptions:  # fmt: skip
    # Temperature 0: a quick action is a faithful transformation, the same every time.
    return GenerationOptions(temperature=0.0, max_tokens=max_tokens, grammar=grammar,
                             json_schema=schema)  # fmt: skip


def check_parameters(action: str, *, language: str = "", labels: tuple[str, ...] = (),
                     fields: tuple[str, ...] = ()) -> None:  # fmt: skip
    """ValueError saying what is missing for ``action``."""
    if action not in ACTIONS:
        raise ValueError(f"There is no quick action {action!r} (there are: "
                         f"{', '.join(ACTIONS)}).")  # fmt: skip
    if action == "translate" and not language.strip():
        raise ValueError("Name the language to translate into (for example French).")
    if action == "classify" and len(labels) < 2:
        raise ValueError("Give at least two labels to classify into, separated by commas.")
    if action == "extract" and not fields:
        raise ValueError("Name at least one field to extract, separated by commas.")


def text_request(action: str, text: str, *, language: str = "", labels: tuple[str, ...] = (),
                 fields: tuple[str, ...] = ()) -> ActionRequest:  # fmt: skip
    """The request of a quick action over ``text``; ValueError when a parameter is missing.
    The fixed instruction comes first and the text last (one prefix for every use)."""
    check_parameters(action, language=language, labels=labels, fields=fields)
    if action in ("sentiment", "classify"):
        labels = SENTIMENT if action == "sentiment" else labels
        task = "What is the sentiment of this text?" if action == "sentiment" else (
            "Which label fits this text best?")  # fmt: skip
        user = f"{task}\nAnswer with one of these labels: {', '.join(labels)}.\n\nText:\n{text}"
        system = ChatMessage("system", "You classify texts. Answer with the label only.")
        title = "Sentiment" if action == "sentiment" else f"Classify into {', '.join(labels)}"
        return ActionRequest(title, [system, ChatMessage("user", user)],
                             _options(8, label_grammar(labels)), labels=labels)  # fmt: skip
    if action == "extract":
        schema = fields_schema(fields)
        user = (f"Extract these fields from the text: {', '.join(fields)}. Answer with a JSON "
                f"object with the keys {', '.join(schema['properties'])}; use \"\" for a field "
                f"the text does not give.\n\nText:\n{text}")  # fmt: skip
        system = ChatMessage("system", "You extract fields from texts as JSON.")
        return ActionRequest(f"Extract {', '.join(fields)}", [system, ChatMessage("user", user)],
                             _options(_ANSWER_TOKENS["extract"], json_schema_grammar(schema),
                                      schema), fields=fields)  # fmt: skip
    task = _PROMPTS[action].format(language=language.strip())
    system = ChatMessage("system", "You help with texts. You are faithful and brief.")
    title = f"Translation into {language.strip()}" if action == "translate" else (
        ACTIONS[action].label)  # fmt: skip
    return ActionRequest(title, [system, ChatMessage("user", f"{task}\n\nText:\n{text}")],
                         _options(_ANSWER_TOKENS[action]))  # fmt: skip


def prompt_request(title: str, prompt: str, system: str = "",
                   max_tokens: int = 600) -> ActionRequest:  # fmt: skip
    """A prompt of the prompt library, already filled, as a request."""
    messages = [ChatMessage("system", system)] if system else []
    options = GenerationOptions(temperature=0.2, max_tokens=max_tokens)
    return ActionRequest(title, [*messages, ChatMessage("user", prompt)], options)


def fitted_text(text: str, count: Callable[[str], int], budget: int) -> tuple[str, bool]:
    """``text`` cut to at most ``budget`` tokens (whole, when it fits) and whether it was cut:
    a selection longer than the model's context would otherwise fail."""
    if budget <= 0:
        return "", bool(text)
    tokens = count(text)
    cut = False
    while tokens > budget and text:
        text = text[: max(int(len(text) * budget / tokens * 0.95), 0)]
        tokens, cut = count(text), True
    return text, cut


def answer_budget(context_size: int, request_tokens: int) -> int:
    """Tokens left for the text in a context of ``context_size``."""
    return context_size - request_tokens - _OVERHEAD_TOKENS


def read_answer(request: ActionRequest, completion: Completion) -> QuickResult:
    """The model's answer as the window shows it; a label or fields are checked."""
    text = completion.text.strip()
    result = QuickResult(request.title, text, stopped=completion.stopped)
    if completion.stopped:
        return result
    if request.labels:
        found = [label for label in request.labels if label.casefold() == text.casefold()]
        if not found:
            raise ValueError(f"The model answered {text[:60]!r}, none of the labels "
                             f"{', '.join(request.labels)}.")  # fmt: skip
        result.value = result.text = found[0]
    elif request.fields:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"The model's answer is not JSON ({exc.msg}).") from exc
        if not isinstance(value, dict):
            raise ValueError("The model's answer is not a JSON object.")
        result.value = {name: value.get(field_key(name), "") for name in request.fields}
        result.text = "\n".join(f"- **{name}**: {v or '—'}" for name, v in result.value.items())
    elif completion.finish_reason == "length":
        result.notes.append(f"The answer was cut at {request.options.max_tokens} tokens.")
    return result


def run_request(request: ActionRequest,
                stream: Callable[[list[ChatMessage], GenerationOptions, CancelToken],
                                 Iterator[Event]],
                cancel: CancelToken) -> Iterator[Event]:  # fmt: skip
    """Tokens as they come, then Done(QuickResult) or Error saying why."""
    completion: Completion | None = None
    for event in stream(request.messages, request.options, cancel):
        if isinstance(event, Token):
            yield event
        elif isinstance(event, Progress):
            yield Progress(event.stage, event.done, event.total,
                           f"Reading the text: {event.done:,} / {event.total:,} tokens",
                           event.eta_s)  # fmt: skip
        elif isinstance(event, Error):
            yield event
            return
        elif isinstance(event, Done):
            completion = event.result
    if completion is None:
        yield Error("The model ended without an answer. Try again.")
        return
    try:
        yield Done(read_answer(request, completion))
    except ValueError as exc:
        yield Error(str(exc))


# -- quick actions on a whole document: workflows -----------------------------------------------


def _map(over: str | None, step: dict[str, Any], tokens: int) -> dict[str, Any]:
    each: dict[str, Any] = {"name": "each", "kind": "map", "max_document_tokens": tokens,
                            "steps": [step]}  # fmt: skip
    if over:
        each["over"] = over
    return each


def document_workflow(
    action: str,
    document: str,
    *,
    language: str = "",
    labels: tuple[str, ...] = (),
    fields: tuple[str, ...] = (),
) -> str:
    """The workflow (YAML text) of a quick action over one document: Key points and Translate
    map over its sections (any length), then reduce or join them; Sentiment, Classify and
    Extract read the document (its first part when it is long: the result's notes say so)
    and give one row with its citation. Summarize is the built-in ``document-summary``."""
    check_parameters(action, language=language, labels=labels, fields=fields)
    base = {"model": "local", "on_error": "retry", "retries": 1}
    name = f"{_RUN_NAMES[action]} {document}"
    steps: list[dict[str, Any]]
    if action in ("summarize", "keypoints"):
        task = _PROMPTS[action]
        gist = {"name": "gist", "kind": "prompt", **base, "max_tokens": 160,
                "system": "You summarize documents faithfully and briefly.",
                "prompt": f"{task}\n\nText:\n{{{{document.text}}}}"}  # fmt: skip
        what = "summaries" if action == "summarize" else "lists of key points"
        steps = [_map("sections", gist, 1200),
                 {"name": "combined", "kind": "reduce", "model": "local", "over": "each",
                  "max_tokens": 400,
                  "instructions": f"Combine these {what} of a document's parts, in order, "
                                  "into one."},
                 {"name": "report", "kind": "output", "report": "{{combined}}"}]  # fmt: skip
    elif action == "translate":
        step = {"name": "translation", "kind": "prompt", **base, "max_tokens": 1024,
                "system": "You are a translator. You translate faithfully and add nothing.",
                "prompt": _PROMPTS["translate"].format(language=language.strip())
                + "\n\nText:\n{{document.text}}"}  # fmt: skip
        name = f"Translation of {document} into {language.strip()}"
        steps = [_map("sections", step, 600),
                 {"name": "table", "kind": "output", "table": "each",
                  "report": "{{each.translation}}"}]  # fmt: skip
    elif action in ("sentiment", "classify"):
        chosen = SENTIMENT if action == "sentiment" else labels
        task = "What is the sentiment of this text?" if action == "sentiment" else (
            "Which label fits this text best?")  # fmt: skip
        column = "sentiment" if action == "sentiment" else "label"
        step = {"name": column, "kind": "classify", **base, "labels": list(chosen),
                "instructions": task}  # fmt: skip
        steps = [_map(None, step, 1500), {"name": "table", "kind": "output", "table": "each"}]
    else:
        step = {"name": "fields", "kind": "extract", **base, "max_tokens": 400,
                "schema": fields_schema(fields),
                "instructions": f"Extract these fields: {', '.join(fields)}."}  # fmt: skip
        steps = [_map(None, step, 1500), {"name": "table", "kind": "output", "table": "each"}]
    spec = {"version": 1, "id": f"quick-{action}", "name": name,
            "description": f"A quick action over {document}.",
            "inputs": {"documents": [document]}, "steps": steps}  # fmt: skip
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
