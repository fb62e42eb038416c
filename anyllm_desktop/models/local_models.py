"""Chat models on this computer: the embedded one and GGUF files imported or downloaded into the
models folder. Metadata comes from the GGUF header (read here, without loading the model);
imports and downloads are generators of Progress events with cancel."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.models.embedded import embedded_models

_BLOCK = 8 * 2**20


@dataclass(frozen=True)
class LocalModel:
    #: What Settings.chat_model holds: a catalog id, or the path of an imported file.
    id: str
    name: str
    path: Path
    size: int
    quantization: str
    context_length: int | None
    embedded: bool
    license: str = ""


@dataclass(frozen=True)
class CuratedModel:
    name: str
    url: str
    size_mb: int
    license: str


#: Good small instruction models as single GGUF files (sizes as published).
CURATED = (
    CuratedModel(
        "Qwen2.5 0.5B Instruct (Q4_K_M)",
        "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf",
        491,
        "Apache-2.0",
    ),
    CuratedModel(
        "Llama 3.2 1B Instruct (Q4_K_M)",
        "https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        808,
        "Llama 3.2 Community License",
    ),
    CuratedModel(
        "SmolLM2 1.7B Instruct (Q4_K_M)",
        "https://huggingface.co/HuggingFaceTB/SmolLM2-1.7B-Instruct-GGUF/resolve/main/smollm2-1.7b-instruct-q4_k_m.gguf",
        1056,
        "Apache-2.0",
    ),
    CuratedModel(
        "Qwen2.5 3B Instruct (Q4_K_M)",
        "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct-GGUF/resolve/main/qwen2.5-3b-instruct-q4_k_m.gguf",
        2104,
        "Qwen Research License",
    ),
    CuratedModel(
        "Phi-3.5 mini Instruct (Q4_K_M)",
        "https://huggingface.co/bartowski/Phi-3.5-mini-instruct-GGUF/resolve/main/Phi-3.5-mini-instruct-Q4_K_M.gguf",
        2393,
        "MIT",
    ),
)

# -- GGUF metadata ----------------------------------------------------------------------------

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9
#: llama.cpp's general.file_type numbers for the common quantizations.
_FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
               10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
               16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16"}  # fmt: skip


class GGUFError(ValueError):
    """Not a GGUF file, or a damaged one."""


def _read(handle: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) != size:
        raise GGUFError("the file ends inside its header")
    return struct.unpack(fmt, data)[0]


def _string(handle: BinaryIO) -> str:
    length = _read(handle, "<Q")
    if length > 1 << 24:
        raise GGUFError("a header string is implausibly long")
    return str(handle.read(length).decode("utf-8", "replace"))


def _value(handle: BinaryIO, kind: int, keep: bool) -> Any:
    if kind in _SCALARS:
        return _read(handle, _SCALARS[kind])
    if kind == _STRING:
        return _string(handle)
    if kind == _ARRAY:
        item_kind, count = _read(handle, "<I"), _read(handle, "<Q")
        if item_kind in _SCALARS and not keep:  # skip big arrays (the vocabulary) cheaply
            handle.seek(struct.calcsize(_SCALARS[item_kind]) * count, os.SEEK_CUR)
            return None
        values = [_value(handle, item_kind, keep) for _ in range(count)]
        return values if keep else None
    raise GGUFError(f"unknown metadata type {kind}")


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """The GGUF header's key/value pairs, large arrays (vocabulary, merges) left out."""
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GGUFError(f"{path.name} is not a GGUF file")
        version = _read(handle, "<I")
        if version < 2:
            raise GGUFError(f"{path.name} uses GGUF version {version}, too old for llama.cpp")
        _read(handle, "<Q")  # tensor count
        pairs = _read(handle, "<Q")
        metadata: dict[str, Any] = {}
        for _ in range(pairs):
            key = _string(handle)
            kind = _read(handle, "<I")
            value = _value(handle, kind, keep=not key.startswith("tokenizer.ggml."))
            if value is not None:
                metadata[key] = value
        return metadata


