from __future__ import annotations

import pytest

from anyllm_desktop.core.cancel import Cancelled, CancelToken
from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.providers.base import GenerationOptions


def test_offline_environment_disables_telemetry_and_hub_downloads() -> None:
    env: dict[str, str] = {}
    apply_offline_environment(env)
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["SCARF_NO_ANALYTICS"] == "true" and env["DO_NOT_TRACK"] == "true"


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
