from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import Cancelled, CancelToken
from anyllm_desktop.core.offline import OFFLINE_ENVIRONMENT, apply_offline_environment
from anyllm_desktop.providers.base import GenerationOptions


def test_offline_environment_disables_telemetry_and_hub_downloads() -> None:
    env: dict[str, str] = {}
    apply_offline_environment(env)
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["SCARF_NO_ANALYTICS"] == "true" and env["DO_NOT_TRACK"] == "true"
    # ONNX Runtime's 1DS telemetry (mobile.events.data.microsoft.com); only this stops it.
    assert env["ORT_DISABLE_TELEMETRY"] == "1"


# Runs an entry point as its console script does and stops the process at the first import of a
# library that reads the offline variables at import (or of Qt, before which the GUI applies
# them), printing the environment at that moment.
_FIRST_ENGINE_IMPORT = """
import importlib.abc, json, os, runpy, sys
WATCHED = {"onnxruntime", "fastembed", "huggingface_hub", "llama_cpp", "lancedb",
           "unstructured", "PySide6"}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in WATCHED:
            print(json.dumps({"module": name, "env": dict(os.environ)}), flush=True)
            os._exit(0)
        return None
sys.meta_path.insert(0, Watch())
entry, sys.argv = sys.argv[1], sys.argv[1:]
if entry == "anyllm":
    from anyllm_desktop.cli import main
    main(sys.argv[1:])
else:
    runpy.run_module("anyllm_desktop", run_name="__main__", alter_sys=True)
print(json.dumps({"module": None}))
"""


@pytest.mark.parametrize(
    ("entry", "args", "first"),
    [
        ("anyllm", ["doctor", "--json"], {"llama_cpp", "onnxruntime", "fastembed", "lancedb"}),
        ("anyllm-desktop", ["--quit-after-start"], {"PySide6"}),
    ],
)
def test_entry_points_go_offline_before_any_engine_is_imported(
    entry: str, args: list[str], first: set[str], child_env: dict[str, str], tmp_path: Path
) -> None:
    for name in {*OFFLINE_ENVIRONMENT, "ORT_DISABLE_TELEMETRY"}:
        child_env.pop(name, None)  # the test process may have applied them already
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_ENGINE_IMPORT, entry, "--home", str(tmp_path / "h"), *args],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["module"] in first, f"{entry} imported no engine, or {seen['module']} first"
    assert seen["env"].get("ORT_DISABLE_TELEMETRY") == "1"
    assert {k: seen["env"].get(k) for k in OFFLINE_ENVIRONMENT} == OFFLINE_ENVIRONMENT


def test_cancel_token() -> None:
    token = CancelToken()
    token.raise_if_cancelled()
    token.cancel()
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.raise_if_cancelled()


@pytest.mark.parametrize("bad", [{"temperature": -0.1}, {"top_p": 0.0}, {"max_tokens": 0}])
def test_generation_options_are_validated(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        GenerationOptions(**bad)


def test_background_work_waits_while_an_answer_is_generated() -> None:
    import threading
    import time

    from anyllm_desktop.core.priority import CorePriority

    priority = CorePriority()
    resumed = threading.Event()

    def background() -> None:
        priority.wait_for_foreground(CancelToken())
        resumed.set()

    with priority.foreground():
        worker = threading.Thread(target=background)
        worker.start()
        time.sleep(0.3)
        assert priority.busy and not resumed.is_set()
    assert resumed.wait(5) and not priority.busy
    worker.join()
    cancel = CancelToken()
    cancel.cancel()
    with priority.foreground():
        priority.wait_for_foreground(cancel)  # a cancelled job does not wait
