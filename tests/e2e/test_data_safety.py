"""Nothing lost, nothing in the wrong place: identities, the writer lock, repair of lost or damaged
stores, and files that change, hide behind links or have names that are not UTF-8 (real
Library, real LanceDB folder, real embedding model)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.ingest.reading import file_hash
from anyllm_desktop.models.embedded import EMBEDDING_MODEL_ID
from anyllm_desktop.services import ingest_reading
from anyllm_desktop.services.index_health import IndexProblem
from anyllm_desktop.services.integrity import LibraryProblem, restore_backup
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from tests.e2e.conftest import DATA, ingest, passages_in_table

pytestmark = pytest.mark.e2e


def _note(path: Path, text: str) -> Path:
    path.write_text(f"# {path.stem}\n\n{text}\n", encoding="utf-8")
    return path


def _all_rows(library: Library) -> int:
    vectors = library.vectors
    return sum(vectors.count(vectors.open_existing(t)) for t in vectors.table_names())


def test_a_new_workspace_never_sees_a_deleted_ones_passages(
    library: Library, tmp_path: Path
) -> None:
    library.create_workspace("Old")
    ingest(library, "Old", _note(tmp_path / "old.md", "The R FAQ explains install.packages."))
    old = library.workspace("Old")
    list(library.delete_workspace("Old"))
    new = library.create_workspace("New")
    assert new.uid != old.uid and new.vector_table != old.vector_table
    ingest(library, "New", _note(tmp_path / "new.md", "Tomatoes need sun and water."))
    assert [r.text for r in library.search("New", "install.packages R FAQ", k=4)] == [
        "Tomatoes need sun and water."
    ]
    # Document ids are not reused either.
    first = library.documents("New")[0]
    list(library.remove_document("New", first.id))
    ingest(library, "New", _note(tmp_path / "later.md", "Peppers too."))
    assert library.documents("New")[0].id > first.id


def test_a_lost_or_emptied_database_is_refused_and_restored(
    anyllm_home: Path, tmp_path: Path
) -> None:
    library = Library(Runtime.open(anyllm_home))
    library.create_workspace("R")
    ingest(library, "R", _note(tmp_path / "faq.md", "Use install.packages to add a package."))
    library.close()
    database = anyllm_home / "library.sqlite3"
    database.write_bytes(b"")  # truncated to 0 bytes
    for part in ("-wal", "-shm"):
        (anyllm_home / f"library.sqlite3{part}").unlink(missing_ok=True)
    with pytest.raises(LibraryProblem) as refused:
        Library(Runtime.open(anyllm_home))
    assert refused.value.kind == "mismatch"
    assert str(database) in str(refused.value) and "anyllm library restore" in str(refused.value)
    restore_backup(Runtime.open(anyllm_home).paths)
    library = Library(Runtime.open(anyllm_home))
    try:
        assert library.search("R", "How do I add a package?", k=1)[0].document == "faq"
    finally:
        library.close()


def test_a_damaged_database_names_the_file_and_what_to_do(anyllm_home: Path) -> None:
    Library(Runtime.open(anyllm_home)).close()
    (anyllm_home / "library.sqlite3").write_bytes(b"this is not a database" * 100)
    for part in ("-wal", "-shm"):
        (anyllm_home / f"library.sqlite3{part}").unlink(missing_ok=True)
    with pytest.raises(LibraryProblem) as damaged:
        Library(Runtime.open(anyllm_home))
    message = str(damaged.value)
    assert damaged.value.kind == "damaged"
    assert str(anyllm_home / "library.sqlite3") in message and "damaged" in message
    assert "anyllm library restore" in message


def _step_until(events: object, stage: str) -> list[Event]:
    """Advance a job until it yields a Progress of ``stage`` (it then holds its lock)."""
    seen: list[Event] = []
    for event in events:  # type: ignore[attr-defined]
        seen.append(event)
        if isinstance(event, Progress) and event.stage == stage:
            return seen
    raise AssertionError(f"no {stage!r} progress in {seen}")


def _in_thread(job: object) -> tuple[threading.Thread, list[Event]]:
    events: list[Event] = []
    thread = threading.Thread(target=lambda: events.extend(job), daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread, events


def _wait_for(events: list[Event], stage: str) -> None:
    cancel = CancelToken()
    for _ in range(200):
        if any(isinstance(e, Progress) and e.stage == stage for e in events):
            return
        cancel.wait(0.05)
    raise AssertionError(f"never saw {stage!r}: {events}")


def test_deleting_a_workspace_waits_for_its_ingest(library: Library, tmp_path: Path) -> None:
    library.create_workspace("W")
    files = [_note(tmp_path / f"n{i}.md", f"Note number {i} about lanterns.") for i in range(3)]
    running = library.ingest("W", files, CancelToken())
    _step_until(running, "read")  # the ingest holds the writer lock now
    deleting, events = _in_thread(library.delete_workspace("W"))
    _wait_for(events, "wait")
    assert "being indexed in this app" in next(e.message for e in events if isinstance(e, Progress))
    rest = list(running)
    assert isinstance(rest[-1], Done)
    deleting.join(60)
    assert isinstance(events[-1], Done)
    assert library.workspaces() == [] and library.vectors.table_names() == set()
    library.create_workspace("Next")
    assert library.search("Next", "lanterns", k=3) == []


def test_an_ingest_started_during_a_re_embed_goes_into_the_new_table(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.test_library import _FakeEmbedder

    library.create_workspace("S")
    ingest(library, "S", DATA / "debian-faq-archives.html")
    fake = _FakeEmbedder()
    fake.max_input_tokens = 256  # type: ignore[attr-defined]
    fake.unload = fake.release_memory = lambda: None  # type: ignore[attr-defined]
    real_dim = library.model_dim
    monkeypatch.setattr(library, "model_dim",
                        lambda m, w=None: 8 if m == "test:fake-8" else real_dim(m))  # fmt: skip
    library._embedders["test:fake-8", 0, False] = fake  # type: ignore[assignment]
    library._counters["test:fake-8"] = library.token_counter(EMBEDDING_MODEL_ID)
    switching = library.reembed("S", "test:fake-8", CancelToken())
    _step_until(switching, "re-embed")
    adding, events = _in_thread(library.ingest("S", [_note(tmp_path / "x.md", "Lanterns.")],
                                               CancelToken()))  # fmt: skip
    _wait_for(events, "wait")
    assert isinstance(list(switching)[-1], Done)
    adding.join(120)
    results = events[-1].result  # type: ignore[union-attr]
    assert [r.status for r in results] == ["indexed"]
    workspace = library.workspace("S")
    assert workspace.embedding_model == "test:fake-8"
    assert passages_in_table(library, "S") == sum(d.chunks for d in library.documents("S"))
    assert _all_rows(library) == passages_in_table(library, "S")  # the old table is gone


def test_a_lost_table_folder_is_found_and_re_indexed(library: Library, tmp_path: Path) -> None:
    library.create_workspace("L")
    files = [_note(tmp_path / f"d{i}.md", f"Document {i} talks about kites.") for i in range(2)]
    ingest(library, "L", *files)
    assert library.health("L").ok
    shutil.rmtree(library.vectors.folder / f"{library.workspace('L').vector_table}.lance")
    health = library.health("L")
    assert not health.ok and len(health.incomplete) == 2 and "reindex" in health.message
    with pytest.raises(IndexProblem, match="missing"):
        library.search("L", "kites")
    files[1].unlink()  # one file is gone since: it is reported, the other comes back
    results = list(library.reindex("L", CancelToken()))[-1].result
    assert sorted(r.status for r in results) == ["failed", "indexed"]
    assert "no longer at" in next(r.reason for r in results if r.status == "failed")
    assert library.search("L", "kites", k=1)[0].text == "Document 0 talks about kites."


def test_a_damaged_data_file_is_named_and_re_indexing_repairs_it(
    library: Library, tmp_path: Path
) -> None:
    library.create_workspace("D")
    ingest(library, "D", _note(tmp_path / "a.md", "Apples grow on trees in orchards."))
    folder = library.vectors.folder / f"{library.workspace('D').vector_table}.lance" / "data"
    for data in folder.iterdir():
        data.write_bytes(b"garbage" * 64)
    library.vectors.forget(library.workspace("D").vector_table)
    with pytest.raises(IndexProblem, match="damaged") as damaged:
        library.search("D", "apples")
    assert "'D'" in str(damaged.value) and "reindex" in str(damaged.value)
    assert not library.health("D").ok
    assert [r.status for r in list(library.reindex("D", CancelToken()))[-1].result] == ["indexed"]
    assert library.search("D", "apples", k=1)[0].text == "Apples grow on trees in orchards."


def test_a_damaged_embedding_cache_is_rebuilt(anyllm_home: Path, tmp_path: Path) -> None:
    cache = anyllm_home / "cache" / "embeddings.sqlite3"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\x00garbage that is not sqlite" * 200)
    library = Library(Runtime.open(anyllm_home))
    try:
        assert any("embedding cache" in w for w in library.warnings)
        library.create_workspace("C")
        assert [r.status for r in ingest(library, "C", _note(tmp_path / "c.md", "Cherries."))] == [
            "indexed"
        ]
        assert library.search("C", "cherries", k=1)
    finally:
        library.close()
    assert sqlite3.connect(cache).execute("SELECT COUNT(*) FROM vectors").fetchone()[0] > 0


def test_a_file_that_changes_while_read_is_stored_with_what_was_read(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = _note(tmp_path / "live.md", "The first version says red.")
    real_parse = ingest_reading.parse_file
    calls = []

    def parse_then_change(path: Path) -> object:
        parsed = real_parse(path)
        if not calls:  # an editor saves while the first read is under way
            _note(path, "The second version says blue.")
        calls.append(path)
        return parsed

    monkeypatch.setattr(ingest_reading, "parse_file", parse_then_change)
    library.create_workspace("V")
    assert [r.status for r in ingest(library, "V", note)] == ["indexed"]
    document = library.documents("V")[0]
    assert document.content_hash == file_hash(note)
    assert library.search("V", "version", k=1)[0].text == "The second version says blue."
    assert ingest(library, "V", note)[0].status == "duplicate"


def test_paths_are_stored_absolute_so_another_folder_finds_the_same_file(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    note = _note(tmp_path / "docs" / "note.md", "Absolute paths only.")
    library.create_workspace("P")
    monkeypatch.chdir(tmp_path / "docs")
    assert ingest(library, "P", Path("note.md"))[0].status == "indexed"
    monkeypatch.chdir(tmp_path / "elsewhere")
    again = ingest(library, "P", Path("../docs/note.md"))[0]
    assert again.status == "duplicate" and "same content as" not in (again.reason or "")
    assert [d.path for d in library.documents("P")] == [str(note.resolve())]


def test_pipes_device_links_and_undecodable_names_never_stop_a_folder(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    strange = Path(os.fsdecode(bytes(folder) + b"/caf\xe9.md"))
    strange.write_text("# Strange\n\nA name that is not UTF-8.\n", encoding="utf-8")
    _note(folder / "plain.md", "A plain name.")
    library.create_workspace("F")
    results = {Path(r.path).name: r for r in ingest(library, "F", folder)}
    assert results["pipe.txt"].status == "failed" and "regular" in (
        results["pipe.txt"].reason or ""
    )
    assert results["zero"].status == "failed" and "regular" in (results["zero"].reason or "")
    assert results["caf\\xe9.md"].status == "indexed" and results["plain.md"].status == "indexed"
    stored = {d.path for d in library.documents("F")}
    assert str(folder / "caf\\xe9.md") in stored
    assert library.search("F", "not UTF-8", k=1)[0].text == "A name that is not UTF-8."


def test_cancelling_a_waiting_writer_changes_nothing(library: Library, tmp_path: Path) -> None:
    library.create_workspace("Q")
    running = library.ingest("Q", [_note(tmp_path / "q.md", "Quiet.")], CancelToken())
    _step_until(running, "read")
    cancel = CancelToken()
    waiting, events = _in_thread(library.delete_workspace("Q", cancel))
    _wait_for(events, "wait")
    cancel.cancel()
    waiting.join(10)
    assert isinstance(events[-1], Error) and "nothing was deleted" in events[-1].message
    list(running)
    assert [w.name for w in library.workspaces()] == ["Q"]
    assert library.search("Q", "quiet", k=1)


def test_a_huge_document_is_embedded_and_written_in_slices(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past STREAM_CHARACTERS a document is chunked as a stream and written SLICE_CHUNKS
    passages at a time (here made small): the same passages as in one piece, and a cancel
    in the middle leaves nothing behind."""
    from anyllm_desktop.services import ingestion

    text = " ".join(f"Sentence {i} tells of lantern {i % 97} by the river." for i in range(600))
    whole = tmp_path / "whole.txt"
    whole.write_text(text, encoding="utf-8")
    library.create_workspace("Whole")
    ingest(library, "Whole", whole)
    expected = [r.text for r in library.search("Whole", "lantern 42 river", k=3)]
    chunks = library.documents("Whole")[0].chunks
    assert chunks > 32  # more than two slices

    monkeypatch.setattr(ingest_reading, "STREAM_CHARACTERS", 1000)
    monkeypatch.setattr(ingestion, "SLICE_CHUNKS", 16)
    library.create_workspace("Sliced")
    assert [r.status for r in ingest(library, "Sliced", whole)] == ["indexed"]
    document = library.documents("Sliced")[0]
    assert document.chunks == chunks and passages_in_table(library, "Sliced") == chunks
    assert [r.text for r in library.search("Sliced", "lantern 42 river", k=3)] == expected

    cancel = CancelToken()
    library.create_workspace("Cancelled")
    events = library.ingest("Cancelled", [whole], cancel)
    for event in events:
        if isinstance(event, Progress) and event.stage == "write":
            cancel.cancel()  # after the first slice is written
    assert isinstance(event, Done) and [r.status for r in event.result] == ["cancelled"]
    assert library.documents("Cancelled") == [] and passages_in_table(library, "Cancelled") == 0
