"""The workflow file format (version 1): plain dataclasses and their validation.

A workflow is read from YAML or JSON by ``services/workflows/loading.py`` into plain values
plus the line of each field; :func:`parse_workflow` checks everything a run would trip over
(kinds, labels, schemas, models, every template reference) and raises one
:class:`WorkflowError` listing each problem as "workflow.yaml line 12, steps[1].labels:
expected a list of at least 2 labels". Nothing here runs a model or reads a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from anyllm_desktop.core.workflow_checks import (
    NAME,
    Checker,
    Path_,
    Problem,
    WorkflowError,
    field_name,
    labels_field,
    model_field,
    schema_field,
)
from anyllm_desktop.core.workflow_templates import TemplateError, references

VERSION = 1
#: What ``{{document.X}}`` may name inside a map.
DOCUMENT_FIELDS = ("text", "name", "title", "path", "kind", "pages")
ON_ERROR = ("stop", "skip", "retry", "fallback")
#: What a map goes over: each document whole (cut at max_document_tokens), or each document's
#: section-sized pieces (consecutive passages up to max_document_tokens each), in order.
MAP_OVER = ("documents", "sections")
#: Kinds whose steps ask a model (and take model, max_tokens, temperature, on_error, retries).
MODEL_FIELDS = frozenset({"model", "fallback", "max_tokens", "temperature", "on_error", "retries"})


@dataclass(frozen=True)
class KindRule:
    """The fields a step kind takes. A new kind adds its rule here and its runner to
    ``services/workflows/steps.py``'s registry."""

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    uses_model: bool = True


KIND_RULES: dict[str, KindRule] = {
    "map": KindRule(frozenset({"steps"}), frozenset({"max_document_tokens", "over"}), False),
    "prompt": KindRule(frozenset({"prompt"}), frozenset({"system"})),
    "classify": KindRule(frozenset({"labels"}), frozenset({"input", "instructions"})),
    "extract": KindRule(frozenset({"schema"}), frozenset({"input", "instructions"})),
    "reduce": KindRule(
        frozenset({"over"}), frozenset({"input", "instructions", "system", "chapters"})
    ),
    "retrieve": KindRule(frozenset({"query"}), frozenset({"k"}), uses_model=False),
    "output": KindRule(frozenset(), frozenset({"table", "report", "summary"}), uses_model=False),
}
_COMMON = frozenset({"name", "kind", "description"})


@dataclass(frozen=True)
class DocumentSelection:
    #: "all", "names" (file names or titles) or "glob" (a filter on file names).
    mode: str = "all"
    names: tuple[str, ...] = ()
    glob: str = ""


