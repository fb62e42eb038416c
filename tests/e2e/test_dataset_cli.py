"""`anyllm dataset` through the CLI entry: import with the bad rows said by file and row, show,
list, export in each format, rows too long for the real embedded model's context, and a
dataset built from a real FAQ workflow run of the embedded model over a tiny document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyllm_desktop.cli import main
from anyllm_desktop.core.dataset_formats import read_dataset
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.workflows.loading import builtin_workflows

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent.parent / "training_data"
MODEL = "embedded:smollm2-135m-instruct-q4_1"


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_show_list_and_export_each_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(capsys, "dataset", "import", str(DATA / "chat.jsonl"),
                          str(DATA / "pairs.csv"), "--name", "office", "--json")  # fmt: skip
    assert code == 0
    card = json.loads(out)
    assert card["counts"] == {"examples": 8, "train": 7, "held_out": 1, "problems": 3,
                              "duplicates": 1}  # fmt: skip
    assert "anyllm: warning: skipped chat.jsonl row 4: not JSON" in err
    assert "skipped pairs.csv row 4: the answer is empty" in err

    code, out, _ = call(capsys, "dataset", "show", "office", "-n", "2")
    assert code == 0 and out.startswith("office: 8 examples (7 train, 1 held out), 3 rows "
                                         "skipped, 1 duplicate dropped")  # fmt: skip
    assert "chat.jsonl row 5: the last turn is the user's, not the assistant's answer" in out
    assert "'question' column as the prompt" in out
    code, out, _ = call(capsys, "dataset", "list", "--json")
    assert [d["name"] for d in json.loads(out)["datasets"]] == ["office"]

    for name in ("all.jsonl", "all.json", "all.sharegpt.json", "all.csv"):
        code, out, _ = call(capsys, "dataset", "export", "office", "--out", str(tmp_path / name),
                            "--json")  # fmt: skip
        assert code == 0 and json.loads(out)["examples"] == 8
        again = read_dataset(tmp_path / name)
        assert len(again.examples) == 8 and again.problems == []
    code, out, _ = call(capsys, "dataset", "export", "office", "--split", "held-out", "--out",
                        str(tmp_path / "held.jsonl"))  # fmt: skip
    assert code == 0 and out == f"wrote {tmp_path / 'held.jsonl'} (1 examples, openai)\n"
    assert call(capsys, "dataset", "delete", "office")[:2] == (0, "deleted the dataset office\n")
    code, out, _ = call(capsys, "dataset", "list")
    assert out == "no datasets yet (anyllm dataset import FILE --name NAME)\n"


def test_failures_exit_non_zero_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = call(capsys, "dataset", "import", str(DATA / "notes.json"), "--name", "n")
    assert code == 2 and "notes.json: its first record has title, text" in err
    code, _, err = call(capsys, "dataset", "show", "missing")
    assert code == 2 and "There is no dataset 'missing' (datasets: none yet)." in err
    assert call(capsys, "dataset", "import", str(DATA / "alpaca.json"), "--name", "a")[0] == 0
    code, _, err = call(capsys, "dataset", "import", str(DATA / "alpaca.json"), "--name", "a")
    assert code == 2 and "there is a dataset 'a' already" in err
    code, _, err = call(capsys, "dataset", "export", "a", "--out", str(tmp_path / "a.txt"))
    assert code == 2 and "a.txt: write .jsonl (OpenAI chat)" in err
    bad = tmp_path / "empty.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    code, _, err = call(capsys, "dataset", "import", str(bad), "--name", "e")
    assert code == 2 and "no usable example, so no dataset 'e' was saved: empty.jsonl row 1: " \
        "no assistant turn" in err  # fmt: skip


def test_rows_too_long_for_the_models_context_are_skipped_by_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"instruction": "Say yes.", "output": "Yes."},
            {"instruction": "Repeat: " + "word " * 9000, "output": "No."}]  # fmt: skip
    path = tmp_path / "long.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    code, out, err = call(capsys, "dataset", "import", str(path), "--name", "long", "--model",
                          MODEL, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["counts"]["examples"] == 1
    assert (
        "skipped long.json row 2: 9,0" in err and "longer than the model's context of 8,192" in err
    )


def test_build_from_a_real_faq_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = builtin_workflows()["faq-pairs"].read_text(encoding="utf-8")
    for old, new in (("maxLength: 200", "maxLength: 80"), ("maxLength: 400", "maxLength: 100"),
                     ("max_tokens: 200", "max_tokens: 100")):  # fmt: skip
        text = text.replace(old, new)
    flow = tmp_path / "faq.yaml"
    flow.write_text(text, encoding="utf-8")
    doc = tmp_path / "docs" / "notes.md"
    doc.parent.mkdir()
    doc.write_text("# Meeting\n\nTuesday at 10:00 in room 4.\n", encoding="utf-8")
    assert call(capsys, "workspace", "create", "w")[0] == 0
    assert call(capsys, "ingest", "-w", "w", str(doc))[0] == 0
    code, out, _ = call(capsys, "run", str(flow), "-w", "w", "--json")
    assert code == 0
    cells = json.loads(out)["rows"][0]["cells"]
    pair = {column: cells[column]["value"] for column in ("question", "answer")}
    code, out, _ = call(capsys, "runs", "-w", "w", "--json")
    run_id = json.loads(out)["runs"][0]["id"]

    code, out, _ = call(capsys, "dataset", "build", "-w", "w", "--run", str(run_id), "--name",
                        "faq", "--json")  # fmt: skip
    assert code == 0, out
    card = json.loads(out)
    assert card["counts"]["examples"] == 1 and card["sources"] == [
        f"workspace w, run {run_id} (faq-pairs)"]  # fmt: skip
    code, out, _ = call(capsys, "dataset", "show", "faq", "--json")
    row = json.loads(out)["rows"][0]
    assert row["messages"] == [{"role": "user", "content": pair["question"]},
                               {"role": "assistant", "content": pair["answer"]}]  # fmt: skip
    assert row["source"] == "notes.md, Meeting" and row["row"] == 1
    code, _, err = call(capsys, "dataset", "build", "-w", "w", "--run", "99", "--name", "x")
    assert code == 2 and f"There is no run 99 in this workspace (runs: {run_id})" in err


def test_build_from_the_answers_rated_in_the_chats(
    library: Library, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = library.create_workspace("w")
    threads = library.threads
    thread = threads.create(workspace.id, "About apt")
    for question, answer in (("What is sid?", "Unstable."), ("Where are apt's sources?", "apt"),
                             ("Hello?", "Hi.")):  # fmt: skip
        threads.add_message(thread.id, "user", question)
        threads.add_message(thread.id, "assistant", answer)
    _, sid, _, sources, _, _ = threads.messages(thread.id)
    code, _, err = call(capsys, "dataset", "build", "-w", "w", "--chats", "--name", "chats")
    assert code == 2 and "rate answers in the chat, then build again" in err

    threads.rate(sid.id, 1)  # Good, as the answer header keeps it
    threads.rate(sources.id, -1, "/etc/apt/sources.list")  # Wrong, then Correct…
    code, out, _ = call(capsys, "dataset", "build", "-w", "w", "--chats", "--name", "chats",
                        "--json")  # fmt: skip
    assert code == 0, out
    card = json.loads(out)
    assert card["counts"]["examples"] == 2 and card["sources"] == ["workspace w, chats"]
    code, out, _ = call(capsys, "dataset", "show", "chats", "--json")
    rows = sorted((r["messages"][0]["content"], r["messages"][1]["content"])
                  for r in json.loads(out)["rows"])  # fmt: skip
    assert rows == [("What is sid?", "Unstable."),
                    ("Where are apt's sources?", "/etc/apt/sources.list")]  # fmt: skip
