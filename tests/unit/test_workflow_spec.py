"""The workflow format: validation messages name the file, line and field; templates; keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyllm_desktop.core.workflow_spec import WorkflowError
from anyllm_desktop.core.workflow_templates import Listing, TemplateError, references, render
from anyllm_desktop.services.workflows.cache import StepCache, cache_key
from anyllm_desktop.services.workflows.loading import builtin_workflows, load_workflow, parse_text
from anyllm_desktop.services.workflows.results import Citation
from anyllm_desktop.services.workflows.steps import label_grammar
from anyllm_desktop.services.workflows.summaries import Part, Tags, chapters, groups, tag

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
    assert {"sentiment-table", "extract-fields", "document-summary", "summarize-briefing",
            "translate", "faq-pairs"} <= set(found)  # fmt: skip
    summary = load_workflow(found["document-summary"])
    assert [s.kind for s in summary.steps] == ["map", "reduce", "output"]
    assert (summary.steps[0].over, summary.steps[1].over) == ("sections", "sections")
    assert load_workflow(found["sentiment-table"]).steps[0].steps[0].labels == (
        "positive", "neutral", "negative")  # fmt: skip


REDUCE = """\
version: 1
id: summary
name: Summary
steps:
  - name: pieces
    kind: map
    over: sections
    steps:
      - name: gist
        kind: prompt
        prompt: "Summarize: {{document.text}}"
  - name: summary
    kind: reduce
    over: pieces
    input: "{{gist}}"
    instructions: Combine these.
"""


def test_a_map_over_sections_and_a_reduce_over_it_parse() -> None:
    spec = parse_text(REDUCE, "workflow.yaml")
    assert (spec.steps[0].over, spec.steps[1].over, spec.steps[1].model) == (
        "sections", "pieces", "local")  # fmt: skip
    assert parse_text(REDUCE.replace("    over: sections\n", ""), "w.yaml").steps[0].over == (
        "documents")  # fmt: skip


def test_reduce_and_over_mistakes_name_line_and_field() -> None:
    assert problems(REDUCE.replace("over: sections", "over: chapters")) == [
        "workflow.yaml line 7, steps[0].over: expected one of documents, sections"
    ]
    assert problems(REDUCE.replace("over: pieces", "over: gist")) == [
        "workflow.yaml line 14, steps[1].over: 'gist' is not an earlier map step (a reduce "
        "combines a map's outputs)"]  # fmt: skip
    found = problems(REDUCE.replace('input: "{{gist}}"', 'input: "{{gits}}"'))
    assert found[0].startswith("workflow.yaml line 15, steps[1].input: {{gits}} names no earlier")
    assert "gist" in found[0]  # the map's sub-steps are what a reduce's input sees
    instructions = REDUCE.replace("instructions: Combine these.", "instructions: '{{gist}}'")
    assert "steps[1].instructions: {{gist}} names no earlier" in problems(instructions)[0]


def test_citation_tags_name_pages_or_sections() -> None:
    assert tag(Citation("r.pdf", (12, 13, 14), ("Intro › 3.2 Usage",))) == "[p. 12–14, §3.2 Usage]"
    assert tag(Citation("r.md", (), ("A › One", "A › Two"))) == "[§One–§Two]"
    assert tag(Citation("r.md", (4,), ()), with_document=True) == "[r.md, p. 4]"
    assert tag(Citation("text")) == "[text]"
    long = "Chapter 6 › 6.1. How many Debian distributions are there?"
    assert tag(Citation("faq.html", (), (long,))) == "[§6.1. How many Debian distributions are…]"


def test_groups_fit_the_room_and_at_least_halve_the_parts() -> None:
    sizes = [30, 30, 30, 10, 45]
    parts = [Part("x" * size, (Citation("d", (i,)),)) for i, size in enumerate(sizes)]

    def cost(group: object) -> int:
        return 10 + sum(len(p.text) for p in group)  # type: ignore[attr-defined]

    grouped = groups(parts, cost, room=95)
    assert [[len(p.text) for p in g] for g in grouped] == [[30, 30], [30, 10, 45]]
    assert all(cost(g) <= 95 for g in grouped)


def test_an_output_that_dropped_its_tags_gets_the_groups_span() -> None:
    tags = Tags(with_document=False)
    first, second = Citation("d", (1, 2)), Citation("d", (5,))
    group = [Part(f"{tags.add(first)} a", (first,)), Part(f"{tags.add(second)} b", (second,))]
    kept = tags.kept("Both say a and b.", group)
    assert kept.text == "Both say a and b. [p. 1–5]"
    assert tags.cited(kept.text) == [Citation("d", (1, 2, 5))]
    assert tags.kept("a [p. 5] and [p. 9] b", group).text == "a [p. 5] and [p. 9] b"
    assert tags.cited("a [p. 5] and [p. 9] b") == [second]  # [p. 9] was never a source
    assert tags.dropped == 1  # the first: counted, so the run's notes can say so
    several = Tags(with_document=True)
    a, b = Citation("a.md", (), ("A",)), Citation("b.txt")
    pair = [Part(f"{several.add(a)} x", (a,)), Part(f"{several.add(b)} y", (b,))]
    assert several.kept("Both.", pair).text == "Both. [a.md, §A] [b.txt]"


def test_an_output_keeps_its_report_as_the_summary_only_when_asked() -> None:
    spec = parse_text(GOOD.replace("    table: each", "    table: each\n    report: '{{briefing}}'"
                                   "\n    summary: true"), "workflow.yaml")  # fmt: skip
    assert spec.steps[2].summary and not parse_text(GOOD, "workflow.yaml").steps[2].summary
    found = problems(GOOD.replace("    table: each", "    table: each\n    summary: yes please"))
    assert found == ["workflow.yaml line 27, steps[2].summary: expected true or false (true keeps "
                     "the report as the document's summary, so it needs a report)"]  # fmt: skip


RETRIEVE = """\
version: 1
id: ask
name: Ask
steps:
  - name: found
    kind: retrieve
    query: How deep should the roots grow?
    k: 3
  - name: answer
    kind: prompt
    prompt: "Answer from these passages: {{found}}"
