"""The training job end to end on a tiny random-weight llama GGUF (tests/tiny_gguf.py): a
dataset file in, an adapter with its card out (before/after losses measured through
llama.cpp, answers side by side), kept in the adapter store; cancelled mid-run it keeps a
checkpoint, and the same job resumed continues from it instead of starting over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyllm_desktop.cli import main
from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, TrainingStep
from anyllm_desktop.models.adapters import AdapterStore
from anyllm_desktop.services.jobs import JobService
from anyllm_desktop.services.library import Library
from tests.tiny_gguf import FACTS, write_facts, write_tiny_gguf

pytestmark = pytest.mark.e2e

SETTINGS = {"rank": 4, "alpha": 8.0, "learning_rate": 2e-2, "epochs": 4, "batch_size": 4,
            "max_length": 64}  # fmt: skip


def test_a_training_job_makes_a_measured_adapter_and_resumes_after_cancel(
    library: Library, tmp_path: Path
) -> None:
    base = write_tiny_gguf(tmp_path)
    params = {"base": str(base), "data": str(write_facts(tmp_path)), "name": "Tiny facts",
              "settings": SETTINGS}  # fmt: skip
    service = JobService(library)
    try:
        cancel, steps = CancelToken(), []
        job = service.submit("training", **params)
        for event in service.events(job, cancel):
            if isinstance(event, TrainingStep):
                steps.append(event)
                if event.step == 2:
                    cancel.cancel()
        assert [s.step for s in steps] == [1, 2] and steps[0].total == 8
        assert service.store.get(job.id).state == "cancelled"
        assert AdapterStore(library.runtime.paths).list() == []
        (checkpoint,) = (library.runtime.paths.adapters_dir / ".training").glob("*/state.npz")

        resumed = service.again(job.id)
        events = list(service.events(resumed, CancelToken()))
    finally:
        service.close()
    assert not [e for e in events if isinstance(e, Error)], events
    assert [e.step for e in events if isinstance(e, TrainingStep)] == [3, 4, 5, 6, 7, 8]
    card = events[-1].result if isinstance(events[-1], Done) else None
    assert card is not None and card.name == "Tiny facts" and card.architecture == "llama"
    assert card.base_model == str(base) and len(card.base_sha256) == 64
    assert card.dataset["train"] + card.dataset["held_out"] == len(FACTS)
    results = card.results
    assert "resumed at step 2" in results["notes"] and results["steps"] == 8
    # Measured through llama.cpp, with and without the adapter, on the training examples.
    assert results["train_loss_after"] < results["train_loss_before"]
    assert len(results["side_by_side"]) == 5
    assert {"question", "expected", "before", "after"} <= set(results["side_by_side"][0])
    (kept,) = AdapterStore(library.runtime.paths).list()
    assert kept.id == card.id and not checkpoint.exists()  # the run's checkpoint went with it


def test_cli_finetune_prints_progress_and_keeps_an_adapter_ask_can_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_tiny_gguf(tmp_path)
    data = write_facts(tmp_path)
    code = main(["finetune", "--base", str(base), "--data", str(data), "--epochs", "1",
                 "--rank", "4", "--learning-rate", "0.02", "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    card = json.loads(out)
    assert card["id"] and card["settings"]["epochs"] == 1 and card["settings"]["rank"] == 4
    assert "step 1 of 2 · epoch 1 · loss" in err and "step 2 of 2" in err  # a line per step
    assert main(["adapters", "list", "--json"]) == 0
    assert card["id"] in capsys.readouterr().out

    assert main(["workspace", "create", "w"]) == 0
    assert main(["workspace", "model", "w", f"{base}+{card['id']}", "--json"]) == 0
    capsys.readouterr()
    code = main(["ask", "-w", "w", "What colour is the sky?", "--json"])  # the workspace's model
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["model"] == f"{base.name} + {card['id']}"  # base and adapter
    assert main(["workspace", "model", "w", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err

    missing = tmp_path / "nope.jsonl"
    assert main(["finetune", "--base", str(base), "--data", str(missing)]) == 2
    assert f"{missing}: there is no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    assert main(["finetune", "--base", str(base), "--data", str(bad)]) == 2
    assert "Training cannot start: bad.jsonl has no usable example" in capsys.readouterr().err
