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
