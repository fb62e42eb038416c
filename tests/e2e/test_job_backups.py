"""One copy of the library database per write job: made when the job ends (its record included),
so ``library.sqlite3.bak`` is current from then on and closing the library copies nothing more."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from anyllm_desktop import cli

pytestmark = pytest.mark.e2e


def _copies(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every copy that replaces ``library.sqlite3.bak`` (the last step of each real copy)."""
    made: list[Path] = []
    real = Path.replace

    def replace(self: Path, target: str | Path) -> Path:
        if Path(target).name == "library.sqlite3.bak":
            made.append(Path(target))
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    return made


def _in_copy(home: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "library.sqlite3.bak") as copy:
        return copy.execute(query).fetchall()


def test_an_ingest_and_a_delete_copy_the_database_once_and_the_copy_is_current(
    anyllm_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["workspace", "create", "B"]) == 0
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nBackups are made once per job.\n", encoding="utf-8")
    made = _copies(monkeypatch)
    assert cli.main(["ingest", "-w", "B", str(note)]) == 0
    assert len(made) == 1
    assert _in_copy(anyllm_home, "SELECT title FROM documents") == [("Note",)]
    assert _in_copy(anyllm_home, "SELECT kind, state FROM jobs") == [("ingest", "done")]
    made.clear()
    assert cli.main(["workspace", "delete", "B"]) == 0
    assert len(made) == 1
    assert _in_copy(anyllm_home, "SELECT name FROM workspaces") == []
    assert _in_copy(anyllm_home, "SELECT kind, state FROM jobs ORDER BY id") == [
        ("ingest", "done"),
        ("delete", "done"),
    ]
