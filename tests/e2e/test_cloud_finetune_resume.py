"""Cloud fine-tuning survives a restart: the process that started a job on the provider is
killed while it polls; `anyllm finetune --cloud P --resume` picks the job up from the kept
remote id and follows it to its end (the model added), with nothing uploaded again. A job the
provider failed or cancelled meanwhile is reported with the provider's reason."""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Error
from anyllm_desktop.services import cloud_finetune
from anyllm_desktop.services.cloud_finetune import cloud_finetune_job
from anyllm_desktop.services.cloud_providers import add_provider
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store import secrets
from anyllm_desktop.store.cloud_finetunes import CloudFinetunes
from tests.conftest import BIN_DIR
from tests.e2e.test_cloud_finetune import BASE, KEY, TUNED, _events, _json, _started
from tests.e2e.test_ingest_cli import anyllm
from tests.replay_server import Replay, Reply

pytestmark = pytest.mark.e2e


def _data(tmp_path: Path, count: int = 10) -> Path:
    data = tmp_path / "faq.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"What is fact {n}?"},
                          {"role": "assistant", "content": f"Fact {n} is true."}]}
            for n in range(count)]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return data


def test_a_killed_finetune_is_followed_to_its_end_after_a_restart(
    keyless_env: dict[str, str], server: Replay, tmp_path: Path
) -> None:
    env = keyless_env
    added = anyllm(env, "providers", "add", "replay", "--kind", "openai", "--base-url",
                   f"{server.url}/v1", "--api-key", KEY, "--model", "gpt-test")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert anyllm(env, "offline", "off").returncode == 0
    nothing = anyllm(env, "finetune", "--cloud", "replay", "--resume")
    assert nothing.returncode == 2 and "No fine-tuning job on replay" in nothing.stderr

    polled = threading.Event()

    def running(path: str, _body: dict[str, object]) -> Reply:
        polled.set()  # the job was started and is being looked at
        return _events() if path.endswith("/events") else _json({"status": "running"})

    server.replies, server.respond = _started(), running
    first = subprocess.Popen(
        [str(BIN_DIR / "anyllm"), "finetune", "--cloud", "replay", "--base", BASE, "--data",
         str(_data(tmp_path)), "--held-out", "0.2", "--send-to-cloud"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert polled.wait(60), "the first process never polled its job"
    finally:
        first.kill()
        first.communicate(timeout=30)
    sent = len(server.requests)

    server.respond = None
    server.replies = [
        _json({"id": "ftjob-42", "status": "running"}),
        _events("Step 4/8: training loss=0.91"),
        _json(
            {
                "id": "ftjob-42",
                "status": "succeeded",
                "fine_tuned_model": TUNED,
                "trained_tokens": 99,
            }
        ),
        _events("Step 4/8: training loss=0.91", "The job has successfully completed"),
    ]
    resumed = anyllm(env, "finetune", "--cloud", "replay", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "Following replay's fine-tuning job ftjob-42 of " + BASE in resumed.stderr
    assert "replay: The job has successfully completed" in resumed.stderr
    assert f"--provider replay --model {TUNED}" in resumed.stdout
    after = server.requests[sent:]
    assert [(r["method"], r["path"]) for r in after] == [
        ("GET", "/v1/fine_tuning/jobs/ftjob-42"), ("GET", "/v1/fine_tuning/jobs/ftjob-42/events")
    ] * 2  # nothing uploaded or started again  # fmt: skip
    listed = json.loads(anyllm(env, "providers", "list", "--json").stdout)["providers"]
    assert listed[1]["extra_models"] == TUNED
    again = anyllm(env, "finetune", "--cloud", "replay", "--resume")
    assert again.returncode == 2 and "ftjob-42, succeeded" in again.stderr
    assert KEY not in resumed.stdout + resumed.stderr + again.stderr


def test_a_job_that_failed_meanwhile_is_reported_with_the_providers_reason(
    anyllm_home: Path, server: Replay, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    monkeypatch.setattr(cloud_finetune, "POLL_S", 0.01)
    runtime = Runtime.open(anyllm_home)
    runtime.settings = replace(runtime.settings, offline_mode=False)
    add_provider(runtime, "oa", "openai", base_url=f"{server.url}/v1", model="gpt-x",
                 api_key=KEY)  # fmt: skip
    jobs = SimpleNamespace(runtime=runtime)
    params = {"provider": "oa", "model": BASE, "data": str(_data(tmp_path, 4)), "held_out": 0.0,
              "agreed": True}  # fmt: skip
    down = Reply(503, [b'{"error": {"message": "overloaded"}}'])
    server.replies = [_json({"id": "file-train"}), _json({"id": "ftjob-9", "status": "queued"}),
                      *[down] * 4]  # fmt: skip
    lost = list(cloud_finetune_job(jobs, params, CancelToken()))
    assert isinstance(lost[-1], Error)
    assert "may still be running" in lost[-1].message
    assert "anyllm finetune --cloud oa --resume ftjob-9" in lost[-1].message
    kept = CloudFinetunes(anyllm_home / "library.sqlite3")
    assert [(j.remote_id, j.model, j.ended) for j in kept.unfinished("oa")] == [
        ("ftjob-9", BASE, False)
    ]

    unknown = list(cloud_finetune_job(jobs, {"provider": "oa", "resume": "ftjob-1"},
                                      CancelToken()))  # fmt: skip
    assert isinstance(unknown[-1], Error) and "jobs kept: ftjob-9" in unknown[-1].message
    server.replies = [
        _json(
            {
                "id": "ftjob-9",
                "status": "failed",
                "error": {"message": "Quota exceeded for fine-tuning."},
            }
        ),
        _events(),
    ]
    failed = list(cloud_finetune_job(jobs, {"provider": "oa", "resume": "ftjob-9"},
                                     CancelToken()))  # fmt: skip
    assert isinstance(failed[-1], Error)
    assert failed[-1].message == (
        "The fine-tuning job ftjob-9 on oa ended failed: Quota exceeded for fine-tuning."
    )
    record = kept.get("oa", "ftjob-9")
    assert record is not None and (record.status, record.error) == (
        "failed", "Quota exceeded for fine-tuning."
    )  # fmt: skip
    assert kept.unfinished("oa") == []
    kept.close()


def test_jobs_resume_follows_a_started_cloud_finetune_without_uploading_again(
    keyless_env: dict[str, str], server: Replay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloud_finetune, "POLL_S", 0.01)
    env = keyless_env
    added = anyllm(env, "providers", "add", "replay", "--kind", "openai", "--base-url",
                   f"{server.url}/v1", "--api-key", KEY, "--model", "gpt-test")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert anyllm(env, "offline", "off").returncode == 0
    down = Reply(503, [b'{"error": {"message": "overloaded"}}'])
    server.replies = [*_started(), *[down] * 8]  # started, then the provider went away
    lost = anyllm(env, "finetune", "--cloud", "replay", "--base", BASE, "--data",
                  str(_data(tmp_path)), "--held-out", "0.2", "--send-to-cloud")  # fmt: skip
    assert lost.returncode != 0 and "may still be running" in lost.stderr
    (job,) = json.loads(anyllm(env, "jobs", "--json").stdout)["jobs"]
    assert (job["kind"], job["state"]) == ("cloud-finetune", "failed")

    sent = len(server.requests)
    server.replies = [
        _json({"id": "ftjob-42", "status": "succeeded", "fine_tuned_model": TUNED}),
        _events("The job has successfully completed"),
    ]
    resumed = anyllm(env, "jobs", "resume", str(job["id"]))
    assert resumed.returncode == 0, resumed.stderr
    assert [(r["method"], r["path"]) for r in server.requests[sent:]] == [
        ("GET", "/v1/fine_tuning/jobs/ftjob-42"), ("GET", "/v1/fine_tuning/jobs/ftjob-42/events")
    ]  # followed: nothing uploaded or started again  # fmt: skip
