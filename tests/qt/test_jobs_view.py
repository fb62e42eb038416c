"""The window's jobs: an ingest and a re-embed started together run one after the other and end
with every passage in the new table; the jobs view lists them, cancels and runs again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from anyllm_desktop.ui import workspace_actions
from tests.qt.helpers import ready_window

DATA = Path(__file__).parent.parent / "data"


def test_an_ingest_and_a_re_embed_started_together_fill_the_new_table(
    qtbot: QtBot, anyllm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-embed used to replace the running ingest's worker; now it waits for it and
    re-embeds what it wrote (an 8-dimensional embedder: a new table of another size)."""
    from tests.e2e.test_library import _FakeEmbedder

    window = ready_window(qtbot, anyllm_home)
    backend = window.backend
    jobs, library = backend.jobs, backend.library
    assert jobs is not None and library is not None
    qtbot.waitUntil(lambda: not jobs.active(), timeout=120_000)  # the start-up model load
    real_dim = library.model_dim
    monkeypatch.setattr(library, "model_dim",
                        lambda m, w=None: 8 if m == "test:fake-8" else real_dim(m))  # fmt: skip
    library._embedders["test:fake-8", 0, False] = _FakeEmbedder()  # type: ignore[assignment]
    backend.create_workspace("Both")
    backend.ingest("Both", [DATA / "debian-faq-archives.html", DATA / "nodejs-string-decoder.md"])
    backend.reembed_workspace("Both", "test:fake-8")
    assert [j.kind for j in jobs.active()] == ["ingest", "reembed"]
    qtbot.waitUntil(lambda: not jobs.active(), timeout=240_000)
    records = {j.kind: j for j in jobs.records(2)}
    assert records["ingest"].state == "done" and records["reembed"].state == "done"
    workspace = library.workspace("Both")
    assert workspace.embedding_model == "test:fake-8" and workspace.vector_table.endswith("_v2")
    documents = library.documents("Both")
    assert len(documents) == 2
    assert library.vectors.count(library.table(workspace)) == sum(d.chunks for d in documents)
    window.close()


def test_the_jobs_view_cancels_and_runs_again(
    qtbot: QtBot, anyllm_home: Path, tmp_path: Path
) -> None:
    window = ready_window(qtbot, anyllm_home)
    backend = window.backend
    jobs = backend.jobs
    assert jobs is not None
    qtbot.waitUntil(lambda: not jobs.active(), timeout=120_000)  # the start-up model load
    assert [j.kind for j in jobs.records()] == ["model-load"]
    backend.create_workspace("V")
    files = []
    for number in range(4):
        files.append(tmp_path / f"copy{number}.html")
        shutil.copy(DATA / "debian-faq-archives.html", files[-1])
        files[-1].write_text(files[-1].read_text() + f"<p>Copy {number}.</p>")
    backend.ingest("V", files)
    backend.ingest("V", [DATA / "nodejs-string-decoder.md"])
    window.open_jobs()
    view = window._jobs_view
    assert view is not None and view.isVisible()
    button = window.status.jobs_button.text()
    assert "running" in button and "waiting" in button
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() == 3, timeout=10_000)
    waiting = view.tree.topLevelItem(0)  # newest first: the second ingest, queued
    assert waiting.text(2) == "Queued" and "waiting for" in waiting.text(4)
    waiting.setSelected(True)
    assert view.cancel_button.isEnabled()
    view.cancel_button.click()
    qtbot.waitUntil(lambda: view.tree.topLevelItem(0).text(2) == "Cancelled", timeout=10_000)
    view.tree.topLevelItem(0).setSelected(True)
    assert view.retry_button.isEnabled()
    view.retry_button.click()
    qtbot.waitUntil(lambda: not jobs.active(), timeout=240_000)
    states = [j.state for j in jobs.records()]
    assert states == ["done", "cancelled", "done", "done"]
    assert window.status.jobs_button.text() == "Jobs"
    window.close()


def test_workspace_settings_save_nothing_unless_all_is_valid_and_keep_both_changes(
    qtbot: QtBot, anyllm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = ready_window(qtbot, anyllm_home)
    backend = window.backend
    backend.create_workspace("S")
    window.navigator.select_workspace("S")
    monkeypatch.setattr(window.workspace_actions, "confirm", lambda *_args: True)
    warned: list[str] = []
    monkeypatch.setattr(workspace_actions.QMessageBox, "warning",
                        lambda _parent, _title, text: warned.append(text))  # fmt: skip
    dialog = window.workspace_actions.open_workspace_settings()
    assert dialog is not None
    dialog.temperature.setValue(1.5)
    dialog.chunk_tokens.setValue(64)
    dialog.chunk_overlap.setValue(40)  # more than half a chunk: invalid
    dialog.accept()
    assert warned and "chunk_overlap" in warned[0]
    workspace = backend.workspace("S")
    assert workspace.chat.temperature != 1.5 and workspace.retrieval.chunk_tokens == 200
    # A chunk size and an embedding model changed together: both happen, in that order of need.
    submitted: list[str] = []
    monkeypatch.setattr(backend, "reembed_workspace", lambda n, m, agreed: submitted.append(m))
    monkeypatch.setattr(backend, "reindex_workspace", lambda n: submitted.append("reindex"))
    dialog = window.workspace_actions.open_workspace_settings()
    assert dialog is not None
    dialog.chunk_tokens.setValue(120)
    dialog.chunk_overlap.setValue(20)
    dialog.embedder.addItem("another model", "embedded:another")
    dialog.embedder.setCurrentIndex(dialog.embedder.count() - 1)
    monkeypatch.setattr(backend, "cloud_embedding_terms", lambda n, m: None)
    dialog.accept()
    assert submitted == ["embedded:another", "reindex"]
    assert backend.workspace("S").retrieval.chunk_tokens == 120
    window.close()
