"""The workspace's kept workflow runs: written once at the end, listed newest first, reopened
with the result they had (citations included), and a missing run named with the ones there."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyllm_desktop.services.workflows.results import Citation, Row, WorkflowResult, export
from anyllm_desktop.services.workflows.runs import RunLog, RunRecord, result_from_json


def _result() -> WorkflowResult:
    rows = [
        Row("good.md", Citation("good.md", (), ("Great blender",)), {"sentiment": "positive"}),
        Row("a.pdf", Citation("a.pdf", (2, 3)), {"sentiment": "negative"}),
        Row("long.txt", Citation("long.txt"), {}, "skipped", "sentiment: too long"),
    ]
    return WorkflowResult("sentiment-table", "Sentiment", ["sentiment"], rows, "## Report",
                          model_calls=2, cached=1, notes=["a.pdf: read in part"],
                          models={"sentiment": "SmolLM2.gguf"})  # fmt: skip


def test_a_kept_run_reopens_with_its_result_and_citations(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "ws" / "uid.sqlite3")
    assert log.recent() == []
    failed = RunRecord("x", "X", "/f/x.yaml", "failed", 1.0, 2.0, error="x.yaml line 3, id: bad")
    first = log.add(failed)
    second = log.add(RunRecord("sentiment-table", "Sentiment", "/f/s.yaml", "done", 3.0, 4.0,
                               {"sentiment": "local"}, ["good.md", "a.pdf", "long.txt"],
                               result=_result()))  # fmt: skip
    listed = log.recent()
    assert [r.id for r in listed] == [second, first] and listed[0].result is None
    assert listed[0].rows == 3 and listed[1].error == "x.yaml line 3, id: bad"
    assert listed[0].describe().endswith("· Sentiment · 3 rows")
    assert listed[1].describe().endswith("· X · failed")

    again = log.get(second).result
    assert again is not None
    assert again.to_json() == _result().to_json()
    assert again.rows[1].citation.describe() == "a.pdf, p. 2–3"
    assert again.rows[2].status == "skipped" and again.rows[2].reason == "sentiment: too long"
    export(again, tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_text(encoding="utf-8").splitlines()[2] == (
        'a.pdf,negative,"a.pdf, p. 2–3",done,'
    )
    assert log.get(first).result is None


def test_a_missing_run_and_a_bad_state_are_said(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "uid.sqlite3")
    with pytest.raises(KeyError, match=r"no run 7 in this workspace \(runs: none yet\)"):
        log.get(7)
    log.add(RunRecord("x", "X", "x.yaml", "cancelled", 1.0))
    with pytest.raises(KeyError, match=r"\(runs: 1\)"):
        log.get(7)
    with pytest.raises(ValueError, match="done, failed or cancelled"):
        log.add(RunRecord("x", "X", "x.yaml", "running", 1.0))


def test_result_from_json_inverts_to_json() -> None:
    result = _result()
    assert result_from_json(result.to_json()).flat_rows() == result.flat_rows()


def test_a_result_exports_as_a_printable_page(tmp_path: Path) -> None:
    result = _result()
    result.report = "## Report\n\nThe <b>blender</b> pleased [good.md, Great blender]."
    export(result, page := tmp_path / "result.html")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>Sentiment</title>" in text
    assert "<h2>Report</h2>" in text and "<td>good.md</td>" in text and "<th>sentiment</th>" in text
    assert "&lt;b&gt;blender&lt;/b&gt;" in text  # a document's markup is shown, never run
    assert "@media print" in text and "a.pdf: read in part" in text


def test_a_run_is_listed_from_its_start_and_a_gone_process_leaves_it_interrupted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "uid.sqlite3"
    running = RunRecord("x", "X", "x.yaml", "failed", 1.0)
    RunLog(path).start(running)
    assert [(r.id, r.status) for r in RunLog(path).recent()] == [(running.id, "running")]

    gone = RunLog(path, alive=lambda pid: False)  # what a later process sees after a kill -9
    (listed,) = gone.recent()
    assert listed.status == "interrupted" and "run it again" in listed.error
    assert gone.get(running.id).describe().endswith("· X · interrupted")

    finished = RunRecord("y", "Y", "y.yaml", "done", 2.0, result=_result())
    log = RunLog(path)
    log.start(finished)
    finished.status = "done"
    log.add(finished)  # the same row, ended
    assert [(r.name, r.status, r.rows) for r in log.recent()] == [
        ("Y", "done", 3),
        ("X", "interrupted", 0),
    ]
