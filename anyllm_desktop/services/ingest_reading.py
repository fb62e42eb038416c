"""One file into an ingest: checked, hashed, parsed and chunked, or the reason it is not.

Only regular files are opened (a FIFO or a link to /dev/zero hung ingestion), reads are bounded,
the hash is of the bytes that were parsed (the file is read again when it changed meanwhile), and
a document too large to hold as passages is handed on to be chunked as a stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from anyllm_desktop.core.events import FileResult
from anyllm_desktop.core.filenames import clean_text, stored_path
from anyllm_desktop.core.workspace import Chunk, Document, Workspace
from anyllm_desktop.ingest.blocks import ParsedDocument, ParseError
from anyllm_desktop.ingest.chunking import Chunker
from anyllm_desktop.ingest.formats import parse_file, size_limit
from anyllm_desktop.ingest.reading import NotARegularFileError, file_hash
from anyllm_desktop.store.records import Records

#: Documents with more text than this (about 10,000 passages) are chunked, embedded and
#: written in slices as a stream: a 99 MB text is 114,000 passages, ~150 MB as a list, and its
#: vectors as many again.
STREAM_CHARACTERS = 2_000_000


@dataclass
class Prepared:
    path: Path
    content_hash: str
    size: int
    title: str
    kind: str
    pages: int | None
    chunks: list[Chunk]
    #: Older versions of this file (same path, other content) to replace once this one is in.
    replaces: list[Document] = field(default_factory=list)
    #: A document too large to hold as passages: chunked, embedded and written in slices.
    streamed: ParsedDocument | None = None


class FileReader:
    def __init__(
        self, records: Records, workspace: Workspace, chunker: Chunker, *, reindex: bool,
        stale: set[int], timings: dict[str, float],
    ) -> None:  # fmt: skip
        self.records = records
        self.workspace = workspace
        self.chunker = chunker
        #: Read again what is already indexed.
        self.reindex = reindex
        #: Documents recorded as indexed whose passages are missing from the table.
        self._stale = stale
        self.timings = timings
        #: Content hashes read in this run, waiting in a window or written: path by hash.
        self._seen: dict[str, Path] = {}

    def read(self, path: Path) -> Prepared | FileResult:
        text = stored_path(path)
        name = clean_text(path.name)
        limit = size_limit(path)
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
        streamed = document if chunks is None else None
        replaces = [
            d
            for d in self.records.find_by_path(self.workspace.id, text)
            if d.content_hash != content_hash
        ]
        if existing is not None and existing.content_hash == content_hash:
            replaces.append(existing)  # re-indexed: its old passages go once the new are in
        return Prepared(
            path,
            content_hash,
            size,
            clean_text(document.title),
            document.kind,
            document.pages,
            chunks or [],
            replaces,
            streamed,
        )

    def _parse(
        self, path: Path, content_hash: str, limit: int
    ) -> tuple[str, ParsedDocument, list[Chunk] | None] | str:
        """The file's text in passages (None: to be streamed), with the hash of the bytes
        that were parsed; or why not. A file that changes while it is read (a download, an
        editor saving) is read once more: stored with its new hash and its old text it was a
        "duplicate" forever."""
        for _attempt in range(2):
            try:
                started = time.perf_counter()
                document = parse_file(path)
                self.timings["parse"] += time.perf_counter() - started
                after = file_hash(path, limit + 1)
            except ParseError as exc:
                return str(exc)
            except OSError as exc:
                return f"cannot be read ({exc.strerror or exc})"
            if after != content_hash:
                content_hash = after
                continue
            if sum(len(b.text) for b in document.blocks) > STREAM_CHARACTERS:
                return content_hash, document, None
            started = time.perf_counter()
            try:
                chunks = self.chunker.chunk(document)
            except ParseError as exc:
                return str(exc)
            self.timings["chunk"] += time.perf_counter() - started
            return content_hash, document, chunks
        return "the file kept changing while it was read; add it again once it is saved"
