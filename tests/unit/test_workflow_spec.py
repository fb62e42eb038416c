"""The workflow format: validation messages name the file, line and field; templates; keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyllm_desktop.core.workflow_spec import WorkflowError
from anyllm_desktop.core.workflow_templates import Listing, TemplateError, references, render
from anyllm_desktop.services.workflows.cache import StepCache, cache_key
from anyllm_desktop.services.workflows.loading import builtin_workflows, load_workflow, parse_text
from anyllm_desktop.services.workflows.steps import label_grammar

GOOD = """\
version: 1
id: demo
name: Demo
steps:
  - name: each
    kind: map
    steps:
      - name: sentiment
        kind: classify
        labels: [positive, negative]
      - name: fields
        kind: extract
        schema:
          type: object
          properties:
            title: {type: string}
      - name: line
        kind: prompt
        prompt: "{{document.name}} is {{sentiment}}, titled {{fields.title}}"
  - name: briefing
    kind: prompt
    model: cloud:acme:big
    prompt: "Write a briefing:\\n{{each.line}}"
  - name: table
    kind: output
    table: each
"""


def problems(text: str) -> list[str]:
    with pytest.raises(WorkflowError) as caught:
        parse_text(text, "workflow.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_valid_workflow_parses_with_its_steps_and_models() -> None:
    spec = parse_text(GOOD, "workflow.yaml")
    assert [s.name for s in spec.steps] == ["each", "briefing", "table"]
    assert [s.model for s in spec.steps[0].steps] == ["local", "local", "local"]
    assert spec.steps[1].model == "cloud:acme:big"


def test_too_few_labels_names_line_and_field() -> None:
    text = GOOD.replace("labels: [positive, negative]", "labels: [positive]")
    assert problems(text) == [
        "workflow.yaml line 10, steps[0].steps[0].labels: expected a list of at least 2 labels"
    ]


def test_unknown_references_are_errors_before_anything_runs() -> None:
    text = GOOD.replace("{{sentiment}}", "{{sentimnet}}").replace("{{fields.title}}",
                                                                  "{{fields.author}}")  # fmt: skip
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("workflow.yaml line 19, steps[0].steps[2].prompt: {{sentimnet}} "
                               "names no earlier step or variable")  # fmt: skip
    assert "document" in found[0] and "sentiment" in found[0]
    assert found[1] == ("workflow.yaml line 19, steps[0].steps[2].prompt: {{fields.author}}: "
                        "fields has title")  # fmt: skip


def test_a_later_step_is_not_visible_earlier() -> None:
    text = GOOD.replace("{{document.name}}", "{{briefing}}")
    assert "{{briefing}} names no earlier step" in problems(text)[0]


def test_bad_kind_model_schema_and_policy() -> None:
    text = (GOOD.replace("kind: classify", "kind: clasify")
            .replace("model: cloud:acme:big", "model: gpt-4")
            .replace("title: {type: string}", "title: {type: text}")
            .replace("    table: each", "    table: each\n    on_error: retry"))  # fmt: skip
    found = problems(text)
    assert "workflow.yaml line 9, steps[0].steps[0].kind: unknown kind 'clasify'" in found[0]
    assert any("line 16, steps[0].steps[1].schema.properties.title: expected type" in p
               for p in found)  # fmt: skip
    assert any("line 22, steps[1].model: 'gpt-4' is not a model" in p for p in found)
    assert any("steps[2].on_error: is not a field of a output step" in p for p in found)


def test_a_fallback_model_goes_with_on_error_fallback() -> None:
    fallback = "    model: cloud:acme:big\n    on_error: fallback\n    fallback: embedded"
    spec = parse_text(GOOD.replace("    model: cloud:acme:big", fallback), "workflow.yaml")
    assert (spec.steps[1].on_error, spec.steps[1].fallback) == ("fallback", "embedded")
    alone = GOOD.replace("    model: cloud:acme:big", "    model: cloud:acme:big\n    fallback: x")
    found = problems(alone)
    assert any("steps[1].fallback: 'x' is not a model" in p for p in found)
    assert any("steps[1].fallback: on_error: fallback and a fallback model go together" in p
               for p in found)  # fmt: skip
    no_model = GOOD.replace("    model: cloud:acme:big", "    model: cloud:acme:big\n"
                            "    on_error: fallback")  # fmt: skip
    assert problems(no_model) == ["workflow.yaml line 23, steps[1].on_error: on_error: fallback "
                                  "and a fallback model go together"]  # fmt: skip


def test_duplicate_names_keys_yaml_errors_and_version() -> None:
    assert "line 11, steps[0].steps[1].name: the name 'sentiment' is used by another step" in (
        problems(GOOD.replace("name: fields", "name: sentiment"))[0])  # fmt: skip
    assert problems(GOOD.replace("name: Demo", "name: Demo\nname: Again")) == [
        "workflow.yaml line 4, name: is given twice"
    ]
    assert problems("steps: [\n  {name: a,\n") [0].startswith("workflow.yaml line 3: is not "
                                                              "valid YAML")  # fmt: skip
    assert problems(GOOD.replace("version: 1", "version: 2"))[0] == (
        "workflow.yaml line 1, version: expected version: 1, not 2"
    )


def test_json_is_read_with_its_lines_too(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_text('{"version": 1, "id": "j",\n "steps": [\n  {"name": "a", "kind": "prompt",'
                    '\n   "prompt": "{{nope}}"}]}', encoding="utf-8")  # fmt: skip
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path)
    assert str(caught.value).startswith("flow.json line 4, steps[0].prompt: {{nope}} names no")


def test_templates_render_and_refuse_stray_braces() -> None:
    assert references("a {{ b.c }} d {{e}}") == [("b", "c"), ("e",)]
    scope = {"b": {"c": 3}, "e": {"x": 1}, "m": Listing("- a: 1\n- b: 2")}
    assert render("{{b.c}} {{e}} {{m}}", scope) == '3 {"x": 1} - a: 1\n- b: 2'
    with pytest.raises(TemplateError):
        references("{{ not closed")
    with pytest.raises(TemplateError):
        render("{{missing}}", scope)


def test_label_grammar_quotes_labels() -> None:
    assert label_grammar(("yes", 'say "no"')) == 'root ::= "yes" | "say \\"no\\""'


def test_cache_keys_change_with_the_input_and_outputs_persist(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "text A"}]
    key = cache_key({"kind": "classify"}, "model.gguf", messages, "root ::= x")
    assert key == cache_key({"kind": "classify"}, "model.gguf", list(messages), "root ::= x")
    assert key != cache_key({"kind": "classify"}, "model.gguf",
                            [{"role": "user", "content": "text B"}], "root ::= x")  # fmt: skip
    assert key != cache_key({"kind": "classify"}, "other.gguf", messages, "root ::= x")
    cache = StepCache(tmp_path / "c.sqlite3")
    cache.put(key, "step", "a.md", {"title": "T"})
    cache.close()
    assert StepCache(tmp_path / "c.sqlite3").get(key) == {"title": "T"}


def test_builtins_are_valid_and_listed() -> None:
    found = builtin_workflows()
    assert {"sentiment-table", "extract-fields"} <= set(found)
    assert load_workflow(found["sentiment-table"]).steps[0].steps[0].labels == (
        "positive", "neutral", "negative")  # fmt: skip