def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The ggml shape of every tensor named in a GGUF's header (what llama.cpp checks an
    adapter's pairs against), without reading the tensors."""
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GGUFError(f"{path.name} is not a GGUF file")
        _read(handle, "<I")  # version
        count, pairs = _read(handle, "<Q"), _read(handle, "<Q")
        for _ in range(pairs):
            _string(handle)
            _value(handle, _read(handle, "<I"), keep=False)
        shapes = {}
        for _ in range(count):
            name = _string(handle)
            shapes[name] = tuple(_read(handle, "<Q") for _ in range(_read(handle, "<I")))
            _read(handle, "<I"), _read(handle, "<Q")  # type, offset
        return shapes


def describe(path: Path, *, model_id: str | None = None, name: str | None = None,
             embedded: bool = False, license: str = "") -> LocalModel:  # fmt: skip
    """A model file with its quantization and context length from its header."""
    quantization, context = "", None
    try:
        metadata = read_gguf_metadata(path)
        architecture = metadata.get("general.architecture", "")
        context = metadata.get(f"{architecture}.context_length")
        quantization = _FILE_TYPES.get(metadata.get("general.file_type", -1), "")
        name = name or metadata.get("general.name") or None
    except (OSError, GGUFError):
        pass
    if not quantization:
        found = re.search(r"(?i)(i?q\d_[a-z0-9_]+|q\d_\d|f16|bf16|f32)", path.name)
        quantization = found.group(1).upper() if found else "?"
    return LocalModel(
        id=model_id or str(path),
        name=name or path.stem,
        path=path,
        size=path.stat().st_size if path.exists() else 0,
        quantization=quantization,
        context_length=int(context) if isinstance(context, int) else None,
        embedded=embedded,
        license=license,
    )


def chat_models(models_dir: Path) -> list[LocalModel]:
    """The embedded chat model first, then every .gguf in the models folder."""
    found = []
    for spec in embedded_models():
        if spec.kind == "chat" and spec.primary_path is not None:
            model = describe(spec.primary_path, model_id=spec.id, name=spec.name,
                             embedded=True, license=spec.license)  # fmt: skip
            found.append(model)
    if models_dir.is_dir():
        found += [describe(p) for p in sorted(models_dir.glob("*.gguf")) if p.exists()]
    return found


def memory_hint(size: int, available: int) -> str:
    """Whether a model of ``size`` bytes fits the RAM that is free now."""
    needed = size * 1.1 + 256 * 2**20
    if needed <= available * 0.7:
        return "fits comfortably"
    if needed <= available:
        return "fits, tightly"
    return f"too large: needs ~{needed / 2**30:.1f} GB, {available / 2**30:.1f} GB free"


# -- import, delete, download -----------------------------------------------------------------


def import_gguf(
    source: Path, models_dir: Path, cancel: CancelToken, *, link: bool = False
) -> Iterator[Event]:
    """Copy (or link in place) a .gguf into the models folder; Done(LocalModel)."""
    try:
        read_gguf_metadata(source)
    except (OSError, GGUFError) as exc:
        yield Error(f"{source.name} cannot be imported: {exc}")
        return
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / source.name
    if target.exists() or target.is_symlink():
        yield Error(f"A model named {source.name} is already in the models folder.")
        return
    if link:
        target.symlink_to(source.resolve())
        yield Done(describe(target))
        return
    partial = target.with_name(target.name + ".part")
    total, done = source.stat().st_size, 0
    with source.open("rb") as reader, partial.open("wb") as writer:
        while block := reader.read(_BLOCK):
            if cancel.cancelled:
                writer.close()
                partial.unlink(missing_ok=True)
                yield Error(f"Importing {source.name} was cancelled.")
                return
            writer.write(block)
            done += len(block)
            yield Progress("import", done, total, f"Copying {source.name}")
    partial.replace(target)
    yield Done(describe(target))


def delete_model(model: LocalModel) -> None:
    if model.embedded:
        raise ValueError("The embedded model is part of the app and cannot be deleted.")
    model.path.unlink()


#: Statuses worth another try: the server is busy or restarting (as for the cloud providers).
_RETRY_STATUSES = {429, 500, 502, 503, 504}


