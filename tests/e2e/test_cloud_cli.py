"""Cloud providers from the CLI end to end: add/list/test/remove, `ask --provider NAME` against
a loopback server speaking the OpenAI streaming format, offline mode, and a planted key that must
not appear anywhere in the home folder or the output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import DATA
from tests.e2e.test_ingest_cli import anyllm
from tests.replay_server import Replay, Reply
from tests.unit.test_cloud_providers import OPENAI_STREAM

pytestmark = pytest.mark.e2e

KEY = "sk-live-PLANTED-c0ffee-91b2"


def test_providers_add_test_ask_remove_and_the_key_never_leaks(
    keyless_env: dict[str, str], anyllm_home: Path, server: Replay
) -> None:
    env = keyless_env
    base = f"{server.url}/v1"
    added = anyllm(env, "providers", "add", "replay", "--kind", "openai-compatible",
                   "--base-url", base, "--api-key", KEY, "--model", "gpt-test")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "No system keyring was found" in added.stderr  # said, not hidden
    listed = json.loads(anyllm(env, "providers", "list", "--json").stdout)["providers"]
    assert [p["name"] for p in listed] == ["local", "replay"]
    assert listed[1]["key"] == "stored" and listed[1]["model"] == "gpt-test"

    # Offline mode (the default) refuses before any connection is made.
    refused = anyllm(env, "providers", "test", "replay")
    assert refused.returncode == 1 and "Offline mode is on" in refused.stderr
    assert server.requests == []

    assert "offline mode is off" in anyllm(env, "offline", "off").stdout
    server.replies = [Reply(chunks=OPENAI_STREAM)]
    tested = json.loads(anyllm(env, "providers", "test", "replay", "--json").stdout)
    assert tested["ok"] and tested["reply"] == "Sid is unstable [1]."
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"

    assert anyllm(env, "workspace", "create", "FAQ").returncode == 0
    assert (
        anyllm(env, "ingest", "-w", "FAQ", str(DATA / "debian-faq-archives.html")).returncode == 0
    )
    # The first time, the user must agree to send this workspace's passages there.
    unasked = anyllm(env, "ask", "-w", "FAQ", "What is sid?", "--provider", "replay")
    assert unasked.returncode == 1 and "needs your agreement" in unasked.stderr
    assert "cloud.test" in unasked.stderr and "--send-to-cloud" in unasked.stderr
    assert len(server.requests) == 1  # only the connection test so far
    server.replies = [Reply(chunks=OPENAI_STREAM)]
    asked = anyllm(env, "ask", "-w", "FAQ", "What is sid?", "--provider", "replay", "--json",
                   "--send-to-cloud")  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["provider"] == "replay" and answer["model"] == "gpt-test"
    assert answer["answer"] == "Sid is unstable [1]." and answer["citations"][0]["n"] == 1
    sent = json.dumps(server.requests[-1]["body"])
    assert "unstable" in sent and "[1]" in sent  # the numbered passages went with the question

    # A failing provider: a clear error, the thread intact.
    server.replies = [Reply(401, [b'{"error": {"message": "bad key"}}'])]
    failed = anyllm(env, "ask", "-w", "FAQ", "And testing?", "--provider", "replay",
                    "--thread", str(answer["thread"]))  # fmt: skip
    assert failed.returncode != 0 and "refused the API key" in failed.stderr
    exported = anyllm(env, "export", str(answer["thread"]), "--format", "json")
    messages = json.loads(exported.stdout)["messages"]
    assert [m["role"] for m in messages][:2] == ["user", "assistant"]

    # The outbound log: who got what, never the key or the text.
    log = [json.loads(line) for line in (anyllm_home / "logs" / "outbound.jsonl").open()]
    assert [(e["provider"], e["host"], e["ok"]) for e in log] == [
        ("replay", "cloud.test", True), ("replay", "cloud.test", False)
    ]  # fmt: skip
    assert log[0]["prompt_tokens"] == 21 and "What is sid" not in json.dumps(log)

    # The planted key is nowhere: not in the home folder's files, not in any output.
    outputs = [added, refused, unasked, asked, failed, exported]
    assert not any(KEY in o.stdout + o.stderr for o in outputs)
    for path in anyllm_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path

    assert anyllm(env, "providers", "remove", "replay").returncode == 0
    listed = json.loads(anyllm(env, "providers", "list", "--json").stdout)["providers"]
    assert [p["name"] for p in listed] == ["local"]
    assert json.loads((anyllm_home / "secrets.fernet").read_text()) == {}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_llama_cpp_server_on_loopback_is_this_computer_not_a_cloud(
    keyless_env: dict[str, str], anyllm_home: Path
) -> None:
    """The OpenAI path against llama.cpp's own server serving the embedded model, on 127.0.0.1:
    added without --model (the server's first listed), used with offline mode on (the default)
    and without --send-to-cloud, listed as on this computer, and nothing in the outbound log."""
    import subprocess
    import sys
    import time
    import urllib.request

    from anyllm_desktop.models.embedded import smollm2_chat

    port = _free_port()
    model = smollm2_chat().primary_path
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--model_alias", "smollm2"],
        env=keyless_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.5)
        env = keyless_env
        base = f"http://127.0.0.1:{port}/v1"
        added = anyllm(env, "providers", "add", "lcpp", "--kind", "llamacpp-server",
                       "--base-url", base)  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert "answering with smollm2" in added.stdout
        listed = anyllm(env, "providers", "list")
        assert f"{base} (on this computer)" in listed.stdout
        tested = json.loads(anyllm(env, "providers", "test", "lcpp", "--json").stdout)
        assert tested["ok"] and tested["model"] == "smollm2" and tested["reply"]
        assert anyllm(env, "workspace", "create", "FAQ").returncode == 0
        assert (
            anyllm(env, "ingest", "-w", "FAQ", str(DATA / "debian-faq-archives.html")).returncode
            == 0
        )
        question = "What is the codename of the unstable distribution?"
        asked = anyllm(env, "ask", "-w", "FAQ", question, "--provider", "lcpp", "--json")
        assert asked.returncode == 0, asked.stderr
        answer = json.loads(asked.stdout)
        assert answer["provider"] == "lcpp" and answer["answer"].strip()
        assert answer["timings"]["prompt_tokens"] > 100  # the passages went with the question
        assert anyllm(env, "offline", "status").stdout.strip() == "offline mode is on"
        assert not (anyllm_home / "logs" / "outbound.jsonl").exists()  # nothing left the machine
    finally:
        server.terminate()
        server.wait(timeout=30)
