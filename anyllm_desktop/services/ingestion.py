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
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Event, FileResult, Progress
from anyllm_desktop.core.memory import release_free_memory
from anyllm_desktop.core.workspace import Chunk, Document, Workspace
from anyllm_desktop.ingest.blocks import ParseError
from anyllm_desktop.ingest.chunking import Chunker
from anyllm_desktop.ingest.formats import discover, parse_file
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.store.vectors import PassageRow

if TYPE_CHECKING:
    from anyllm_desktop.ingest.tokens import TokenCounter
    from anyllm_desktop.providers.base import Embedder
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


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def plan_batches(
    token_counts: Sequence[int],
    *,
    max_tokens: int,
    max_texts: int,
    quadratic_from: int | None = None,
) -> list[list[int]]:
    """Indices grouped into batches of similar length: sorted by length, each batch's
    (size x longest) within ``max_tokens`` (bounds memory and padding waste). With
    ``quadratic_from``, a text longer than that counts for more, in proportion to its length:
    attention memory grows with the square of the length."""
    order = sorted(range(len(token_counts)), key=lambda i: token_counts[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = max(token_counts[index], 1)
        if quadratic_from:
            longest = longest * max(longest, quadratic_from) / quadratic_from
        if (current and (len(current) + 1) * longest > max_tokens) or len(current) == max_texts:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class IngestJob:
    def __init__(
        self, library: Library, workspace: Workspace, paths: Sequence[Path], cancel: CancelToken
    ) -> None:
        self.library = library
        self.workspace = workspace
        self.records = library.records
        self.paths = [Path(p).expanduser() for p in paths]
        self.cancel = cancel
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
        model = self.workspace.embedding_model
        retrieval = self.workspace.retrieval
        try:
            self.embedder = self.library.embedder(model, self.workspace)
            self.table = self.library.table(self.workspace)
        except ProviderError as exc:  # a cloud embedder refused (offline, locked, no key)
            yield from self._not_indexed(discover(self.paths), str(exc))
            yield Done(list(self.results))
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
        files = list(dict.fromkeys([*requeued, *discover(self.paths)]))
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
            [p for p in files if str(p) not in handled],
            self._stopped or "cancelled before it was read",
        )
        if any(r.status == "indexed" for r in self.results):
            self._release_memory()  # index building needs memory of its own
            if self.library.vectors.vector_index_due(self.table):
                # Keeps the peak of a large ingest within ~1 GB; reloaded by the next search.
                self.embedder.unload()
            started = time.perf_counter()
            self.library.vectors.finish_writes(self.table)
            self.timings["write"] += time.perf_counter() - started
        free_bulk_session(self.embedder)
        yield Done(list(self.results))

    def _not_indexed(self, paths: Sequence[Path], reason: str) -> Iterator[FileResult]:
        """Files left out: failed when the embedder failed, else cancelled."""
        status = "failed" if self._stopped or not self.cancel.cancelled else "cancelled"
        for path in paths:
            yield self._record(FileResult(str(path), status, path.name, reason=reason))

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
        interrupted = self.records.interrupted(self.workspace.id)
        if not interrupted:
            return []
        self.library.vectors.delete_documents(self.table, [d.id for d in interrupted])
        self.records.delete_documents([d.id for d in interrupted])
        return [Path(d.path) for d in interrupted if Path(d.path).exists()]

    def _prepare(self, path: Path) -> _Prepared | FileResult:
        name = path.name
        try:
            content_hash = file_hash(path)
            size = path.stat().st_size
        except FileNotFoundError:
            return FileResult(
                str(path), "failed", name, reason="the file no longer exists (moved or deleted)"
            )
        except OSError as exc:
            return FileResult(str(path), "failed", name, reason=f"cannot be read ({exc})")
        if content_hash in self._seen:
            return FileResult(
                str(path),
                "duplicate",
                name,
                reason=f"already indexed (same content as {self._seen[content_hash]})",
            )
        existing = self.records.find_by_hash(self.workspace.id, content_hash)
        if existing is not None and existing.status == "indexed":
            same = "" if existing.path == str(path) else f" as {existing.path}"
            return FileResult(
                str(path),
                "duplicate",
                existing.title,
                existing.chunks,
                reason=f"already indexed (same content{same})",
            )
        try:
            started = time.perf_counter()
            document = parse_file(path)
            parsed = time.perf_counter()
            chunks = self.chunker.chunk(document)
            self.timings["parse"] += parsed - started
            self.timings["chunk"] += time.perf_counter() - parsed
        except ParseError as exc:
            self.records.record_failure(
                self.workspace.id,
                content_hash=content_hash,
                path=str(path),
                kind=path.suffix.lower().lstrip("."),
                size=size,
                error=str(exc),
            )
            return FileResult(str(path), "failed", name, reason=str(exc))
        self._seen[content_hash] = path
        replaces = [
            d
            for d in self.records.find_by_path(self.workspace.id, str(path))
            if d.content_hash != content_hash
        ]
        return _Prepared(
            path,
            content_hash,
            size,
            document.title,
            document.kind,
            document.pages,
            chunks,
            replaces,
        )

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
                        str(prepared.path),
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
                path=str(prepared.path),
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
                FileResult(str(prepared.path), "indexed", prepared.title, len(prepared.chunks))
            )


