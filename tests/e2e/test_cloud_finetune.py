"""Cloud fine-tuning from the CLI end to end, against a real loopback server that replays the
OpenAI fine-tuning API (files, fine_tuning/jobs, job polls, events): refused offline and
without agreement before any request, the examples uploaded as chat JSONL, progress shown, the
fine-tuned model added to the provider's models, a failed job's reason shown, the key never
printed."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Progress
from anyllm_desktop.services.cloud_finetune import cloud_finetune_job
from anyllm_desktop.services.cloud_providers import add_provider
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store import secrets
from tests.e2e.test_ingest_cli import anyllm
from tests.replay_server import Replay, Reply

pytestmark = pytest.mark.e2e

KEY = "sk-live-PLANTED-f1ne-7u2e"
BASE = "gpt-4o-mini-2024-07-18"
TUNED = "ft:gpt-4o-mini-2024-07-18:acme:faq:abc123"


def _json(body: object) -> Reply:
    return Reply(chunks=[json.dumps(body).encode()])


def _events(*messages: str) -> Reply:
    """An events page, newest first as the API lists them."""
    data = [{"id": f"ev-{n}", "object": "fine_tuning.job.event", "message": m,
             "data": {"step": n, "total_steps": 8}} for n, m in enumerate(messages, 1)]  # fmt: skip
    return _json({"object": "list", "data": list(reversed(data))})


def _started() -> list[Reply]:
    return [
        _json({"id": "file-train", "object": "file", "purpose": "fine-tune"}),
        _json({"id": "file-valid", "object": "file", "purpose": "fine-tune"}),
        _json({"id": "ftjob-42", "object": "fine_tuning.job", "status": "validating_files"}),
    ]


@pytest.fixture
def setup(
    keyless_env: dict[str, str], server: Replay, tmp_path: Path
) -> tuple[dict[str, str], Path]:
    added = anyllm(keyless_env, "providers", "add", "replay", "--kind", "openai", "--base-url",
                   f"{server.url}/v1", "--api-key", KEY, "--model", "gpt-test")  # fmt: skip
    assert added.returncode == 0, added.stderr
    data = tmp_path / "faq.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"What is fact {n}?"},
                          {"role": "assistant", "content": f"Fact {n} is true."}]}
            for n in range(10)]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return keyless_env, data


def _finetune(env: dict[str, str], data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return anyllm(env, "finetune", "--cloud", "replay", "--base", BASE, "--data", str(data),
                  "--held-out", "0.2", *extra)  # fmt: skip


def test_cloud_finetune_uploads_polls_and_adds_the_model(
    setup: tuple[dict[str, str], Path], server: Replay, anyllm_home: Path
) -> None:
    env, data = setup
    offline = _finetune(env, data, "--send-to-cloud")
    assert offline.returncode == 2 and "Offline mode is on" in offline.stderr
    assert server.requests == []  # refused before any request
    assert anyllm(env, "offline", "off").returncode == 0

    unasked = _finetune(env, data)
    assert unasked.returncode == 2, unasked.stderr
    assert "cloud.test" in unasked.stderr and "8 training examples" in unasked.stderr
    assert "--send-to-cloud" in unasked.stderr and server.requests == []

    server.replies = [
        *_started(),
        _json({"id": "ftjob-42", "status": "running"}),
        _events("Validating training file", "Step 1/8: training loss=1.92"),
        Reply(503, [b'{"error": {"message": "overloaded"}}']),  # one failed look: tried again
        _json(
            {
                "id": "ftjob-42",
                "status": "succeeded",
                "fine_tuned_model": TUNED,
                "trained_tokens": 1234,
            }
        ),
        _events(
            "Validating training file",
            "Step 1/8: training loss=1.92",
            "The job has successfully completed",
        ),
    ]
    done = _finetune(env, data, "--send-to-cloud", "--suffix", "faq")
    assert done.returncode == 0, done.stderr
    assert f"--provider replay --model {TUNED}" in done.stdout and "1234" in done.stdout
    progress = done.stderr.splitlines()
    shown = [line for line in progress if line.startswith("replay: ")]  # each event once
    assert shown == ["replay: Validating training file", "replay: Step 1/8: training loss=1.92",
                     "replay: The job has successfully completed"]  # fmt: skip

    uploads = [r for r in server.requests if r["path"] == "/v1/files"]
    assert [r["method"] for r in uploads] == ["POST", "POST"]
    train_body = str(uploads[0]["body"])
    assert 'name="purpose"' in train_body and "fine-tune" in train_body
    lines = [line for line in train_body.splitlines() if line.startswith('{"messages"')]
    assert len(lines) == 8 and all("Fact" in line for line in lines)
    assert str(uploads[1]["body"]).count('{"messages"') == 2
    assert uploads[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    created = next(r for r in server.requests if r["path"] == "/v1/fine_tuning/jobs")
    assert created["body"] == {"model": BASE, "training_file": "file-train",
                               "validation_file": "file-valid", "suffix": "faq"}  # fmt: skip
    assert [r["method"] for r in server.requests[3:]] == ["GET"] * 5
    assert any("HTTP 503" in line and "Trying again" in line for line in progress)

    listed = json.loads(anyllm(env, "providers", "list", "--json").stdout)["providers"]
    assert listed[1]["extra_models"] == TUNED
    log = [json.loads(line) for line in (anyllm_home / "logs" / "outbound.jsonl").open()]
    assert {e["kind"] for e in log} == {"finetune"} and len(log) == len(server.requests)
    assert "Fact 1" not in json.dumps(log) and KEY not in json.dumps(log)
    for result in (offline, unasked, done):
        assert KEY not in result.stdout + result.stderr


def test_a_failed_cloud_job_shows_its_reason(
    setup: tuple[dict[str, str], Path], server: Replay
) -> None:
    env, data = setup
    assert anyllm(env, "offline", "off").returncode == 0
    server.replies = [
        *_started(),
        _json(
            {
                "id": "ftjob-42",
                "status": "failed",
                "error": {"message": "The training file has too few examples."},
            }
        ),
        _events(),
    ]
    failed = _finetune(env, data, "--send-to-cloud")
    assert failed.returncode == 2
    assert "ftjob-42" in failed.stderr and "too few examples" in failed.stderr
    assert "failed" in failed.stderr and KEY not in failed.stdout + failed.stderr
    listed = json.loads(anyllm(env, "providers", "list", "--json").stdout)["providers"]
    assert "extra_models" not in listed[1]


def test_cancel_cancels_the_cloud_job_and_other_apis_are_refused(
    anyllm_home: Path, server: Replay, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    runtime = Runtime.open(anyllm_home)
    runtime.settings = replace(runtime.settings, offline_mode=False)
    add_provider(runtime, "oa", "openai", base_url=f"{server.url}/v1", model="gpt-x",
                 api_key=KEY)  # fmt: skip
    add_provider(runtime, "claude", "anthropic", model="claude-x", api_key=KEY)
    data = tmp_path / "two.jsonl"
    turns = [({"role": "user", "content": f"Q{n}"}, {"role": "assistant", "content": f"A{n}"})
             for n in range(2)]  # fmt: skip
    rows = [{"messages": list(pair)} for pair in turns]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    jobs = SimpleNamespace(runtime=runtime)
    params = {"model": BASE, "data": str(data), "held_out": 0.0, "agreed": True}

    refused = list(cloud_finetune_job(jobs, {**params, "provider": "claude"}, CancelToken()))
    assert isinstance(refused[-1], Error) and "Anthropic" in refused[-1].message
    assert server.requests == []

    server.replies = [
        _json({"id": "file-train"}),
        _json({"id": "ftjob-7", "status": "queued"}),
        _json({"id": "ftjob-7", "status": "running"}),
        _events(),
        _json({"id": "ftjob-7", "status": "cancelled"}),
    ]
    cancel = CancelToken()
    events = []
    for event in cloud_finetune_job(jobs, {**params, "provider": "oa"}, cancel):
        events.append(event)
        if isinstance(event, Progress) and "ftjob-7" in event.message:
            cancel.cancel()  # the person stops it once the job runs
    assert not any(isinstance(e, Done | Error) for e in events)
    assert (server.requests[-1]["method"], server.requests[-1]["path"]) == (
        "POST", "/v1/fine_tuning/jobs/ftjob-7/cancel"
    )  # fmt: skip
    assert "validation_file" not in server.requests[1]["body"]  # nothing held out
