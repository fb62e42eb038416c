"""Runs kept per workspace with the real embedded model: the "workflow" job records a done,
failed or cancelled run with its models and documents; ``anyllm runs`` lists and exports them;
a step's model chosen for the run replaces the file's; deleting the workspace deletes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyllm_desktop.cli import main
from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error
from anyllm_desktop.services.jobs import JobService
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.workflows.loading import builtin_workflows
from anyllm_desktop.services.workflows.runs import RunLog
from tests.e2e.conftest import ingest

pytestmark = pytest.mark.e2e

DOCS = {"good.md": "# Great blender\n\nI love it. The soup is wonderful.\n",
        "bad.txt": "Broken on arrival, nobody answered. Awful service.\n"}  # fmt: skip


def _docs(folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in DOCS]


def _log(library: Library, name: str = "w") -> RunLog:
    return RunLog(library.runtime.paths.workflow_cache(library.workspace(name).uid))


def test_the_job_keeps_done_failed_and_cancelled_runs(library: Library, tmp_path: Path) -> None:
    library.create_workspace("w")
    ingest(library, "w", *_docs(tmp_path / "docs"))
    flow = str(builtin_workflows()["sentiment-table"])
    service = JobService(library)
    try:
        events = list(service.run("workflow", "w", workflow=flow, documents=["good.md"],
                                  models={"sentiment": "embedded"}))  # fmt: skip
        assert isinstance(events[-1], Done)
        missing = list(service.run("workflow", "w", workflow=flow, documents=["nope.md"]))
        assert isinstance(missing[-1], Error)
        wrong = list(service.run("workflow", "w", workflow=flow, models={"each": "embedded"}))
        assert "no step each asks a model (steps that do: sentiment)" in wrong[-1].message
        stopped = CancelToken()
        stopped.cancel()
        list(service.run("workflow", "w", stopped, workflow=flow))
    finally:
        service.close()
    cancelled, wrong_model, failed, done = _log(library).recent()
    assert (done.status, done.workflow, done.name) == ("done", "sentiment-table",
                                                       "Sentiment of each document")  # fmt: skip
    assert done.documents == ["good.md"] and done.file == flow and done.rows == 1
    assert done.models == {"sentiment": "SmolLM2-135M-Instruct.Q4_1.gguf"}
    assert failed.status == "failed" and "No indexed document is named nope.md" in failed.error
    assert wrong_model.status == "failed" and cancelled.status == "cancelled"
    kept = _log(library).get(done.id).result
    assert kept is not None and kept.rows[0].document == "good.md"
    assert kept.rows[0].values["sentiment"] in ("positive", "neutral", "negative")
    assert kept.rows[0].citation.describe() == "good.md, Great blender"

    list(library.delete_workspace("w"))  # the runs go with the workspace
    library.create_workspace("w")
    assert _log(library).recent() == []


def test_anyllm_runs_lists_and_exports_a_kept_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openpyxl import load_workbook

    assert main(["workspace", "create", "w"]) == 0
    assert main(["ingest", "-w", "w", *map(str, _docs(tmp_path / "docs"))]) == 0
    assert main(["runs", "-w", "w"]) == 0
    assert "no workflow runs in w yet" in capsys.readouterr().out
    assert main(["run", "sentiment-table", "-w", "w", "--json"]) == 0
    ran = json.loads(capsys.readouterr().out)
    assert main(["runs", "-w", "w", "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert (run["workflow"], run["status"], run["rows"]) == ("sentiment-table", "done", 2)
    assert sorted(run["documents"]) == ["bad.txt", "good.md"]
    assert main(["runs", "-w", "w"]) == 0
    line = capsys.readouterr().out
    assert f"#{run['id']} · " in line and "2 rows · 2 document(s) · sentiment: SmolLM2" in line

    out = tmp_path / "again.xlsx"
    assert main(["runs", "-w", "w", "--show", str(run["id"]), "--out", str(out)]) == 0
    assert f"wrote {out} (run {run['id']}, 2 rows)" in capsys.readouterr().out
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0] == ("document", "sentiment", "source", "status", "reason")
    labels = {r["document"]: r["cells"]["sentiment"]["value"] for r in ran["rows"]}
    assert {r[0]: r[1] for r in rows[1:]} == labels

    assert main(["runs", "-w", "w", "--show", "99"]) == 2
    assert f"There is no run 99 in this workspace (runs: {run['id']})" in capsys.readouterr().err
