"""The ingest pipeline and hybrid search on real files, the real embedder and real LanceDB."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, FileResult, Progress
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from tests.e2e.conftest import DATA, ingest, passages_in_table

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Library, list]]:
    """One workspace holding every test document (ingested once for the module)."""
    library = Library(Runtime.open(tmp_path_factory.mktemp("home")))
    library.create_workspace("All")
    results = ingest(library, "All", DATA)
    yield library, results
    library.close()


def test_every_format_goes_in(everything: tuple[Library, list]) -> None:
    library, results = everything
    by_name = {Path(r.path).name: r for r in results}
    expected = {p.name for p in DATA.iterdir() if p.suffix != ".md" or p.stem != "README"}
    assert set(by_name) == expected | {"README.md"}
    assert all(r.status == "indexed" and r.chunks > 0 for r in results), results
    documents = library.documents("All")
    assert {d.status for d in documents} == {"indexed"}
    assert sum(d.chunks for d in documents) == passages_in_table(library, "All")


@pytest.mark.parametrize(("query", "document", "page", "section_part", "text_part"), [
    ("Where do the Debian release codenames come from?", "Chapter 6. The Debian archives",
     None, "6.2.2. Where do these codenames come from?", "Toy Story"),
    ("Which input encoding does ReportLab expect for text?",
     "ReportLab PDF Generation User Guide", 48, "Unicode and UTF8", "UTF8"),
    ("feed of chickens horsebean weight", "readxl-datasets", 3, "chickwts", "horsebean"),
    ("Comment devenir super-utilisateur pour exécuter les commandes ?",
     "Manuel des systèmes live — extrait", None, "", "super-utilisateur"),
    ("How do I subscribe to the ppp mailing list?", "Ppp digest, Vol 1 #2 - 5 msgs", None, "",
     "subscribe"),
    ("Header 1 Header 2 Salut blah", "Title", 1, "", "Salut"),
])  # fmt: skip
def test_search_finds_the_passage_with_its_page_and_section(
    everything: tuple[Library, list], query: str, document: str, page: int | None,
    section_part: str, text_part: str,
) -> None:  # fmt: skip
    library, _ = everything
    results = library.search("All", query, k=4)
    match = next((r for r in results if r.document == document and section_part in r.section
                  and text_part in r.text), None)  # fmt: skip
    assert match is not None, [(r.document, r.section, r.text[:60]) for r in results]
    assert match.page == page
    assert [r.rank for r in results] == list(range(1, len(results) + 1))


def test_the_best_passage_comes_with_its_neighbours_and_they_are_not_listed_twice(
    everything: tuple[Library, list],
) -> None:
    library, _ = everything
    results = library.search("All", "How do I draw a string on a pdfgen canvas?", k=4)
    best = results[0]
    table = library.table(library.workspace("All"))
    around = library.vectors.passages(table, best.doc_id, [best.chunk - 1, best.chunk + 1])
    joined = [p for p in around.values() if (p.section, p.page) == (best.section, best.page)]
    assert joined, "this query's best passage has neighbours on its page and section"
    for neighbour in joined:
        assert neighbour.text[-40:] in best.text or neighbour.text[:40] in best.text
    listed = {(r.doc_id, r.chunk) for r in results[1:]}
    assert not listed & {(p.doc_id, p.chunk) for p in joined}
    assert len(results) == 4


def test_search_modes_and_threshold(everything: tuple[Library, list]) -> None:
    library, _ = everything
    text = library.search("All", "horsebean", k=3, mode="fulltext")
    assert text and all("horsebean" in r.text for r in text)
    vector = library.search("All", "Pixar movie toys", k=3, mode="vector")
    assert any("Toy Story" in r.text for r in vector)
    assert all(r.similarity is not None for r in vector)
    library.update_retrieval("All", similarity_threshold=0.95)
    assert library.search("All", "Pixar movie toys", k=3) == []
    library.update_retrieval("All", similarity_threshold=0.0)


def _markdown(path: Path, body: str) -> Path:
    path.write_text(f"# Notes\n\n## Facts\n\n{body}\n", encoding="utf-8")
    return path


def test_duplicates_changes_and_removal(library: Library, tmp_path: Path) -> None:
    library.create_workspace("W")
    note = _markdown(tmp_path / "note.md", "The office opens at nine in the morning.")
    copy = tmp_path / "copy-of-note.md"
    shutil.copy(note, copy)
    first = {Path(r.path).name: r for r in ingest(library, "W", note, copy)}
    assert first["note.md"].status == "indexed"
    assert first["copy-of-note.md"].status == "duplicate"
    assert "same content as" in (first["copy-of-note.md"].reason or "")
    assert ingest(library, "W", note)[0].status == "duplicate"
    # A changed file replaces its passages.
    _markdown(note, "The office now opens at ten in the morning.")
    assert ingest(library, "W", note)[0].status == "indexed"
    documents = library.documents("W")
    assert len(documents) == 1 and documents[0].path == str(note)
    texts = [r.text for r in library.search("W", "When does the office open?", k=5)]
    assert texts == ["The office now opens at ten in the morning."]
    assert passages_in_table(library, "W") == documents[0].chunks
    # Removing a document removes its vectors.
    list(library.remove_document("W", documents[0].id))
    assert library.documents("W") == [] and passages_in_table(library, "W") == 0
    assert library.search("W", "office", k=5) == []


def test_deleting_a_workspace_leaves_the_others(library: Library, tmp_path: Path) -> None:
    for name in ("Keep", "Drop"):
        library.create_workspace(name)
        ingest(library, name, _markdown(tmp_path / f"{name}.md", f"{name} facts live here."))
    list(library.delete_workspace("Drop"))
    assert [w.name for w in library.workspaces()] == ["Keep"]
    assert library.search("Keep", "facts", k=2)[0].text == "Keep facts live here."
    assert len(library.vectors._db.list_tables().tables) == 1


def test_a_second_workspace_reuses_cached_embeddings(library: Library) -> None:
    library.create_workspace("A")
    library.create_workspace("B")
    ingest(library, "A", DATA / "debian-faq-archives.html")
    embedder = library.embedder(library.workspace("B").embedding_model)
    calls: list[int] = []
    real_embed = embedder.embed
    embedder.embed = lambda texts, batch_size=16: calls.append(len(texts)) or real_embed(texts)
    result = ingest(library, "B", DATA / "debian-faq-archives.html")[0]
    assert result.status == "indexed" and result.chunks > 10
    assert calls == []  # every passage came from the cache


def test_bad_files_are_reported_and_the_rest_goes_in(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    _markdown(folder / "good.md", "Good files still go in.")
    (folder / "broken.pdf").write_bytes((DATA / "reportlab-userguide.pdf").read_bytes()[:3000])
    (folder / "empty.txt").write_bytes(b"")
    (folder / "random.docx").write_bytes(bytes(range(256)) * 64)
    (folder / "picture.heic").write_bytes(b"\x00\x01")
    library.create_workspace("Mixed")
    results = {Path(r.path).name: r for r in ingest(library, "Mixed", folder)}
    assert results["good.md"].status == "indexed"
    reasons = {n: r.reason for n, r in results.items() if r.status == "failed"}
    assert set(reasons) == {"broken.pdf", "empty.txt", "random.docx", "picture.heic"}
    assert "damaged" in reasons["broken.pdf"] and reasons["empty.txt"] == "the file is empty"
    assert "not a valid Word" in reasons["random.docx"]
    assert "unsupported file type" in reasons["picture.heic"]
    statuses = {Path(d.path).name: (d.status, d.error) for d in library.documents("Mixed")}
    assert statuses["good.md"] == ("indexed", None)
    assert statuses["broken.pdf"][0] == "failed" and "damaged" in statuses["broken.pdf"][1]
    assert library.search("Mixed", "good files", k=1)[0].text == "Good files still go in."


def test_a_file_that_vanishes_mid_ingest(library: Library, tmp_path: Path) -> None:
    first = _markdown(tmp_path / "a.md", "First file.")
    second = _markdown(tmp_path / "b.md", "Second file.")
    library.create_workspace("V")
    results: list[FileResult] = []
    for event in library.ingest("V", [first, second], CancelToken()):
        if isinstance(event, Progress) and "a.md" in event.message:
            second.unlink()
        if isinstance(event, FileResult):
            results.append(event)
    by_name = {Path(r.path).name: r for r in results}
    assert by_name["a.md"].status == "indexed"
    assert by_name["b.md"].status == "failed"
    assert "no longer exists" in (by_name["b.md"].reason or "")


def test_cancel_keeps_what_is_done_and_the_store_consistent(
    library: Library, guide_excerpt: Path
) -> None:
    library.create_workspace("C")
    cancel = CancelToken()
    results: list[FileResult] = []
    files = [DATA / "debian-faq-archives.html", DATA / "live-manual.epub", guide_excerpt]
    events = library.ingest("C", files, cancel)
    for event in events:
        if isinstance(event, Progress) and event.stage == "embed":
            cancel.cancel()
        if isinstance(event, FileResult):
            results.append(event)
    assert {r.status for r in results} == {"cancelled"}
    assert library.documents("C") == [] and passages_in_table(library, "C") == 0
    # The same files go in completely afterwards.
    assert {r.status for r in ingest(library, "C", *files)} == {"indexed"}


def test_an_interrupted_document_is_cleaned_up_and_ingested_again(library: Library) -> None:
    """What a killed process leaves: a record marked 'indexing' and some of its passages."""
    from anyllm_desktop.store.vectors import PassageRow

    source = DATA / "debian-faq-archives.html"
    library.create_workspace("K")
    workspace = library.workspace("K")
    doc_id = library.records.begin_document(
        workspace.id, content_hash="f" * 64, path=str(source), title="half", kind="html",
        size=1, pages=None)  # fmt: skip
    half = [PassageRow(doc_id, i, "half-written passage", "", "", None, "", 3,
                       np.full(384, 0.05, dtype=np.float32)) for i in range(3)]  # fmt: skip
    library.vectors.add(library.table(workspace), half)
    assert library.search("K", "half-written passage", k=3) == []  # never shown
    results = ingest(library, "K", DATA / "nodejs-string-decoder.md")
    assert [Path(r.path).name for r in results] == [source.name, "nodejs-string-decoder.md"]
    assert {r.status for r in results} == {"indexed"}
    documents = library.documents("K")
    assert {d.status for d in documents} == {"indexed"}
    assert passages_in_table(library, "K") == sum(d.chunks for d in documents)


class _FakeEmbedder:
    """An 8-dimensional embedder: enough to prove a dimension change never crashes."""

    dim = 8
    local = True
    batch_texts = 64
    batch_tokens = 2048
    batch_quadratic_from = None
    concurrent_batches = 1

    def for_bulk(self) -> _FakeEmbedder:
        return self

    def embed(self, texts: list[str], batch_size: int = 16, cancel: object = None) -> np.ndarray:
        rows = np.zeros((len(texts), 8), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                rows[i, hash(word) % 8] += 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def test_switching_embedder_re_embeds_without_a_dimension_crash(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    library.create_workspace("S")
    ingest(library, "S", DATA / "debian-faq-archives.html")
    before = passages_in_table(library, "S")
    real_dim = library.model_dim
    monkeypatch.setattr(library, "model_dim",
                        lambda m, w=None: 8 if m == "test:fake-8" else real_dim(m))  # fmt: skip
    library._embedders["test:fake-8", 0, False] = _FakeEmbedder()  # type: ignore[assignment]
    # Cancelled: the workspace stays on its model, searchable.
    cancel = CancelToken()
    cancel.cancel()
    events = list(library.reembed("S", "test:fake-8", cancel))
    assert isinstance(events[-1], Error)
    assert library.workspace("S").embedding_model == "embedded:all-minilm-l6-v2-int8"
    assert library.search("S", "Toy Story", k=1)
    # Completed: a new 8-dimensional table replaces the old one.
    events = list(library.reembed("S", "test:fake-8", CancelToken()))
    assert isinstance(events[-1], Done) and events[-1].result["passages"] == before
    assert any(isinstance(e, Progress) for e in events)
    workspace = library.workspace("S")
    assert workspace.embedding_model == "test:fake-8" and workspace.vector_table.endswith("_v2")
    assert passages_in_table(library, "S") == before
    assert library.search("S", "Toy Story movies", k=2)
