"""Shared test set-up: a fresh home folder per test and a network guard around everything."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

NETGUARD_DIR = Path(__file__).parent / "netguard"
sys.path.insert(0, str(NETGUARD_DIR))

import anyllm_netguard  # noqa: E402

from anyllm_desktop.core.offline import apply_offline_environment  # noqa: E402
from tests.replay_server import Replay, replay_server  # noqa: E402

# The tests embed and parse inside this process too: the libraries' telemetry is switched off
# here as the app's entry points do (ONNX Runtime's starts at import, ~9 s before it phones).
apply_offline_environment()

# Before pytest-qt creates the QApplication: no display is needed for tests/qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
anyllm_netguard.install()

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def anyllm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty home folder, never the user's."""
    home = tmp_path / "home"
    monkeypatch.setenv("ANYLLM_HOME", str(home))
    # The fallback key store's key lives in the configuration folder (store/secrets.py).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return home


@pytest.fixture(autouse=True)
def netguard_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fail the test if it, or any child process it started, tried to reach the network."""
    log = tmp_path / "network-attempts.log"
    monkeypatch.setenv(anyllm_netguard.LOG_ENV, str(log))
    yield log
    attempts = log.read_text(encoding="utf-8") if log.exists() else ""
    assert attempts == "", f"network access was attempted:\n{attempts}"


@pytest.fixture
def child_env(anyllm_home: Path) -> dict[str, str]:
    """Environment for child processes: guarded network, offscreen Qt, the test's home."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD_DIR), *filter(None, [env.get("PYTHONPATH")])])
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.fixture
def server() -> Iterator[Replay]:
    """A loopback HTTP server replaying scripted replies (tests/replay_server.py)."""
    with replay_server() as replay:
        yield replay
