"""The model host's owner thread: jobs after ``close`` fail at once instead of waiting forever."""

from __future__ import annotations

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done
from anyllm_desktop.services.model_host import ModelHost


class _Provider:
    model = "stand-in"
    loaded = True

    def __init__(self) -> None:
        self.unloads = 0

    def unload(self) -> None:
        self.unloads += 1


def test_a_closed_host_refuses_jobs_instead_of_hanging() -> None:
    provider = _Provider()
    host = ModelHost(provider)  # type: ignore[arg-type]
    assert list(host.load(CancelToken())) == [Done("stand-in")]
    host.close()
    host.close()  # twice is harmless
    assert provider.unloads == 1
    with pytest.raises(RuntimeError, match="closed"):
        host.run(lambda p: p.model)
    with pytest.raises(RuntimeError, match="closed"):
        list(host.load(CancelToken()))
