from __future__ import annotations

from pathlib import Path

import pytest

from anyllm_desktop.store.records import Records
from anyllm_desktop.store.threads import Threads


@pytest.fixture
def threads(tmp_path: Path) -> Threads:
    """A real library database with one workspace and one chat (id 1)."""
    database = tmp_path / "library.sqlite3"
    workspace = Records(database).create_workspace("R", "embedded:minilm")
    store = Threads(database)
    store.create(workspace.id, "a chat")
    return store
