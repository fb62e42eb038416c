"""Workflows with the real embedded model over real (tiny) files: grammars hold classify and
extract to their labels and schema, the cache answers re-runs, skip/stop policies, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from anyllm_desktop.cli import main
from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Progress
from anyllm_desktop.core.workflow_spec import WorkflowSpec
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.workflows.loading import builtin_workflows, parse_text
from anyllm_desktop.services.workflows.results import WorkflowResult
from anyllm_desktop.services.workflows.runner import run_workflow
from tests.e2e.conftest import ingest

pytestmark = pytest.mark.e2e

LABELS = ("positive", "neutral", "negative")
FLOW = """\
version: 1
id: test-flow
name: Test flow
steps:
  - name: each
    kind: map
    max_document_tokens: 3000
    steps:
      - name: mood
        kind: classify
        labels: [positive, neutral, negative]
        max_tokens: 4
      - name: fields
        kind: extract
        schema:
          type: object
          properties:
            title: {type: string, maxLength: 24}
        max_tokens: 40
        on_error: POLICY
  - name: table
    kind: output
    table: each
"""
DOCS = {
    "good.md": "# Great blender\n\nI love it. The soup is wonderful.\n",
    "bad.txt": "Broken on arrival, nobody answered. Awful service.\n",
    "notes.md": "# Meeting\n\nTuesday at 10:00 in room 4.\n",
}


def write(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text(DOCS[name], encoding="utf-8")
    return [folder / name for name in names]


def run(library: Library, policy: str = "skip") -> tuple[list[object], WorkflowResult | None]:
    spec = parse_text(FLOW.replace("POLICY", policy), "flow.yaml")
    events = list(run_workflow(library, "w", spec, CancelToken()))
    done = events[-1].result if isinstance(events[-1], Done) else None
    return events, done


def test_grammar_outputs_cache_reuse_and_a_new_document(library: Library, tmp_path: Path) -> None:
    library.create_workspace("w")
    ingest(library, "w", *write(tmp_path / "docs", ["good.md", "bad.txt"]))
    events, result = run(library)
    assert result is not None and result.model_calls == 4 and result.cached == 0
    assert result.columns == ["mood", "title"]
    assert sorted(r.document for r in result.rows) == ["bad.txt", "good.md"]
    for row in result.rows:
        assert row.status == "done" and row.values["mood"] in LABELS
        assert isinstance(row.values["title"], str) and len(row.values["title"]) <= 24
        assert json.loads(json.dumps(row.values["fields"])) == {"title": row.values["title"]}
    messages = [e.message for e in events if isinstance(e, Progress)]
    assert "document 2 of 2 · fields" in messages
    good = next(r for r in result.rows if r.document == "good.md")
    assert good.citation.describe() == "good.md, Great blender"

    _, again = run(library)  # unchanged: nothing asked of the model
    assert again is not None and (again.model_calls, again.cached) == (0, 4)
    assert [r.values for r in again.rows] == [r.values for r in result.rows]

    ingest(library, "w", *write(tmp_path / "docs", ["notes.md"]))
    _, third = run(library)  # only the new document is processed
    assert third is not None and (third.model_calls, third.cached) == (2, 4)
    assert len(third.rows) == 3


def test_a_held_answer_cut_at_max_tokens_is_asked_again_and_parses(
    library: Library, tmp_path: Path
) -> None:
    library.create_workspace("w")
    ingest(library, "w", *write(tmp_path / "docs", ["good.md"]))
    # 5 tokens cannot hold {"title": "..."}: the JSON would be cut open and fail to parse.
    flow = FLOW.replace("POLICY", "stop").replace("max_tokens: 40", "max_tokens: 5")
    flow = flow.replace("maxLength: 24", "maxLength: 8")
    events = list(run_workflow(library, "w", parse_text(flow, "flow.yaml"), CancelToken()))
    assert isinstance(events[-1], Done), events[-1]
    result = events[-1].result
    (row,) = result.rows
    assert row.status == "done" and isinstance(row.values["title"], str)
    assert 1 < result.model_calls <= 1 + 3  # the label, then the fields with 5, 10 and 20
    assert any("cut at max_tokens 5 was asked again" in n for n in result.notes), result.notes


def test_skip_keeps_going_and_stop_names_the_document(library: Library, tmp_path: Path) -> None:
    # A document longer than the model's context window fails for real (llama.cpp refuses it):
    # in the extract, since the classify reads only the text's first CHANNEL_TOKENS.
    library.runtime.settings = replace(library.runtime.settings, context_size=512)
    folder = tmp_path / "docs"
    long_text = " ".join(f"Sentence {i} about the blender and its motor." for i in range(400))
    (folder / "long.txt").parent.mkdir()
    (folder / "long.txt").write_text(long_text, encoding="utf-8")
    library.create_workspace("w")
    ingest(library, "w", folder / "long.txt", *write(folder, ["bad.txt"]))
    _, result = run(library, "skip")
    assert result is not None
    rows = {r.document: r for r in result.rows}
    assert rows["bad.txt"].status == "done" and rows["bad.txt"].values["mood"] in LABELS
    assert rows["long.txt"].status == "skipped"
    assert "fields: " in rows["long.txt"].reason and "context window" in rows["long.txt"].reason

    events, stopped = run(library, "stop")
    assert stopped is None and isinstance(events[-1], Error)
    assert events[-1].message.startswith("long.txt: the step fields failed:")


def test_cli_run_writes_xlsx_and_lists_workflows(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:  # fmt: skip
    from openpyxl import load_workbook

    assert main(["workflows", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["workflows"]
    assert {"sentiment-table", "extract-fields", "document-summary", "summarize-briefing",
            "translate", "faq-pairs"} <= {w["id"] for w in listed}  # fmt: skip

    assert main(["workspace", "create", "w"]) == 0
    paths = write(tmp_path / "docs", ["good.md", "bad.txt"])
    assert main(["ingest", "-w", "w", *map(str, paths)]) == 0
    capsys.readouterr()
    out = tmp_path / "sentiment.xlsx"
    assert main(["run", "sentiment-table", "-w", "w", "--documents", "good.md", "--out",
                 str(out), "--json"]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert printed["out"] == str(out) and printed["model_calls"] == 1
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("document", "sentiment", "source", "status", "reason")
    assert rows[1][0] == "good.md" and rows[1][1] in LABELS and rows[1][3] == "done"
    assert sheet.cell(row=2, column=2).comment.text == "good.md, Great blender"
    assert main(["jobs", "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)
    assert any(j["kind"] == "workflow" and j["state"] == "done" for j in jobs["jobs"])


def test_deleting_a_workspace_deletes_its_workflow_cache(library: Library) -> None:
    from anyllm_desktop.services.workflows.cache import StepCache

    workspace = library.create_workspace("Gone")
    path = library.runtime.paths.workflow_cache(workspace.uid)
    cache = StepCache(path)
    cache.put("key", "mood", "a.md", "positive")
    cache.close()
    assert path.is_file()
    list(library.delete_workspace("Gone"))
    assert not path.exists() and not path.with_name(path.name + "-wal").exists()


def builtin(name: str, *replacements: tuple[str, str]) -> WorkflowSpec:
    """A built-in as shipped, with smaller answers where asked (the tests' time on 2 cores)."""
    text = builtin_workflows()[name].read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    return parse_text(text, f"{name}.yaml")


def run_spec(library: Library, spec: WorkflowSpec) -> WorkflowResult:
    events = list(run_workflow(library, "w", spec, CancelToken()))
    assert isinstance(events[-1], Done), events[-1]
    return events[-1].result


def test_summarize_briefing_summaries_sentiments_and_a_briefing(
    library: Library, tmp_path: Path
) -> None:
    library.create_workspace("w")
    ingest(library, "w", *write(tmp_path / "docs", ["good.md", "bad.txt"]))
    spec = builtin("summarize-briefing", ("max_tokens: 120", "max_tokens: 40"),
                   ("max_tokens: 300", "max_tokens: 60"))  # fmt: skip
    assert next(s for s in spec.steps if s.name == "briefing").model == "local"
    result = run_spec(library, spec)
    assert result.columns == ["summary", "sentiment"] and len(result.rows) == 2
    for row in result.rows:
        assert row.status == "done" and row.values["summary"] and row.values["sentiment"] in LABELS
    assert result.model_calls == 5  # two summaries, two sentiments, one briefing
    assert result.report and result.models["briefing"] == result.models["summary"]
    cited = {c.document for c in result.citations}  # the briefing names its documents
    assert cited and cited <= {"good.md", "bad.txt"}


def test_translate_gives_each_section_translated_with_its_source(
    library: Library, tmp_path: Path
) -> None:
    library.create_workspace("w")
    ingest(library, "w", *write(tmp_path / "docs", ["good.md"]))
    result = run_spec(library, builtin("translate", ("max_tokens: 1024", "max_tokens: 40")))
    assert result.columns == ["translation"] and result.model_calls == 1
    row = result.rows[0]
    assert row.status == "done" and row.values["translation"].strip()
    assert row.citation.describe() == "good.md, Great blender"
    assert result.report == f"- [§Great blender] {row.values['translation']}"


def test_faq_pairs_is_a_table_of_document_question_answer(library: Library, tmp_path: Path) -> None:
    library.create_workspace("w")
    ingest(library, "w", *write(tmp_path / "docs", ["notes.md"]))
    spec = builtin(
        "faq-pairs",
        ("maxLength: 200", "maxLength: 80"),
        ("maxLength: 400", "maxLength: 100"),
        ("max_tokens: 200", "max_tokens: 100"),
    )
    result = run_spec(library, spec)
    header, *body = result.flat_rows()
    assert header[:3] == ["document", "question", "answer"] and len(body) == 1
    assert body[0][0] == "notes.md" and result.rows[0].status == "done"
    pair = result.rows[0].values["pair"]
    assert set(pair) == {"question", "answer"} and all(isinstance(v, str) for v in pair.values())


TWO_PROMPTS = """\
version: 1
id: two-prompts
name: Two prompts
steps:
  - name: each
    kind: map
    steps:
      - name: gist
        kind: prompt
        system: You summarize documents faithfully and briefly.
        prompt: "Summarize this document in two or three sentences.\\n\\nText:\\n{{document.text}}"
        max_tokens: 1
      - name: title
        kind: prompt
        system: You give documents short, plain titles.
        prompt: "Give this document a title of a few words.\\n\\nText:\\n{{document.text}}"
        max_tokens: 1
"""


def test_a_map_asks_each_sub_step_over_all_documents_to_reuse_its_prefix(
    library: Library, tmp_path: Path
) -> None:
    library.create_workspace("w")
    ingest(library, "w", *write(tmp_path / "docs", ["good.md", "bad.txt", "notes.md"]))
    events = list(run_workflow(library, "w", parse_text(TWO_PROMPTS, "two.yaml"), CancelToken()))
    result = events[-1].result
    messages = [e.message for e in events if isinstance(e, Progress)]
    assert messages.index("document 3 of 3 · gist") < messages.index("document 1 of 3 · title")
    # Measured: 290 prompt tokens; llama.cpp reused 128 from its KV cache this way, 20 when each
    # document's two prompts came one after the other.
    assert result.prompt_tokens - result.evaluated_tokens >= 100
