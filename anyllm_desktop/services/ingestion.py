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

import hashlib
import os
import stat
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Event, FileResult, Progress
from anyllm_desktop.core.filenames import clean_text, path_from_stored, stored_path
from anyllm_desktop.core.memory import release_free_memory
from anyllm_desktop.core.workspace import Chunk, Document, Workspace
from anyllm_desktop.ingest.blocks import ParsedDocument, ParseError
from anyllm_desktop.ingest.chunking import Chunker
from anyllm_desktop.ingest.formats import MAX_FILE_BYTES, MAX_PDF_BYTES, discover, parse_file
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.services.embedding import embed_texts, free_bulk_session
from anyllm_desktop.services.index_health import IndexHealth, index_errors
from anyllm_desktop.services.integrity import back_up
from anyllm_desktop.store.vectors import PassageRow

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library

#: Files are embedded together until their passages reach this many.
WINDOW_CHUNKS = 256
#: After parsing a file this large, freed heap goes back to the OS at once.
BIG_FILE_BYTES = 1 << 20


@dataclass
class _Prepared:
    path: Path
    content_hash: str
    size: int
    title: str
    kind: str
    pages: int | None
    chunks: list[Chunk]
    #: Older versions of this file (same path, other content) to replace once this one is in.
    replaces: list[Document] = field(default_factory=list)


class NotARegularFileError(OSError):
    """A pipe, device, socket or folder where a file was expected."""


