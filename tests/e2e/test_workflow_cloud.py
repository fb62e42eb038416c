"""Cloud steps in workflows against a real loopback server speaking the OpenAI streaming format:
the step's schema goes as structured output and the answer parses, refusals come before any
request (local-only, offline, no agreement) and name the step and host, personal data is removed,
each request is an outbound-log line, and a failing cloud model falls back to the embedded one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import CONSENT_REQUIRED, LOCAL_ONLY, Done, Error, Event
from anyllm_desktop.services.cloud_providers import add_provider
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.workflows.loading import parse_text
from anyllm_desktop.services.workflows.models import StepModels, cloud_sends
from anyllm_desktop.services.workflows.runner import run_workflow
from anyllm_desktop.services.workflows.steps import STEP_KINDS
from anyllm_desktop.store import secrets
from tests.e2e.conftest import ingest
from tests.replay_server import Replay, Reply
from tests.unit.test_cloud_providers import sse

pytestmark = pytest.mark.e2e

CLOUD = "cloud:replay:gpt-test"
LABELS = ["positive", "neutral", "negative"]
FLOW = f"""\
version: 1
id: cloud-flow
name: Cloud flow
steps:
  - name: each
    kind: map
    steps:
      - name: fields
        kind: extract
        model: {CLOUD}
        schema:
          type: object
          properties:
            number: {{type: string, maxLength: 12}}
            total: {{type: number}}
        max_tokens: 40
      - name: mood
        kind: classify
        model: {CLOUD}
        labels: [positive, neutral, negative]
        max_tokens: 8
"""
FALLBACK = f"""\
version: 1
id: fallback-flow
name: Fallback flow
steps:
  - name: each
    kind: map
    steps:
      - name: mood
        kind: classify
        model: {CLOUD}
        labels: [positive, neutral, negative]
        max_tokens: 4
        on_error: fallback
        fallback: embedded
"""
EMAIL = "jane.doe@example.com"


def answer(text: str) -> Reply:
    """One streamed answer in the OpenAI format."""
    return Reply(chunks=sse({"choices": [{"delta": {"content": text}, "finish_reason": "stop"}]},
                            {"choices": [], "usage": {"prompt_tokens": 50,
                                                      "completion_tokens": 9}},
                            done=True))  # fmt: skip


def use_replay_provider(runtime: Runtime, server: Replay, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loopback server as the OpenAI-compatible provider "replay" (model gpt-test), offline
    mode off, and no real keyring touched."""
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    add_provider(runtime, "replay", "openai-compatible", base_url=f"{server.url}/v1",
                 model="gpt-test")  # fmt: skip
    runtime.settings = replace(runtime.settings, offline_mode=False)


