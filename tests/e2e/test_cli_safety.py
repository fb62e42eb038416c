"""The real `anyllm` command as a user meets it: a damaged settings file is reported by every
command and its providers survive, an API key never has to be on the command line, credentials
in a base URL are never shown, and a fresh home is private to its user."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN_DIR
from tests.e2e.conftest import DATA
from tests.e2e.test_ingest_cli import anyllm
from tests.replay_server import Replay, Reply
from tests.unit.test_cloud_providers import OPENAI_STREAM

pytestmark = pytest.mark.e2e

KEY = "sk-live-PLANTED-stdin-7f3a"
WORK = {"name": "work", "kind": "openai", "base_url": "", "model": "gpt-4o-mini"}
LAB = {"name": "lab", "kind": "ollama", "base_url": "http://nas:11434/v1", "model": "qwen"}


def _names(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [p["name"] for p in json.loads(result.stdout)["providers"]]


def test_a_damaged_settings_file_is_reported_and_its_providers_survive(
    keyless_env: dict[str, str], anyllm_home: Path
) -> None:
    anyllm_home.mkdir()
    whole = json.dumps({"offline_mode": True, "providers": [WORK, LAB], "theme": "dark"})
    (anyllm_home / "settings.json").write_text(whole[:-4])  # a write cut short
    listed = anyllm(keyless_env, "providers", "list", "--json")
    assert _names(listed) == ["local", "work", "lab"]
    assert "anyllm: warning: The settings file" in listed.stderr
    [backup] = anyllm_home.glob("settings.corrupt-*.json")
    assert backup.name in listed.stderr and f"cp {backup}" in listed.stderr
    assert backup.read_text() == whole[:-4]

    # Saving a setting afterwards keeps the recovered providers, and nothing is said again.
    turned = anyllm(keyless_env, "offline", "off")
    assert turned.returncode == 0 and turned.stderr == ""
    assert _names(anyllm(keyless_env, "providers", "list", "--json")) == ["local", "work", "lab"]

    # One bad entry costs only that entry, and `offline` says so too.
    settings = json.loads((anyllm_home / "settings.json").read_text())
    settings["providers"].insert(1, {"name": "typo", "kind": "openai", "modle": "x"})
    (anyllm_home / "settings.json").write_text(json.dumps(settings))
    status = anyllm(keyless_env, "offline", "status")
    assert "offline mode is off" in status.stdout
    assert "anyllm: warning: Provider entry 2 ('typo')" in status.stderr
    assert _names(anyllm(keyless_env, "providers", "list", "--json")) == ["local", "work", "lab"]


def test_the_key_comes_from_stdin_or_the_environment(
    keyless_env: dict[str, str], anyllm_home: Path, server: Replay
) -> None:
    helped = " ".join(anyllm(keyless_env, "providers", "add", "--help").stdout.split())
    assert "--api-key-stdin" in helped and "--api-key-env" in helped
    assert "(ps)" in helped and "shell history" in helped
    add = ("providers", "add", "--kind", "openai-compatible", "--base-url", f"{server.url}/v1",
           "--model", "gpt-test")  # fmt: skip
    piped = anyllm(keyless_env, *add, "piped", "--api-key-stdin", input=f"{KEY}\nrest\n")
    assert piped.returncode == 0, piped.stderr
    env = {**keyless_env, "MY_PROVIDER_KEY": KEY + "-env"}
    assert anyllm(env, *add, "from-env", "--api-key-env", "MY_PROVIDER_KEY").returncode == 0
    unset = anyllm(keyless_env, *add, "unset", "--api-key-env", "NO_SUCH_VARIABLE")
    assert unset.returncode == 2 and "NO_SUCH_VARIABLE" in unset.stderr
    empty = anyllm(keyless_env, *add, "empty", "--api-key-stdin", input="")
    assert empty.returncode == 2 and "standard input" in empty.stderr

    assert anyllm(keyless_env, "offline", "off").returncode == 0
    server.replies = [Reply(chunks=OPENAI_STREAM), Reply(chunks=OPENAI_STREAM)]
    for name in ("piped", "from-env"):
        tested = anyllm(keyless_env, "providers", "test", name, "--json")
        assert json.loads(tested.stdout)["ok"], tested.stderr
    sent = [r["headers"]["Authorization"] for r in server.requests]
    assert sent == [f"Bearer {KEY}", f"Bearer {KEY}-env"]
    assert _names(anyllm(keyless_env, "providers", "list", "--json")) == [
        "local", "piped", "from-env"
    ]  # fmt: skip


def test_credentials_in_a_base_url_are_never_shown_nor_stored(
    keyless_env: dict[str, str], anyllm_home: Path
) -> None:
    url = "https://bob:hunter2@proxy.example/v1"
    refused = anyllm(keyless_env, "providers", "add", "proxy", "--kind", "openai-compatible",
                     "--base-url", url, "--model", "m")  # fmt: skip
    assert refused.returncode == 2 and "--api-key-stdin" in refused.stderr
    assert "hunter2" not in refused.stderr
    assert not (anyllm_home / "settings.json").exists()

    by_hand = {**LAB, "base_url": "https://bob:hunter2@proxy.example/v1?key=hunter2&v=2"}
    (anyllm_home / "settings.json").write_text(json.dumps({"providers": [by_hand]}))
    as_json = anyllm(keyless_env, "providers", "list", "--json")
    as_text = anyllm(keyless_env, "providers", "list")
    assert json.loads(as_json.stdout)["providers"][1]["base_url"] == (
        "https://***@proxy.example/v1?key=***&v=2"
    )
    assert "https://***@proxy.example/v1?key=***&v=2" in as_text.stdout
    assert not any("hunter2" in r.stdout + r.stderr for r in (as_json, as_text))


def test_a_fresh_home_is_private_to_its_user(child_env: dict[str, str], anyllm_home: Path) -> None:
    def run(*args: str) -> None:
        done = subprocess.run([str(BIN_DIR / "anyllm"), *args], env=child_env, umask=0o022,
                              capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr

    run("workspace", "create", "Notes")
    run("ingest", "-w", "Notes", str(DATA / "nodejs-string-decoder.md"))
    run("search", "-w", "Notes", "buffer")
    found = [anyllm_home, *anyllm_home.rglob("*")]
    assert any(p.name == "library.sqlite3" for p in found)
    assert any(p.suffix == ".lance" for p in found)  # LanceDB's own files are covered too
    readable = [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}" for p in found
                if not p.is_symlink() and p.lstat().st_mode & 0o077]  # fmt: skip
    assert readable == []
    assert stat.S_IMODE(anyllm_home.stat().st_mode) == 0o700