def free_bulk_session(embedder: Embedder) -> None:
    """Unload the embedder's session for ingestion, if it has one of its own."""
    bulk = embedder.for_bulk()
    if bulk is not embedder:
        bulk.unload()


def embed_texts(
    library: Library,
    workspace: Workspace,
    model: str,
    texts: list[str],
    cancel: CancelToken,
    progress: Callable[[int], Event],
    counter: TokenCounter | None = None,
) -> Generator[Event, None, list[Any] | None]:
    """Vectors for ``texts`` (for ``workspace``, by ``model``) from the embedding cache, or
    computed in length-sorted batches bounded by the embedder's limits, as many at once as the
    embedder takes. Yields ``progress(done)`` after each batch; returns the vectors in order,
    or None if cancelled. A cloud embedder's failure raises ProviderError."""
    embedder = library.embedder(model, workspace).for_bulk()
    # Vectors of redacted text are not those of the text: cached apart.
    redacted = workspace.chat.redact_personal_data and not embedder.local
    cache_key = model + ("+redacted" if redacted else "")
    cached = library.cache.get_many(cache_key, texts)
    vectors: list[Any] = list(cached)
    missing = [i for i, v in enumerate(cached) if v is None]
    if counter is not None:
        lengths = counter.count_many([texts[i] for i in missing]) if missing else []
    else:  # characters / 4 estimate tokens well enough to group and bound batches
        lengths = [len(texts[i]) // 4 + 2 for i in missing]
    done = len(texts) - len(missing)
    batches = plan_batches(
        lengths,
        max_tokens=embedder.batch_tokens,
        max_texts=embedder.batch_texts,
        quadratic_from=embedder.batch_quadratic_from,
    )
    in_flight: deque[tuple[list[int], list[str], Future[Any]]] = deque()

    def finish_one() -> bool:
        """Store the oldest batch's vectors; False if it failed because of a cancel."""
        nonlocal done
        indices, batch_texts, future = in_flight.popleft()
        try:
            computed = future.result()
        except ProviderError:
            if cancel.cancelled:
                return False
            raise
        library.cache.put_many(cache_key, batch_texts, computed)
        for index, vector in zip(indices, computed, strict=True):
            vectors[index] = vector
        done += len(indices)
        return True

    with ThreadPoolExecutor(embedder.concurrent_batches, thread_name_prefix="embed") as pool:
        for batch in batches:
            library.priority.wait_for_foreground(cancel)
            if cancel.cancelled:
                return None
            indices = [missing[i] for i in batch]
            batch_texts = [texts[i] for i in indices]
            future = pool.submit(embedder.embed, batch_texts, len(batch_texts), cancel)
            in_flight.append((indices, batch_texts, future))
            if len(in_flight) == embedder.concurrent_batches:
                if not finish_one():
                    return None
                yield progress(done)
        while in_flight:
            if not finish_one():
                return None
            yield progress(done)
    return vectors


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