@pytest.fixture
def cloud(library: Library, server: Replay, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Library:  # fmt: skip
    """A workspace "w" with one invoice and the loopback server configured as "replay"."""
    use_replay_provider(library.runtime, server, monkeypatch)
    library.create_workspace("w")
    invoice = tmp_path / "invoice.md"
    invoice.write_text(f"# Invoice A-17\n\nBilled to {EMAIL}. Total: 120 EUR, thank you.\n",
                       encoding="utf-8")  # fmt: skip
    ingest(library, "w", invoice)
    return library


def run(library: Library, flow: str = FLOW) -> list[Event]:
    return list(run_workflow(library, "w", parse_text(flow, "flow.yaml"), CancelToken()))


def test_structured_output_redaction_and_the_outbound_log(cloud: Library, server: Replay,
                                                          anyllm_home: Path) -> None:  # fmt: skip
    cloud.update_chat("w", cloud_consent=["replay"], redact_personal_data=True)
    server.replies = [answer('{"number": "A-17", "total": 120}'), answer('{"answer": "neutral"}')]
    events = run(cloud)
    assert isinstance(events[-1], Done), events[-1]
    row = events[-1].result.rows[0]
    assert row.status == "done" and row.values["mood"] == "neutral"
    assert row.values["fields"] == {"number": "A-17", "total": 120}

    extract, classify = (r["body"]["response_format"] for r in server.requests)  # type: ignore[index]
    assert extract["json_schema"]["strict"] is True
    assert extract["json_schema"]["schema"]["required"] == ["number", "total"]
    # A label is a string enum; strict mode wants an object, so it is wrapped (and unwrapped).
    assert classify["json_schema"]["schema"]["properties"] == {
        "answer": {"type": "string", "enum": LABELS}
    }
    sent = json.dumps([r["body"] for r in server.requests])
    assert "Total: 120 EUR" in sent and EMAIL not in sent and "[email removed]" in sent

    log = [json.loads(line) for line in (anyllm_home / "logs" / "outbound.jsonl").open()]
    assert [(e["kind"], e["step"], e["host"], e["ok"]) for e in log] == [
        ("workflow", "fields", "cloud.test", True), ("workflow", "mood", "cloud.test", True)
    ]  # fmt: skip
    assert log[0]["redactions"] == {"email": 1} and log[0]["prompt_tokens"] == 50
    assert "120 EUR" not in json.dumps(log) and EMAIL not in json.dumps(log)


def test_refused_before_anything_is_sent_naming_step_provider_and_host(
    cloud: Library, server: Replay
) -> None:
    spec = parse_text(FLOW, "flow.yaml")
    sends = cloud_sends(cloud, "w", spec)
    assert [(s["step"], s["provider"], s["host"], s["sends"], s["documents"], s["agreed"])
            for s in sends] == [
        ("fields", "replay", "cloud.test", "document text", ["invoice.md"], False),
        ("mood", "replay", "cloud.test", "document text", ["invoice.md"], False),
    ]  # fmt: skip
    assert (
        "The step fields would send the text of 1 document to replay (cloud.test)"
        in (sends[0]["refused"])
    )

    refused = run(cloud)[-1]  # no agreement yet
    assert isinstance(refused, Error) and refused.detail == CONSENT_REQUIRED
    assert (
        "The step fields would send" in refused.message and "replay (cloud.test)" in refused.message
    )
    assert "agreement" in refused.message and "the text of 1 document" in refused.message

    cloud.update_chat("w", cloud_consent=["replay"])
    assert cloud_sends(cloud, "w", spec)[0]["refused"] == ""
    cloud.runtime.settings = replace(cloud.runtime.settings, offline_mode=True)
    offline = run(cloud)[-1]
    assert isinstance(offline, Error) and "offline mode is on" in offline.message
    assert "The step fields" in offline.message and "cloud.test" in offline.message

    cloud.runtime.settings = replace(cloud.runtime.settings, offline_mode=False)
    cloud.update_chat("w", local_only=True)
    locked = run(cloud)[-1]
    assert isinstance(locked, Error) and locked.detail == LOCAL_ONLY
    assert "locked to local models" in locked.message and "The step fields" in locked.message
    assert server.requests == []


def test_a_failing_cloud_model_falls_back_to_the_embedded_one(
    cloud: Library, server: Replay, anyllm_home: Path
) -> None:
    cloud.update_chat("w", cloud_consent=["replay"])
    server.respond = lambda path, body: Reply(500, [b"{}"], headers={"Retry-After": "0"})
    spec = parse_text(FALLBACK, "flow.yaml")
    events = run(cloud, FALLBACK)
    assert isinstance(events[-1], Done), events[-1]
    row = events[-1].result.rows[0]
    assert row.status == "done" and row.values["mood"] in LABELS
    assert len(server.requests) == 4  # the provider's own retries, then the fallback
    result = events[-1].result
    (note,) = result.notes
    assert note.startswith("mood: answered by SmolLM2") and "after gpt-test failed" in note
    assert result.models["mood"].startswith("SmolLM2")
    again = run(cloud, FALLBACK)  # a fallback's answer is not cached as the step's own
    assert isinstance(again[-1], Done) and again[-1].result.cached == 0
    assert len(server.requests) == 8

    # Which model answered, and why, for the run's result.
    step = spec.steps[0].steps[0]
    models = StepModels(cloud.runtime, cloud.workspace("w"))
    try:
        models.prepare([step], documents=1)
        request = STEP_KINDS["classify"].request(step, {"document": {"text": "Awful, broken."}})
        assert models.complete(step, request, CancelToken()).text.strip() in LABELS
        assert models.answered == {"mood": "embedded"}
        (note,) = models.notes
        assert note.startswith(
            f"mood: answered by {models.name('embedded')} after gpt-test "
            "failed: replay (OpenAI-compatible server) had a server error (HTTP 500)"
        )
    finally:
        models.close()
    log = [json.loads(line) for line in (anyllm_home / "logs" / "outbound.jsonl").open()]
    assert [(e["step"], e["ok"]) for e in log] == [("mood", False)] * 3


def test_cli_run_asks_for_the_agreement_then_remembers_it(
    cloud: Library, server: Replay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from anyllm_desktop.cli import main

    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    assert main(["offline", "off"]) == 0
    capsys.readouterr()
    assert main(["run", str(flow), "-w", "w"]) == 2
    said = capsys.readouterr().err
    assert "the workflow's cloud steps need your agreement first" in said
    assert "fields: document text of 1 document(s) to replay (cloud.test)" in said
    assert "--send-to-cloud" in said and server.requests == []

    server.replies = [answer('{"number": "A-17", "total": 120}'), answer('{"answer": "neutral"}')]
    assert main(["run", str(flow), "-w", "w", "--send-to-cloud", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["rows"][0]["cells"]["mood"]["value"] == "neutral"
    assert len(server.requests) == 2
    assert "replay" in Library(cloud.runtime).workspace("w").chat.cloud_consent