def file_hash(path: Path, limit: int | None = None) -> str:
    """The SHA-256 of a regular file's bytes, at most ``limit`` of them read. Opened without
    blocking and checked after opening: a FIFO or a link to /dev/zero hung ingestion forever."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotARegularFileError(f"{path} is not a regular file")
        digest = hashlib.sha256()
        left = limit if limit is not None else -1
        while left and (block := handle.read(1 << 20 if left < 0 else min(1 << 20, left))):
            digest.update(block)
            left -= len(block) if left > 0 else 0
    return digest.hexdigest()


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
        self._started = time.perf_counter()
        self._bytes_total = 0
        self._bytes_done = 0
        self._chunks_done = 0
        #: Content hashes read in this run, waiting in a window or written: path by hash.
        self._seen: dict[str, Path] = {}
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
            back_up(self.library.runtime.paths)  # the copy that `library restore` puts back
        yield Done(list(self.results))

    def _discover(self) -> list[Path]:
        return list(dict.fromkeys(p.resolve() for p in discover(self.paths)))

    def _run(self) -> Iterator[Event]:
        model = self.workspace.embedding_model
        retrieval = self.workspace.retrieval
        health = IndexHealth.of(self.library, self.workspace)
        if health.damage and self.reindex:  # rebuilt from the files
            self.library.vectors.drop_table(self.workspace.vector_table)
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
        requeued = self._recover_interrupted()
        if self.reindex and not self.paths:
            requeued += yield from self._whole_workspace(health)
        files = list(dict.fromkeys([*requeued, *self._discover()]))
        sizes = {f: _size(f) for f in files}
        self._bytes_total = sum(sizes.values())
        window: list[_Prepared] = []
        for number, path in enumerate(files):
            self.library.priority.wait_for_foreground(self.cancel)  # an answer has the cores
            if self.cancel.cancelled or self._stopped:
                break
            yield self._progress("read", number, len(files), f"Reading {path.name}")
            prepared = self._prepare(path)
            self._bytes_done += sizes[path]
            if sizes[path] >= BIG_FILE_BYTES:
                release_free_memory()  # the parse's heap, before its passages are embedded
            if isinstance(prepared, FileResult):
                yield self._record(prepared)
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
            if self.library.vectors.vector_index_due(self.table):
                # Keeps the peak of a large ingest within ~1 GB; reloaded by the next search.
                self.embedder.unload()
            started = time.perf_counter()
            with index_errors(self.workspace, self.library.vectors.folder):
                self.library.vectors.finish_writes(self.table)
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

    def _progress(self, stage: str, done: int, total: int, message: str) -> Progress:
        elapsed = time.perf_counter() - self._started
        eta = None
        if self._bytes_done and self._bytes_total > self._bytes_done and elapsed > 1:
            eta = elapsed * (self._bytes_total - self._bytes_done) / self._bytes_done
        rate = self._chunks_done / elapsed if elapsed > 0 else 0.0
        text = f"{message} · {done}/{total} files · {self._chunks_done} passages ({rate:.0f}/s)"
        return Progress(stage, done, total, text, eta)

    # -- steps --------------------------------------------------------------------------------

    def _recover_interrupted(self) -> list[Path]:
        """Passages of documents a killed process left half-written are removed; their files
        are ingested again if they still exist."""
        # Only the workspace's writer gets here (the lock), so no live process is still
        # writing these: they are what a killed one left.
        interrupted = self.records.interrupted(self.workspace.id)
        if not interrupted:
            return []
        with index_errors(self.workspace, self.library.vectors.folder):
            self.library.vectors.delete_documents(self.table, [d.id for d in interrupted])
        self.records.delete_documents([d.id for d in interrupted])
        paths = [path_from_stored(d.path) for d in interrupted]
        return [p for p in paths if p.exists()]

    def _prepare(self, path: Path) -> _Prepared | FileResult:
        text = stored_path(path)
        name = clean_text(path.name)
        limit = MAX_PDF_BYTES if path.suffix.lower() == ".pdf" else MAX_FILE_BYTES
        try:
            size = path.stat().st_size
            # One byte past the limit is enough to know it is too large (parse_file says so).
            content_hash = file_hash(path, limit + 1)
        except FileNotFoundError:
            return FileResult(
                text, "failed", name, reason="the file no longer exists (moved or deleted)"
            )
        except NotARegularFileError:
            return FileResult(
                text, "failed", name, reason="not a regular file (a pipe, device or socket)"
            )
        except OSError as exc:
            return FileResult(text, "failed", name, reason=f"cannot be read ({exc.strerror})")
        if content_hash in self._seen:
            return FileResult(
                text,
                "duplicate",
                name,
                reason=f"already indexed (same content as {stored_path(self._seen[content_hash])})",
            )
        existing = self.records.find_by_hash(self.workspace.id, content_hash)
        usable = existing is not None and existing.id not in self._stale
        if existing is not None and existing.status == "indexed" and usable and not self.reindex:
            same = "" if existing.path == text else f" as {existing.path}"
            return FileResult(
                text,
                "duplicate",
                existing.title,
                existing.chunks,
                reason=f"already indexed (same content{same})",
            )
        parsed = self._parse(path, content_hash, limit)
        if isinstance(parsed, str):
            self.records.record_failure(
                self.workspace.id,
                content_hash=content_hash,
                path=text,
                kind=path.suffix.lower().lstrip("."),
                size=size,
                error=parsed,
            )
            return FileResult(text, "failed", name, reason=parsed)
        content_hash, document, chunks = parsed
        self._seen[content_hash] = path
        replaces = [
            d
            for d in self.records.find_by_path(self.workspace.id, text)
            if d.content_hash != content_hash
        ]
        if existing is not None and existing.content_hash == content_hash:
            replaces.append(existing)  # re-indexed: its old passages go once the new are in
        return _Prepared(
            path,
            content_hash,
            size,
            clean_text(document.title),
            document.kind,
            document.pages,
            chunks,
            replaces,
        )

    def _parse(
        self, path: Path, content_hash: str, limit: int
    ) -> tuple[str, ParsedDocument, list[Chunk]] | str:
        """The file's text in passages, with the hash of the bytes that were parsed; or why
        not. A file that changes while it is read (a download, an editor saving) is read once
        more: stored with its new hash and its old text it was a "duplicate" forever."""
        for _attempt in range(2):
            try:
                started = time.perf_counter()
                document = parse_file(path)
                parsed = time.perf_counter()
                chunks = self.chunker.chunk(document)
                self.timings["parse"] += parsed - started
                self.timings["chunk"] += time.perf_counter() - parsed
                after = file_hash(path, limit + 1)
            except ParseError as exc:
                return str(exc)
            except OSError as exc:
                return f"cannot be read ({exc.strerror or exc})"
            if after == content_hash:
                return content_hash, document, chunks
            content_hash = after
        return "the file kept changing while it was read; add it again once it is saved"

    def _commit(
        self, window: list[_Prepared], files_done: int, files_total: int
    ) -> Iterator[Event]:
        texts = [c.embed_text for p in window for c in p.chunks]
        started = time.perf_counter()
        try:
            vectors = yield from embed_texts(
                self.library,
                self.workspace,
                self.workspace.embedding_model,
                texts,
                self.cancel,
                lambda done: self._progress(
                    "embed", files_done, files_total, f"Embedding {done}/{len(texts)} passages"
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
            doc_id = self.records.begin_document(
                self.workspace.id,
                content_hash=prepared.content_hash,
                path=stored_path(prepared.path),
                title=prepared.title,
                kind=prepared.kind,
                size=prepared.size,
                pages=prepared.pages,
            )
            doc_ids.append(doc_id)
            rows += [
                PassageRow(
                    doc_id,
                    i,
                    c.text,
                    c.context,
                    c.section,
                    c.page,
                    c.sheet,
                    c.tokens,
                    vectors[offset + i],
                )
                for i, c in enumerate(prepared.chunks)
            ]
            offset += len(prepared.chunks)
        # One write per window, not per file: every add is a LanceDB fragment and version.
        with index_errors(self.workspace, self.library.vectors.folder):
            self.library.vectors.add(self.table, rows)
            for prepared, doc_id in zip(window, doc_ids, strict=True):
                if prepared.replaces:
                    old = [d.id for d in prepared.replaces]
                    self.library.vectors.delete_documents(self.table, old)
                    self.records.delete_documents(old)
                self.records.finish_document(doc_id, len(prepared.chunks))
        self.timings["write"] += time.perf_counter() - started
        for prepared in window:
            self._chunks_done += len(prepared.chunks)
            yield self._record(
                FileResult(
                    stored_path(prepared.path), "indexed", prepared.title, len(prepared.chunks)
                )
            )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