class _Failed(Exception):
    """The download cannot go on now (the message says why, for people)."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


def download(
    url: str,
    models_dir: Path,
    cancel: CancelToken,
    *,
    sha256: str | None = None,
    offline: bool,
    timeout_s: float = 30.0,
    retries: int = 3,
    backoff_s: float = 1.0,
) -> Iterator[Event]:
    """Download a .gguf with progress; an interrupted download resumes from its .part file
    (HTTP Range), by itself after a dropped connection, a stalled or a busy server (``retries``
    times, waiting ``backoff_s`` doubled each time). With ``sha256`` the file is checked before
    it is kept; Done(LocalModel).

    httpx, like every other request the app makes: no proxy or certificate settings from the
    environment (``trust_env=False``), redirects followed (Hugging Face's links redirect)."""
    if offline:
        yield Error("Offline mode is on: downloads are disabled (Settings → Privacy).")
        return
    name = Path(unquote(url.split("?", 1)[0].rsplit("/", 1)[-1]))
    if name.suffix.lower() != ".gguf":
        yield Error("The link must point at a .gguf file.")
        return
    import httpx

    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / name.name
    partial = target.with_name(target.name + ".part")
    host = urlsplit(url).hostname or url
    timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
    had, complete = _size(partial), False
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=True) as client:
        for attempt in range(retries + 1):
            try:
                complete = yield from _receive(client, url, partial, host, name.name, timeout_s,
                                               cancel)  # fmt: skip
                break
            except _Failed as exc:
                if exc.retry and attempt < retries and not cancel.wait(backoff_s * 2**attempt):
                    continue
                if cancel.cancelled:
                    break
                if _size(partial) > had:
                    yield Error(f"The download of {name} stopped: {exc}; it resumes from "
                                f"{_size(partial)} bytes.")  # fmt: skip
                else:
                    yield Error(f"The download could not start: {exc}.")
                return
    if not complete:
        yield Error(f"Download of {name} cancelled; it resumes from {_size(partial)} bytes.")
        return
    if sha256:
        digest = hashlib.sha256()
        with partial.open("rb") as reader:
            while block := reader.read(_BLOCK):
                digest.update(block)
        if digest.hexdigest() != sha256.lower():
            partial.unlink()
            yield Error(f"{name} failed its sha256 check and was deleted; download it again.")
            return
    shutil.move(partial, target)
    yield Done(describe(target))


def _receive(
    client: Any, url: str, partial: Path, host: str, name: str, timeout_s: float,
    cancel: CancelToken,
) -> Generator[Progress, None, bool]:  # fmt: skip
    """One request, appended to ``partial`` from where it ends (Range): whether the file is
    complete (False: cancelled). Raises :class:`_Failed` with the reason, and whether another
    try may help."""
    import httpx

    start = _size(partial)
    try:
        with client.stream("GET", url, headers={"Range": f"bytes={start}-"} if start else {}) as r:
            if r.status_code == 416 and start:
                if r.headers.get("Content-Range", "").endswith(f"/{start}"):
                    return True  # the .part is the whole file (stopped before it was kept)
                partial.unlink()  # longer than the file now offered: start again
                raise _Failed(f"{host} offers a shorter file than before", retry=True)
            if r.status_code >= 400:
                raise _Failed(_refusal(host, r.status_code), retry=r.status_code in _RETRY_STATUSES)
            resumed = bool(start) and r.status_code == 206
            done = start if resumed else 0
            length = int(r.headers.get("Content-Length") or 0)
            total = done + length if length else 0
            with partial.open("ab" if resumed else "wb") as writer:
                for block in r.iter_bytes(1 << 20):
                    if cancel.cancelled:
                        return False
                    writer.write(block)
                    done += len(block)
                    yield Progress("download", done, total, f"Downloading {name}")
        return True
    except httpx.ConnectError as exc:
        raise _Failed(f"cannot reach {host}: no network connection, or the server is down",
                      retry=False) from exc  # fmt: skip
    except httpx.TimeoutException as exc:
        raise _Failed(f"{host} did not answer within {timeout_s:g} s", retry=True) from exc
    except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
        raise _Failed(f"the connection to {host} broke off ({exc})", retry=True) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _Failed(f"the link does not work ({exc})", retry=False) from exc


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _refusal(host: str, status: int) -> str:
    """An HTTP error status as the reason a download does not go on."""
    if status in (401, 403):
        return f"{host} refused access (HTTP {status}); the file may need an account or a token"
    if status == 404:
        return f"{host} has no file at this link (HTTP 404)"
    if status == 429:
        return f"{host} is rate-limiting downloads (HTTP 429); wait a moment and try again"
    if status >= 500:
        return f"{host} had a server error (HTTP {status}); try again later"
    return f"{host} refused the download (HTTP {status})"