"""


def test_a_retrieve_step_takes_a_checked_query_at_the_top_level_only() -> None:
    spec = parse_text(RETRIEVE, "ask.yaml")
    found = spec.steps[0]
    assert (found.kind, found.query, found.k) == ("retrieve", "How deep should the roots grow?", 3)
    assert (
        "{{serch}} names no earlier step" in problems(RETRIEVE.replace("{{found}}", "{{serch}}"))[0]
    )
    nested = GOOD.replace("      - name: line\n        kind: prompt\n        prompt:",
                          "      - name: line\n        kind: retrieve\n        query:")  # fmt: skip
    assert any("steps[0].steps[2].kind: a retrieve step cannot be inside a map" in p
               for p in problems(nested))  # fmt: skip


def test_chapters_are_the_first_outline_level_that_differs() -> None:
    def piece(*sections: str, document: str = "guide.pdf") -> Citation:
        return Citation(document, (), sections)

    pieces = [
        piece(),  # the cover, before any heading: joins the first chapter
        piece("Guide › 1 Tutorials › 1.1 Shell"),
        piece("Guide › 1 Tutorials › 1.2 Files"),
        piece("Guide › 2 Packages"),
        piece(),  # a piece without a heading inside chapter 2
        piece("Guide › 3 Network › 3.1 Setup"),
    ]
    assert chapters(pieces) == [("1 Tutorials", [0, 1, 2]), ("2 Packages", [3, 4]),
                                ("3 Network", [5])]  # fmt: skip
    assert chapters([piece(), piece()]) == [("", [0, 1])]  # no outline: one group
    several = [piece("A › x", document="a.md"), piece("b", document="b.md")]
    assert chapters(several) == [("a.md", [0]), ("b.md", [1])]
    many = [piece(f"Guide › Part {i}") for i in range(50)]  # neighbours joined: at most 24
    joined = chapters(many)
    assert len(joined) == 17 and joined[0] == ("Part 0 – Part 2", [0, 1, 2])
    assert [i for _, ix in joined for i in ix] == list(range(50))
