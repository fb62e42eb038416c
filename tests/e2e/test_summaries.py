"""Whole-document summaries with the real embedded model over a real (small) file: a map over
the document's sections in order, a reduce in as many levels as the model's context needs, the
citations kept through the levels, every group cached; ``anyllm summarize`` on top."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from anyllm_desktop.cli import main
from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Progress
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.workflows.loading import builtin_workflows, parse_text
from anyllm_desktop.services.workflows.runner import run_workflow
from tests.e2e.conftest import ingest

pytestmark = pytest.mark.e2e

GARDEN = """\
# Garden guide

## Soil

Good soil holds water and air. Mix compost into the top layer every spring, and test the soil
once a year: most vegetables like it slightly acid, between pH 6 and 7. Clay soil drains slowly,
so add sand and organic matter before you plant anything in it.

## Watering

Water early in the morning, when less of it evaporates. Give the roots a deep soak twice a week
rather than a little every day, so they grow down instead of staying near the surface. A layer
of mulch keeps the ground moist for longer in the summer heat.

## Pests

Slugs eat young lettuce at night; beer traps and copper rings keep them away. Aphids gather under
leaves in early summer, and ladybirds eat them, so do not spray the whole garden. Rotate crops
each year so that pests living in the soil do not find the same plants again.
"""
SECTIONS = {"Garden guide › Soil", "Garden guide › Watering", "Garden guide › Pests"}


def garden(tmp_path: Path) -> Path:
    path = tmp_path / "garden.md"
    path.write_text(GARDEN, encoding="utf-8")
    return path


def test_a_document_is_summarized_by_sections_in_levels_with_its_citations(
    library: Library, tmp_path: Path
) -> None:
    # A 512-token window with 300 of it kept for the answer leaves room for two section
    # summaries per reduce: three sections take two levels.
    library.runtime.settings = replace(library.runtime.settings, context_size=512)
    library.create_workspace("w")
    ingest(library, "w", garden(tmp_path))
    text = builtin_workflows()["document-summary"].read_text(encoding="utf-8")
    small = (text.replace("max_document_tokens: 1200", "max_document_tokens: 100")
             .replace("max_tokens: 120", "max_tokens: 48"))  # fmt: skip
    spec = parse_text(small, "document-summary.yaml")

    events = list(run_workflow(library, "w", spec, CancelToken()))
    assert isinstance(events[-1], Done)
    result = events[-1].result
    messages = [e.message for e in events if isinstance(e, Progress)]
    assert "section 1 of 3 · gist" in messages and "section 3 of 3 · gist" in messages
    assert "summary · overview · level 1, part 1 of 2" in messages
    assert "summary · overview · level 2, part 1 of 1" in messages
    assert [r.citation.sections for r in result.rows] == [
        ("Garden guide › Soil",),
        ("Garden guide › Watering",),
        ("Garden guide › Pests",),
    ]
    assert result.model_calls == 5  # three sections, then two reduces
    assert result.report and result.citations
    for citation in result.citations:  # what the summary cites is the document's sections
        assert citation.document == "garden.md" and set(citation.sections) <= SECTIONS
    chapters = result.report.splitlines()[-3:]  # the overview, then one line per chapter
    assert [line.split("** ", 1)[0] for line in chapters] == ["- **Soil", "- **Watering",
                                                              "- **Pests"]  # fmt: skip
    for heading in ("Soil", "Watering", "Pests"):  # each chapter's line cites its chapter
        assert f"- **{heading}** [§{heading}] " in result.report
    assert result.evaluated_tokens < result.prompt_tokens  # the instruction's prefix reused

    again = list(run_workflow(library, "w", spec, CancelToken()))[-1].result
    assert (again.model_calls, again.cached) == (0, 5)  # every section and group cached
    assert again.report == result.report and again.citations == result.citations


def test_cli_summarize_gives_the_summary_and_its_citations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["workspace", "create", "w"]) == 0
    assert main(["ingest", "-w", "w", str(garden(tmp_path))]) == 0
    capsys.readouterr()
    assert main(["summarize", "-w", "w", "garden.md", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["summary"].startswith("[§Soil–§Pests] ")  # one piece: its summary is it
    assert printed["model_calls"] == 1
    assert [(c["document"], c["page"], c["section"]) for c in printed["citations"]] == [
        ("garden.md", None, "Garden guide › Soil")
    ]
    assert set(printed["citations"][0]["sections"]) == SECTIONS

    assert main(["summarize", "-w", "w", "nothing.md"]) == 2
    error = capsys.readouterr().err
    assert "No indexed document is named nothing.md (documents: garden.md)" in error
    assert main(["jobs", "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert sorted(j["state"] for j in jobs if j["kind"] == "workflow") == ["done", "failed"]


def test_a_kept_summary_is_a_passage_search_finds_and_it_goes_with_its_document(
    library: Library, tmp_path: Path
) -> None:
    from anyllm_desktop.services.summary_passages import SUMMARY_SECTION
    from anyllm_desktop.store.vectors import SUMMARY_CHUNK

    library.create_workspace("w")
    path = garden(tmp_path)
    other = tmp_path / "other.md"
    other.write_text("# Bread\n\nKnead the dough for ten minutes, then let it rise.\n",
                     encoding="utf-8")  # fmt: skip
    ingest(library, "w", path, other)
    text = builtin_workflows()["document-summary"].read_text(encoding="utf-8")
    short = text.replace("max_tokens: 120", "max_tokens: 32").replace("max_tokens: 300",
                                                                      "max_tokens: 48")  # fmt: skip
    spec = parse_text(short, "document-summary.yaml")
    ws = library.workspace("w")

    def summaries() -> dict[int, str]:
        table = library.table(ws)
        return {
            d.id: hit.text
            for d in library.documents("w")
            for hit in library.vectors.passages(table, d.id, [SUMMARY_CHUNK]).values()
        }

    both = list(run_workflow(library, "w", spec, CancelToken()))[-1].result
    assert summaries() == {}  # a summary of two documents is no document's
    assert "not kept in the workspace's index: it covers 2 documents" in " ".join(both.notes)

    for _ in range(2):  # summarized again: replaced, not added
        done = list(run_workflow(library, "w", spec, CancelToken(), documents=["garden.md"]))
        result = done[-1].result
        assert "Kept as the summary of garden.md in the workspace's index" in result.notes[-1]
    garden_id = next(d.id for d in library.documents("w") if d.path.endswith("garden.md"))
    assert summaries() == {garden_id: result.report}

    found = library.search("w", "What is the garden guide about? Its summary.", k=2)
    (summary,) = [r for r in found if r.chunk == SUMMARY_CHUNK]
    assert summary.section == SUMMARY_SECTION and summary.text == result.report
    assert summary.document == "garden.md" or summary.path.endswith("garden.md")
    # The document's own passages are counted without it (integrity checks, the panel).
    counts = library.vectors.passages_per_document(library.table(ws))
    assert counts[garden_id] == next(d.chunks for d in library.documents("w")
                                     if d.id == garden_id)  # fmt: skip

    path.write_text(GARDEN.replace("pH 6 and 7", "pH 5.5 and 7"), encoding="utf-8")
    ingest(library, "w", path)  # changed: its summary no longer holds
    assert summaries() == {}


RETRIEVE = """\
version: 1
id: ask-garden
name: Ask the garden guide
steps:
  - name: found
    kind: retrieve
    query: How often should I water, and when?
    k: 1
  - name: answer
    kind: prompt
    prompt: "Answer from this passage:\\n{{found}}\\n\\nHow often should I water?"
    max_tokens: 16
  - name: report
    kind: output
    report: "{{found}}"
"""


def test_a_retrieve_step_gives_later_steps_the_passages_with_their_sources(
    library: Library, tmp_path: Path
) -> None:
    library.create_workspace("w")
    ingest(library, "w", garden(tmp_path))
    events = list(run_workflow(library, "w", parse_text(RETRIEVE, "ask.yaml"), CancelToken()))
    assert isinstance(events[-1], Done), events[-1]
    result = events[-1].result
    assert result.report.startswith("[garden.md, Garden guide › Watering] ")
    assert "twice a week" in result.report and result.model_calls == 1
    assert [(c.document, c.sections) for c in result.citations] == [
        ("garden.md", ("Garden guide › Watering",))
    ]
    assert not any("found no passage" in note for note in result.notes)
