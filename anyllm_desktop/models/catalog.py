"""What a model is made of, and checking those files before anything loads them.

A model is a set of files with known sizes and sha256 sums. Verification runs before the first
load; its result is remembered per file (path, size, mtime) so a verified 100 MB file is not hashed
again at every start.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ModelKind = Literal["chat", "embedding"]

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelFile:
    """One file of a model. ``path`` is ``None`` when whatever provides it is not installed."""

    path: Path | None
    size: int
    sha256: str
    #: Where the file comes from, shown to the user when it is missing or damaged.
    source: str
    #: The file's name inside the folder a loader is given (defaults to the path's name).
    name: str = ""

    @property
    def file_name(self) -> str:
        return self.name or (self.path.name if self.path else "")


@dataclass(frozen=True)
class ModelSpec:
    id: str
    name: str
    kind: ModelKind
    files: tuple[ModelFile, ...]
    license: str
    #: How to repair a missing or damaged file (a command the user can run).
    fix_hint: str
    #: Embedding dimension, for embedding models.
    dim: int | None = None
    #: The architecture a loader should assume (for fastembed: the model it describes).
    architecture: str = ""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def primary_path(self) -> Path | None:
        return self.files[0].path


class ModelFileError(Exception):
    """A model file is missing or damaged; the message names the file, the problem and the fix."""


@dataclass(frozen=True)
class FileCheck:
    file: ModelFile
    ok: bool
    problem: str = ""


class VerificationCache:
    """Remembers files whose sha256 matched, keyed by path, size and modification time."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, object]] = {}
        if path and path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    self._entries = loaded
            except (OSError, ValueError):
                self._entries = {}

    @staticmethod
    def _key(file: Path) -> tuple[str, dict[str, object]]:
        stat = file.stat()
        return str(file.resolve()), {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def is_verified(self, file: Path, sha256: str) -> bool:
        key, stamp = self._key(file)
        entry = self._entries.get(key)
        return entry == {**stamp, "sha256": sha256}

    def remember(self, file: Path, sha256: str) -> None:
        key, stamp = self._key(file)
        self._entries[key] = {**stamp, "sha256": sha256}
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._entries, indent=1), encoding="utf-8")
            tmp.replace(self.path)


def sha256_of(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def check_file(file: ModelFile, cache: VerificationCache | None = None) -> FileCheck:
    if file.path is None:
        return FileCheck(file, False, f"not installed (it comes from {file.source})")
    if not file.path.is_file():
        return FileCheck(file, False, f"missing: {file.path} does not exist")
    size = file.path.stat().st_size
    if size != file.size:
        return FileCheck(
            file, False, f"damaged: {file.path} is {size:,} bytes, expected {file.size:,}"
        )
    if cache and cache.is_verified(file.path, file.sha256):
        return FileCheck(file, True)
    actual = sha256_of(file.path)
    if actual != file.sha256:
        return FileCheck(
            file, False, f"damaged: the sha256 of {file.path} is {actual}, expected {file.sha256}"
        )
    if cache:
        cache.remember(file.path, file.sha256)
    return FileCheck(file, True)


def check_model(spec: ModelSpec, cache: VerificationCache | None = None) -> list[FileCheck]:
    return [check_file(f, cache) for f in spec.files]


def require_model(spec: ModelSpec, cache: VerificationCache | None = None) -> None:
    """Raise :class:`ModelFileError` naming every bad file and the fix, or return quietly."""
    problems = [c for c in check_model(spec, cache) if not c.ok]
    if problems:
        lines = [f"The {spec.kind} model {spec.name!r} cannot be loaded:"]
        lines += [f"  - {c.file.file_name}: {c.problem}" for c in problems]
        lines.append(f"To fix it: {spec.fix_hint}")
        raise ModelFileError("\n".join(lines))


def assemble_model_dir(spec: ModelSpec, target: Path) -> Path:
    """Gather a model's files into one folder (links where possible) for loaders that want one.

    fastembed loads an ONNX model from a folder holding the network and its tokenizer files; the
    embedded default keeps them in two places (a pip package and ``resources/``).
    """
    target.mkdir(parents=True, exist_ok=True)
    for file in spec.files:
        if file.path is None:
            raise ModelFileError(
                f"{file.file_name} of {spec.name!r} is not installed. To fix it: {spec.fix_hint}"
            )
        link = target / file.file_name
        if link.is_symlink() and link.resolve() == file.path.resolve():
            continue
        if link.exists() or link.is_symlink():
            if not link.is_symlink() and link.stat().st_size == file.size:
                continue
            link.unlink()
        try:
            link.symlink_to(file.path.resolve())
        except OSError:
            shutil.copy2(file.path, link)
    return target