@dataclass(frozen=True)
class StepSpec:
    name: str
    kind: str
    #: "local", "embedded", a .gguf path or cloud:PROVIDER:MODEL ("" for map and output).
    model: str = ""
    #: The model asked when ``model`` fails (``on_error: fallback``), same forms as ``model``.
    fallback: str = ""
    prompt: str = ""
    system: str = ""
    input: str = ""
    instructions: str = ""
    labels: tuple[str, ...] = ()
    schema: Mapping[str, Any] | None = None
    steps: tuple[StepSpec, ...] = ()
    table: str = ""
    report: str = ""
    #: An output's report kept in the workspace's index as the summary of the one document the
    #: run covered (services/summary_passages.py): chat retrieves it.
    summary: bool = False
    max_tokens: int = 256
    temperature: float = 0.0
    on_error: str = "stop"
    retries: int = 2
    max_document_tokens: int = 1500
    #: A map's "documents" or "sections"; a reduce's map (whose outputs it combines).
    over: str = ""
    #: A reduce that combines each chapter (each document, over several) on its own and keeps
    #: them, each under its heading and citation, after an overview of them all.
    chapters: bool = False
    #: A retrieve's search (a template) and how many passages it keeps.
    query: str = ""
    k: int = 4
    #: Where the step is in its file, for messages ("steps[1]").
    where: str = ""

    def identity(self) -> dict[str, Any]:
        """What decides the step's output besides its input (the cache key's part)."""
        return {
            "kind": self.kind, "model": self.model, "prompt": self.prompt,
            "system": self.system, "input": self.input, "instructions": self.instructions,
            "labels": list(self.labels), "schema": self.schema, "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }  # fmt: skip


@dataclass(frozen=True)
class WorkflowSpec:
    id: str
    name: str
    steps: tuple[StepSpec, ...]
    description: str = ""
    documents: DocumentSelection | None = field(default_factory=DocumentSelection)
    #: Text to run over instead of documents (one item named "text").
    text: str | None = None
    version: int = VERSION
    source: str = ""


def parse_workflow(data: Any, lines: Mapping[Path_, int], source: str) -> WorkflowSpec:
    """The validated workflow; WorkflowError naming the line and field of every problem."""
    check = Checker(source, lines)
    if not isinstance(data, Mapping):
        raise WorkflowError([Problem(source, 1, "", "expected a mapping with version, id, "
                                     "name and steps")])  # fmt: skip
    if data.get("version") != VERSION:
        check.add(("version",), f"expected version: {VERSION}, not {data.get('version')!r}")
    for key in sorted(set(data) - {"version", "id", "name", "description", "inputs", "steps"}):
        check.add((key,), "is not a field of a workflow (version, id, name, description, "
                  "inputs, steps)")  # fmt: skip
    ident = check.text(data, "id", ())
    if not NAME.match(ident):
        check.add(("id",), "expected an id of letters, digits, '-' and '_'")
    documents, text = _inputs(check, data.get("inputs", {"documents": "all"}))
    raw_steps = data.get("steps")
    steps: tuple[StepSpec, ...] = ()
    if not isinstance(raw_steps, list) or not raw_steps:
        check.add(("steps",), "expected a list of at least one step")
    else:
        steps = _steps(check, raw_steps, ("steps",), nested=False)
        _check_names(check, steps)
        _check_references(check, steps)
    if check.problems:
        raise WorkflowError(check.problems)
    return WorkflowSpec(ident, check.text(data, "name", (), ident) or ident, steps,
                        check.text(data, "description", ()), documents, text, VERSION,
                        source)  # fmt: skip


def _inputs(check: Checker, raw: Any) -> tuple[DocumentSelection | None, str | None]:
    path: Path_ = ("inputs",)
    if not isinstance(raw, Mapping) or len(set(raw) & {"documents", "text"}) != 1:
        check.add(path, "expected either documents: (all, a list of file names or "
                  "{glob: PATTERN}) or text: TEXT")  # fmt: skip
        return DocumentSelection(), None
    if "text" in raw:
        text = check.text(raw, "text", path)
        return None, text
    docs = raw["documents"]
    if docs == "all":
        return DocumentSelection(), None
    if isinstance(docs, list) and docs and all(isinstance(d, str) and d for d in docs):
        return DocumentSelection("names", tuple(docs)), None
    if isinstance(docs, Mapping) and set(docs) == {"glob"} and isinstance(docs["glob"], str):
        return DocumentSelection("glob", glob=docs["glob"]), None
    check.add((*path, "documents"), "expected all, a list of file names or {glob: PATTERN}")
    return DocumentSelection(), None


def _steps(check: Checker, raw: list[Any], path: Path_, nested: bool) -> tuple[StepSpec, ...]:
    steps = (_step(check, item, (*path, i), nested) for i, item in enumerate(raw))
    return tuple(step for step in steps if step is not None)


def _check_names(check: Checker, steps: tuple[StepSpec, ...]) -> None:
    """Every step's name is unique in the workflow (templates name steps, maps included)."""
    seen: set[str] = {"document"}
    for step in (s for top in steps for s in (top, *top.steps)):
        if step.name in seen:
            reason = "a template variable" if step.name == "document" else "another step"
            check.add(_where(step, "name"), f"the name {step.name!r} is used by {reason}")
        seen.add(step.name)


def _step(check: Checker, raw: Any, path: Path_, nested: bool) -> StepSpec | None:
    if not isinstance(raw, Mapping):
        check.add(path, "expected a step: a mapping with name and kind")
        return None
    name, kind = check.text(raw, "name", path), check.text(raw, "kind", path)
    if not NAME.match(name):
        check.add((*path, "name"), "expected a name of letters, digits, '-' and '_' "
                  "(templates use it: {{name}})")  # fmt: skip
    rule = KIND_RULES.get(kind)
    if rule is None:
        check.add((*path, "kind"), f"unknown kind {kind!r}; known: {', '.join(KIND_RULES)}")
        return None
    if nested and kind in ("map", "output", "reduce", "retrieve"):
        check.add((*path, "kind"), f"a {kind} step cannot be inside a map")
    allowed = _COMMON | rule.required | rule.optional | (MODEL_FIELDS if rule.uses_model else set())
    for key in sorted(set(raw) - allowed):
        check.add((*path, key), f"is not a field of a {kind} step (it takes "
                  f"{', '.join(sorted(allowed - _COMMON))})")  # fmt: skip
    for key in sorted(rule.required - set(raw)):
        check.add((*path, key), f"a {kind} step needs {key}")
    values: dict[str, Any] = {"name": name, "kind": kind, "where": field_name(path)}
    for key in ("prompt", "system", "input", "instructions", "table", "report", "query"):
        if key in raw:
            values[key] = check.text(raw, key, path)
    if kind == "retrieve":
        values["k"] = check.number(raw, "k", path, 4, 1, 50)
    if "summary" in raw:
        values["summary"] = raw["summary"] is True
        if not isinstance(raw["summary"], bool) or (raw["summary"] and "report" not in raw):
            check.add((*path, "summary"), "expected true or false (true keeps the report as "
                      "the document's summary, so it needs a report)")  # fmt: skip
    if rule.uses_model:
        values["model"] = model_field(check, raw, path)
        if "fallback" in raw:
            values["fallback"] = model_field(check, raw, path, "fallback")
        values["max_tokens"] = check.number(raw, "max_tokens", path, 256, 1, 4096)
        values["temperature"] = check.number(raw, "temperature", path, 0.0, 0, 2, whole=False)
        values["retries"] = check.number(raw, "retries", path, 2, 0, 5)
        values["on_error"] = check.text(raw, "on_error", path, "stop")
        if values["on_error"] not in ON_ERROR:
            check.add((*path, "on_error"), f"expected one of {', '.join(ON_ERROR)}")
        elif (values["on_error"] == "fallback") != bool(values.get("fallback")):
            check.add((*path, "fallback" if "fallback" in raw else "on_error"),
                      "on_error: fallback and a fallback model go together")  # fmt: skip
    if "labels" in raw:
        values["labels"] = labels_field(check, raw["labels"], (*path, "labels"))
    if "schema" in raw:
        values["schema"] = schema_field(check, raw["schema"], (*path, "schema"))
    if kind == "map":
        values["max_document_tokens"] = check.number(raw, "max_document_tokens", path, 1500,
                                                     64, 100_000)  # fmt: skip
        values["over"] = check.text(raw, "over", path, "documents")
        if values["over"] not in MAP_OVER:
            check.add((*path, "over"), f"expected one of {', '.join(MAP_OVER)}")
        sub = raw.get("steps")
        if not isinstance(sub, list) or not sub:
            check.add((*path, "steps"), "expected a list of the steps run for each document")
        else:
            values["steps"] = _steps(check, sub, (*path, "steps"), nested=True)
    if kind == "reduce":
        values["over"] = check.text(raw, "over", path)
        values["chapters"] = check.flag(raw, "chapters", path)
    return StepSpec(**values)


# -- template references ------------------------------------------------------------------------

Shape = dict[str, Any]  # what a name offers below it: {} is a leaf


def _shape(step: StepSpec) -> Shape:
    if step.kind == "extract" and step.schema:
        return {key: {} for key in step.schema["properties"]}
    if step.kind == "map":
        return {sub.name: _shape(sub) for sub in step.steps}
    return {}


def _templates(step: StepSpec) -> list[tuple[str, str]]:
    keys = ("prompt", "system", "input", "instructions", "report", "query")
    return [(key, getattr(step, key)) for key in keys if getattr(step, key)]


def _check_references(check: Checker, steps: tuple[StepSpec, ...]) -> None:
    visible: Shape = {}
    for step in steps:
        if step.kind == "map":
            inner = {**visible, "document": {key: {} for key in DOCUMENT_FIELDS}}
            for sub in step.steps:
                _check_step(check, sub, inner)
                inner[sub.name] = _shape(sub)
        elif step.kind == "reduce":
            _check_reduce(check, step, steps, visible)
            visible[step.name] = {}
            continue
        elif step.kind == "output" and step.table:
            table = next((s for s in steps if s.name == step.table), None)
            if table is None or table.kind != "map" or step.table not in visible:
                check.add(_where(step, "table"),
                          f"{step.table!r} is not an earlier map step")  # fmt: skip
        if step.kind != "map":
            _check_step(check, step, visible)
        visible[step.name] = _shape(step)


def _check_reduce(check: Checker, step: StepSpec, steps: tuple[StepSpec, ...],
                  visible: Shape) -> None:  # fmt: skip
    """``over`` names an earlier map; ``input`` (one map output as the reduce reads it) sees
    that map's sub-steps, the other templates what any later step sees."""
    source = next((s for s in steps if s.name == step.over), None)
    if source is None or source.kind != "map" or step.over not in visible:
        check.add(_where(step, "over"), f"{step.over!r} is not an earlier map step (a reduce "
                  "combines a map's outputs)")  # fmt: skip
        _check_step(check, replace(step, input=""), visible)
        return
    _check_step(check, replace(step, input=""), visible)
    inner = {**visible, **{sub.name: _shape(sub) for sub in source.steps}}
    _check_step(check, replace(step, prompt="", system="", instructions=""), inner)


def _where(step: StepSpec, key: str) -> Path_:
    path: list[str | int] = []
    for part in re.findall(r"[A-Za-z_][\w-]*|\[\d+\]", step.where):
        path.append(int(part[1:-1]) if part.startswith("[") else part)
    return (*path, key)


def _check_step(check: Checker, step: StepSpec, visible: Shape) -> None:
    for key, template in _templates(step):
        try:
            names = references(template)
        except TemplateError as exc:
            check.add(_where(step, key), str(exc))
            continue
        for name in names:
            problem = _unknown(name, visible)
            if problem:
                check.add(_where(step, key), problem)


def _unknown(name: tuple[str, ...], visible: Shape) -> str | None:
    here, known = visible, visible
    for depth, part in enumerate(name):
        if part not in here:
            shown = ".".join(name)
            if depth == 0:
                names = ", ".join(sorted(known)) or "none"
                return f"{{{{{shown}}}}} names no earlier step or variable (known here: {names})"
            fields = ", ".join(sorted(here)) or "no fields"
            return f"{{{{{shown}}}}}: {'.'.join(name[:depth])} has {fields}"
        here = here[part]
    return None
