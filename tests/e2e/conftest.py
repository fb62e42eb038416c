from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, FileResult
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def library(anyllm_home: Path) -> Iterator[Library]:
    library = Library(Runtime.open(anyllm_home))
    yield library
    library.close()


def ingest(library: Library, workspace: str, *paths: Path,
           cancel: CancelToken | None = None) -> list[FileResult]:  # fmt: skip
    events = list(library.ingest(workspace, list(paths), cancel or CancelToken()))
    assert isinstance(events[-1], Done)
    return events[-1].result


def passages_in_table(library: Library, workspace: str) -> int:
    return library.vectors.count(library.table(library.workspace(workspace)))


@pytest.fixture
def keyless_env(child_env: dict[str, str]) -> dict[str, str]:
    """Child processes without a system keyring (as on the CI box), so a test never writes into
    a developer's real keyring."""
    return {**child_env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
