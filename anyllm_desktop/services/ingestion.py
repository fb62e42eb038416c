"""The ingest pipeline: files in, searchable passages out, one bad file never stopping the rest.

Files are read and chunked one by one; their passages are embedded in windows of several files,
shortest texts together and batches bounded by tokens (padding is what costs time and memory),
with vectors already in the embedding cache skipped. Each file is committed as soon as its
window is embedded, so the first files are searchable while a big drop continues.

Crash safety: a document is recorded as 'indexing' before its passages are written and marked
'indexed' after. A run that finds 'indexing' records (the process was killed) deletes their
passages and ingests those files again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Event, FileResult
from anyllm_desktop.core.filenames import clean_text, path_from_stored, stored_path
from anyllm_desktop.core.memory import release_free_memory
from anyllm_desktop.core.workspace import Chunk, Workspace
from anyllm_desktop.ingest.chunking import Chunker
from anyllm_desktop.ingest.formats import discover
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.services.embedding import embed_texts, free_bulk_session
from anyllm_desktop.services.index_health import IndexHealth, IndexProblem, index_errors
from anyllm_desktop.services.ingest_progress import IngestProgress
from anyllm_desktop.services.ingest_reading import FileReader, Prepared
from anyllm_desktop.store.vectors import PassageRow

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library

#: Files are embedded together until their passages reach this many.
WINDOW_CHUNKS = 256
#: After parsing a file this large, freed heap goes back to the OS at once.
BIG_FILE_BYTES = 1 << 20
#: A streamed document's passages are embedded and written this many at a time.
SLICE_CHUNKS = 1024


class IngestJob:
    def __init__(
        self, library: Library, workspace: Workspace, paths: Sequence[Path], cancel: CancelToken,
        *, reindex: bool = False,
    ) -> None:  # fmt: skip
        self.library = library
        self.workspace = workspace
        self.records = library.records
        # Absolute and resolved: the same file from another folder is the same document.
        self.paths = [Path(p).expanduser().resolve() for p in paths]
        self.cancel = cancel
        #: Chunk and embed again what is already indexed (all documents when no paths).
        self.reindex = reindex
        #: Documents recorded as indexed whose passages are missing from the table.
        self._stale: set[int] = set()
        self.results: list[FileResult] = []
        self.progress = IngestProgress(workspace.retrieval.chunk_tokens)
        #: Why the run stopped early (the embedding provider failed); "" while it goes on.
        self._stopped = ""
        #: Seconds spent in each stage (for benchmarks and the log).
        self.timings = {"parse": 0.0, "chunk": 0.0, "embed": 0.0, "write": 0.0}

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> Iterator[Event]:
        """Become the workspace's one writer (waiting for another ingest, re-embed or removal,
        in this process or another), then ingest."""
        job = "reindex" if self.reindex else "ingest"
        held = yield from self.library.writer(self.workspace, job, self.cancel)
        if held is None:
            yield from self._not_indexed(self._discover(), "cancelled while waiting")
        else:
            with held:
                current = self.records.workspace_by_uid(self.workspace.uid)
                if current is None:
                    reason = f"not indexed: the workspace {self.workspace.name!r} was deleted"
                    yield from self._not_indexed(self._discover(), reason)
                else:
                    self.workspace = current  # as the writer before this one left it
                    yield from self._run()
        yield Done(list(self.results))

    def _discover(self) -> list[Path]:
        return list(dict.fromkeys(p.resolve() for p in discover(self.paths)))

    def _run(self) -> Iterator[Event]:
        model = self.workspace.embedding_model
        retrieval = self.workspace.retrieval
        # Another home's documents of a shared workspace as the shared list has them now,
        # before the index is checked against them (one re-indexed there, with another count
        # of passages, is not one whose passages were lost here); they are duplicates here
        # too. A store out of reach or damaged: the health check says so next.
        with contextlib.suppress(ProviderError, IndexProblem):
            self.library.shared.refresh(self.workspace, force=True)
        health = IndexHealth.of(self.library, self.workspace)
        if health.unreachable:  # offline, or its object store is out of reach
            yield from self._not_indexed(self._discover(), f"not indexed: {health.message}")
            return
        self.vectors = self.library.vectors_for(self.workspace)
        if health.damage and self.reindex:  # rebuilt from the files
            self.vectors.drop_table(self.workspace.vector_table)
        elif health.damage:
            yield from self._not_indexed(self._discover(), f"not indexed: {health.message}")
            return
        self._stale = {d.id for d in health.incomplete}
        try:
            self.embedder = self.library.embedder(model, self.workspace)
            self.table = self.library.table(self.workspace)
        except ProviderError as exc:  # a cloud embedder refused (offline, locked, no key)
            yield from self._not_indexed(self._discover(), str(exc))
            return
        limit = self.embedder.max_input_tokens
        if not self.embedder.local:  # counted in stand-in word pieces: keep a wide margin
            limit //= 2
        self.chunker = Chunker(
            self.library.token_counter(model),
            chunk_tokens=retrieval.chunk_tokens,
            overlap_tokens=retrieval.chunk_overlap,
            max_tokens=limit,
        )
        self.reader = FileReader(self.records, self.workspace, self.chunker, reindex=self.reindex,
                                 stale=self._stale, timings=self.timings)  # fmt: skip
        requeued = self._recover_interrupted()
        if self.reindex and not self.paths:
            requeued += yield from self._whole_workspace(health)
        files = list(dict.fromkeys([*requeued, *self._discover()]))
        sizes = {f: _size(f) for f in files}
        self.progress.bytes_total = sum(sizes.values())
        window: list[Prepared] = []
        for number, path in enumerate(files):
            self.library.priority.wait_for_foreground(self.cancel)  # an answer has the cores
            if self.cancel.cancelled or self._stopped:
                break
            yield self.progress.event("read", number + 1, len(files),
                                      f"Reading {clean_text(path.name)}")  # fmt: skip
            prepared = self.reader.read(path)
            if not isinstance(prepared, FileResult) and prepared.streamed is None:
                self.progress.chunked(len(prepared.chunks), sizes[path])
            elif isinstance(prepared, FileResult):
                self.progress.bytes_total -= sizes[path]  # nothing of it to embed
            if sizes[path] >= BIG_FILE_BYTES:
                release_free_memory()  # the parse's heap, before its passages are embedded
            if isinstance(prepared, FileResult):
                yield self._record(prepared)
                continue
            if prepared.streamed is not None:
                if window:
                    yield from self._commit(window, number, len(files))
                    window = []
                yield from self._commit_streamed(prepared, number + 1, len(files))
                self._release_memory()
                continue
            window.append(prepared)
            if sum(len(p.chunks) for p in window) >= WINDOW_CHUNKS:
                yield from self._commit(window, number + 1, len(files))
                window = []
                self._release_memory()
        if window and not self._stopped:
            yield from self._commit(window, len(files), len(files))
        handled = {r.path for r in self.results}
        yield from self._not_indexed(
            [p for p in files if stored_path(p) not in handled],
            self._stopped or "cancelled before it was read",
        )
        if any(r.status == "indexed" for r in self.results):
            self._release_memory()  # index building needs memory of its own
            if self.vectors.vector_index_due(self.table):
                # Keeps the peak of a large ingest within ~1 GB; reloaded by the next search.
                self.embedder.unload()
            started = time.perf_counter()
            with index_errors(self.workspace, self.vectors):
                self.vectors.finish_writes(self.table)
            self.timings["write"] += time.perf_counter() - started
        free_bulk_session(self.embedder)

    def _whole_workspace(self, health: IndexHealth) -> Generator[FileResult, None, list[Path]]:
        """Every document's file, to be read again; documents whose file is gone keep their
        passages, or, where those were lost, are marked failed with the reason."""
        lost = health.table_missing or bool(health.damage)
        stale = {d.id for d in health.incomplete}
        files: list[Path] = []
        for document in self.records.documents(self.workspace.id):
            path = path_from_stored(document.path)
            if path.is_file():
                files.append(path)
            elif lost or document.id in stale or document.status != "indexed":
                reason = (f"its passages were lost and the file is no longer at {document.path}: "
                          "add it again from where it is now")  # fmt: skip
                self.records.mark_failed(document.id, reason)
                yield self._record(FileResult(document.path, "failed", document.title,
                                              reason=reason))  # fmt: skip
        return files

    def _not_indexed(self, paths: Sequence[Path], reason: str) -> Iterator[FileResult]:
        """Files left out: failed when the embedder failed, else cancelled."""
        status = "failed" if self._stopped or not self.cancel.cancelled else "cancelled"
        for path in paths:
            name = clean_text(path.name)
            yield self._record(FileResult(stored_path(path), status, name, reason=reason))

    def _release_memory(self) -> None:
        self.embedder.release_memory()
        release_free_memory()

    def _record(self, result: FileResult) -> FileResult:
        self.results.append(result)
        return result

    # -- steps --------------------------------------------------------------------------------

    def _recover_interrupted(self) -> list[Path]:
        """Passages of documents a killed process left half-written are removed; their files
        are ingested again if they still exist."""
        # Only the workspace's writer gets here (the lock), so no live process is still
        # writing these: they are what a killed one left.
        interrupted = self.records.interrupted(self.workspace.id)
        if not interrupted:
            return []
        with index_errors(self.workspace, self.vectors):
            self.vectors.delete_documents(self.table, [d.id for d in interrupted])
        self.records.delete_documents([d.id for d in interrupted])
        paths = [path_from_stored(d.path) for d in interrupted]
        return [p for p in paths if p.exists()]

    def _commit(self, window: list[Prepared], files_done: int, files_total: int) -> Iterator[Event]:
        texts = [c.embed_text for p in window for c in p.chunks]
        started = time.perf_counter()
        try:
            vectors = yield from embed_texts(
                self.library,
                self.workspace,
                self.workspace.embedding_model,
                texts,
                self.cancel,
                lambda done: self.progress.event(
                    "embed", files_done, files_total, "Embedding passages", done
                ),
                self.chunker.counter,
            )
        except ProviderError as exc:  # nothing of this window is written; later files wait
            self._stopped = f"not indexed: the embedding provider failed ({exc})"
            yield from self._not_indexed([p.path for p in window], self._stopped)
            return
        self.timings["embed"] += time.perf_counter() - started
        if vectors is None:  # cancelled: nothing of this window is written
            for prepared in window:
                yield self._record(
                    FileResult(
                        stored_path(prepared.path),
                        "cancelled",
                        prepared.title,
                        reason="cancelled while embedding",
                    )
                )
            return
        started = time.perf_counter()
        rows: list[PassageRow] = []
        doc_ids: list[int] = []
        offset = 0
        for prepared in window:
            doc_id = self._begin(prepared)
            doc_ids.append(doc_id)
            rows += _rows(
                doc_id, 0, prepared.chunks, vectors[offset : offset + len(prepared.chunks)]
            )
            offset += len(prepared.chunks)
        # One write per window, not per file: every add is a LanceDB fragment and version.
        with index_errors(self.workspace, self.vectors):
            self.vectors.add(self.table, rows)
            for prepared, doc_id in zip(window, doc_ids, strict=True):
                self._finish(prepared, doc_id, len(prepared.chunks))
        self.timings["write"] += time.perf_counter() - started
        for prepared in window:
            self.progress.passages_done += len(prepared.chunks)
            yield self._record(
                FileResult(
                    stored_path(prepared.path), "indexed", prepared.title, len(prepared.chunks)
                )
            )

    def _begin(self, prepared: Prepared) -> int:
        """The document's row, 'indexing' until ``_finish``. A shared workspace keys a
        document by its content, so a version being re-indexed has the new one's id: its
        passages go now, as they could not be told from the new ones after (a crash before
        the new are in leaves the row 'indexing': the next ingest reads the file again)."""
        doc_id = self.records.begin_document(
            self.workspace.id,
            document_id=self.library.shared.key(self.workspace, prepared.content_hash),
            content_hash=prepared.content_hash,
            path=stored_path(prepared.path),
            title=prepared.title,
            kind=prepared.kind,
            size=prepared.size,
            pages=prepared.pages,
        )
        if any(d.id == doc_id for d in prepared.replaces):
            with index_errors(self.workspace, self.vectors):
                self.vectors.delete_documents(self.table, [doc_id])
        return doc_id

    def _finish(self, prepared: Prepared, doc_id: int, chunks: int) -> None:
        """The document is complete: its older versions go, it is marked indexed (and, in a
        shared workspace, listed for every home first)."""
        shared = self.library.shared
        if replaced := [d for d in prepared.replaces if d.id != doc_id]:  # see _begin
            old = [d.id for d in replaced]
            shared.forget(self.workspace, replaced)
            self.vectors.delete_documents(self.table, old)
            self.records.delete_documents(old)
        if shared.is_shared(self.workspace):  # its row read only where it is published
            document = self.records.document(doc_id)
            assert document is not None  # begun by this writer
            shared.publish(self.workspace, document, chunks)
        self.records.finish_document(doc_id, chunks)

    def _commit_streamed(self, prepared: Prepared, files_done: int, files_total: int
                         ) -> Iterator[Event]:  # fmt: skip
        """A huge document chunked, embedded and written SLICE_CHUNKS passages at a time. It is
        'indexing' (invisible to search) until its last slice is in; a cancel or a failing
        provider removes what was written, as crash recovery would."""
        assert prepared.streamed is not None
        doc_id = self._begin(prepared)
        written, outcome = 0, "indexed"
        pieces = _batched(self.chunker.iter_chunks(prepared.streamed), SLICE_CHUNKS)
        while True:
            started = time.perf_counter()
            piece = next(pieces, None)  # chunked as it is needed
            self.timings["chunk"] += time.perf_counter() - started
            if piece is None:
                break
            self.library.priority.wait_for_foreground(self.cancel)  # an answer has the cores
            if self.cancel.cancelled:
                outcome = "cancelled"
                break
            self.progress.chunked(len(piece))
            label = f"Embedding passages of {prepared.title}"
            started = time.perf_counter()
            try:
                vectors = yield from embed_texts(
                    self.library, self.workspace, self.workspace.embedding_model,
                    [c.embed_text for c in piece], self.cancel,
                    lambda done, label=label: self.progress.event("embed", files_done,
                                                                  files_total, label, done),
                    self.chunker.counter,
                )  # fmt: skip
            except ProviderError as exc:
                self._stopped = f"not indexed: the embedding provider failed ({exc})"
                outcome, vectors = "failed", None
            self.timings["embed"] += time.perf_counter() - started
            if vectors is None:
                outcome = "failed" if outcome == "failed" else "cancelled"
                break
            started = time.perf_counter()
            with index_errors(self.workspace, self.vectors):
                self.vectors.add(self.table, _rows(doc_id, written, piece, vectors))
            self.timings["write"] += time.perf_counter() - started
            written += len(piece)
            self.progress.passages_done += len(piece)
            written_text = f"{written:,} passages of {prepared.title} written"
            yield self.progress.event("write", files_done, files_total, written_text)
        prepared.streamed = None  # its text can go
        self.progress.chunked(0, _size(prepared.path))
        if outcome != "indexed":
            with index_errors(self.workspace, self.vectors):
                self.vectors.delete_documents(self.table, [doc_id])
            self.records.delete_documents([doc_id])
            reason = self._stopped or "cancelled while embedding"
            yield self._record(FileResult(stored_path(prepared.path), outcome, prepared.title,
                                          reason=reason))  # fmt: skip
            return
        with index_errors(self.workspace, self.vectors):
            self._finish(prepared, doc_id, written)
        yield self._record(
            FileResult(stored_path(prepared.path), "indexed", prepared.title, written)
        )


def _rows(doc_id: int, first: int, chunks: Sequence[Chunk], vectors: Sequence[Any]
          ) -> list[PassageRow]:  # fmt: skip
    """The stored passages of ``chunks`` (numbered from ``first``) with their vectors."""
    return [
        PassageRow(doc_id, first + i, c.text, c.context, c.section, c.page, c.sheet, c.tokens,
                   vector)
        for i, (c, vector) in enumerate(zip(chunks, vectors, strict=True))
    ]  # fmt: skip


def _batched(chunks: Iterator[Chunk], size: int) -> Iterator[list[Chunk]]:
    """Lists of ``size`` chunks (itertools.batched is Python 3.12)."""
    piece: list[Chunk] = []
    for chunk in chunks:
        piece.append(chunk)
        if len(piece) == size:
            yield piece
            piece = []
    if piece:
        yield piece


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
