"""The architecture's import rules and the lint rules, checked on every test run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import BIN_DIR, REPO_ROOT


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN_DIR / "lint-imports"), "--no-cache"],
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."],
    ],
    ids=["import-layers", "ruff-lint", "ruff-format"],
)
def test_project_rules_hold(command: list[str]) -> None:
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
