"""The command line's front doors: ``python -m anyllm_desktop.cli`` and ``anyllm``, quick to
start, and a command's failure as one message and its exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from anyllm_desktop.cli import main

HEAVY = ("lancedb", "fastembed", "llama_cpp", "onnxruntime", "numpy", "PySide6", "jax", "optax")


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--version"], "anyllm-desktop "), (["workspace", "list"], "no workspaces yet")],
)
def test_python_dash_m_runs_the_cli(
    args: list[str], expected: str, child_env: dict[str, str]
) -> None:
    done = subprocess.run([sys.executable, "-m", "anyllm_desktop.cli", *args], env=child_env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(expected)


def test_the_window_imports_no_trainer(child_env: dict[str, str]) -> None:
    """JAX takes seconds to import: the window's modules leave it to a training run."""
    probe = ("import sys\nimport anyllm_desktop.ui.main_window\n"
             "print(sorted(m for m in ('jax', 'optax') if m in sys.modules))\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], env=child_env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_version_imports_no_engine(child_env: dict[str, str]) -> None:
    probe = (
        "import json, sys\n"
        "from anyllm_desktop.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=child_env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_a_failed_command_says_why_with_its_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workspace", "rename", "nope", "other"]) == 2
    assert capsys.readouterr().err == "anyllm: error: no workspace named 'nope'\n"
    assert main(["providers", "test", "nope"]) == 1  # it ran; the provider check failed
    assert capsys.readouterr().err.startswith("anyllm: error: Unknown provider 'nope'")
