"""Versioned, validated user settings stored as JSON in the home folder.

A settings file that cannot be read never stops the app: it is moved aside, every setting that
is still intact in it is recovered (a file cut short keeps what came before the cut) and saved,
and the caller gets a message to show the user, naming the copy and how to restore it. Values
that fail validation fall back to their defaults one by one, and one bad provider entry drops
only that entry, so a single mistake does not cost the user every other preference. Saving never
replaces a file that cannot be read without first moving it aside.
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

SETTINGS_VERSION = 1

THEMES = ("system", "light", "dark")


@dataclass(frozen=True)
class Settings:
    """Application-wide preferences. Workspace-specific settings live with each workspace."""

    version: int = SETTINGS_VERSION
    #: Offline mode: no cloud provider and no download can run while it is on.
    offline_mode: bool = True
    #: Which provider answers by default ("local" is the bundled llama.cpp engine).
    default_provider: str = "local"
    #: Catalog id of the chat model the local provider loads.
    chat_model: str = "embedded:smollm2-135m-instruct-q4_1"
    #: Catalog id of the embedding model new workspaces use.
    embedding_model: str = "embedded:all-minilm-l6-v2-int8"
    #: Context window of the local model, in tokens (SmolLM2 was trained on 8,192).
    context_size: int = 8192
    #: llama.cpp threads; 0 means "choose from the cores available".
    threads: int = 0
    #: Layers offloaded to a GPU (needs a GPU build of llama.cpp); -1 means all.
    gpu_layers: int = 0
    flash_attention: bool = False
    #: A LoRA adapter (.gguf) applied to the local model; empty for none.
    lora_path: str = ""
    #: Cloud providers the user added: {"name", "kind", "base_url", "model"} each (keys live in
    #: the keyring, never here).
    providers: list[dict[str, str]] = field(default_factory=list)
    #: The local OpenAI-compatible API server (`anyllm serve`, Settings → API server): whether
    #: the app starts it, and where it listens (loopback unless the user chooses otherwise).
    api_server_enabled: bool = False
    api_server_host: str = "127.0.0.1"
    api_server_port: int = 8765
    theme: str = "system"
    font_size: int = 11
    window_geometry: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_VALIDATORS: dict[str, Any] = {
    "offline_mode": lambda v: isinstance(v, bool),
    "default_provider": lambda v: isinstance(v, str) and bool(v.strip()),
    "chat_model": lambda v: isinstance(v, str) and bool(v.strip()),
    "embedding_model": lambda v: isinstance(v, str) and bool(v.strip()),
    "context_size": lambda v: _is_int(v) and 256 <= v <= 1_048_576,
    "threads": lambda v: _is_int(v) and 0 <= v <= 512,
    "gpu_layers": lambda v: _is_int(v) and -1 <= v <= 10_000,
    "flash_attention": lambda v: isinstance(v, bool),
    "lora_path": lambda v: isinstance(v, str),
    "providers": lambda v: isinstance(v, list),  # and each entry: _check_providers
    "api_server_enabled": lambda v: isinstance(v, bool),
    "api_server_host": lambda v: isinstance(v, str) and bool(v.strip()),
    "api_server_port": lambda v: _is_int(v) and 1 <= v <= 65_535,
    "theme": lambda v: v in THEMES,
    "font_size": lambda v: _is_int(v) and 6 <= v <= 48,
    "window_geometry": lambda v: isinstance(v, str),
    "extra": lambda v: isinstance(v, dict),
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: The keys every provider entry needs; all of an entry's values are text.
PROVIDER_KEYS = ("name", "kind", "base_url", "model")


def _check_providers(entries: list[Any], source: Path) -> tuple[list[dict[str, str]], list[str]]:
    """The valid provider entries, and a message for each one left out."""
    kept: list[dict[str, str]] = []
    warnings: list[str] = []
    again = "Add it again in Settings → Providers or with `anyllm providers add`."
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            warnings.append(f"Provider entry {number} in {source} is not an object "
                            f"({entry!r}); it was left out.")  # fmt: skip
            continue
        label = f"Provider entry {number} ({entry.get('name')!r}) in {source}"
        missing = [key for key in PROVIDER_KEYS if key not in entry]
        not_text = [key for key, value in entry.items() if not isinstance(value, str)]
        if missing or not_text:
            problem = (f"has no {', '.join(map(repr, missing))}" if missing
                       else f"has a {', '.join(map(repr, not_text))} that is not text")  # fmt: skip
            warnings.append(f"{label} {problem}; it was left out. {again}")
        elif entry["name"] in {p["name"] for p in kept}:
            warnings.append(f"Provider {entry['name']!r} appears twice in {source}; the entry "
                            f"number {number} was left out.")  # fmt: skip
        else:
            kept.append(entry)
    return kept, warnings


_DECODER = json.JSONDecoder()


def _skip(text: str, at: int) -> int:
    """The index of the first character at or after ``at`` that is not JSON whitespace."""
    while at < len(text) and text[at] in " \t\n\r":
        at += 1
    return at


def _intact(text: str, at: int) -> tuple[Any, int, bool]:
    """The JSON value at ``text[at:]`` as far as it is intact: (value, end, complete). An object
    or array that breaks off keeps its members before the break; a broken scalar is None."""
    at = _skip(text, at)
    if not text.startswith(("{", "["), at):
        try:
            value, end = _DECODER.raw_decode(text, at)
        except ValueError:
            return None, at, False
        return value, end, True
    is_object = text[at] == "{"
    close = "}" if is_object else "]"
    members: Any = {} if is_object else []
    at = _skip(text, at + 1)
    if text.startswith(close, at):
        return members, at + 1, True
    while True:
        key = None
        if is_object:
            at = _skip(text, at)
            try:
                key, at = _DECODER.raw_decode(text, at)
            except ValueError:
                return members, at, False
            at = _skip(text, at)
            if not isinstance(key, str) or not text.startswith(":", at):
                return members, at, False
            at += 1
        value, at, complete = _intact(text, at)
        at = _skip(text, at)
        ended = text.startswith((",", close), at)
        # A scalar counts only when a separator follows it ("threads": 1 may be 12 cut short);
        # a container keeps what it holds.
        if (complete and ended) or isinstance(value, (dict, list)):
            if is_object:
                members[key] = value
            else:
                members.append(value)
        if not (complete and ended):
            return members, at, False
        if text.startswith(close, at):
            return members, at + 1, True
        at += 1


def salvage(text: str) -> dict[str, Any]:
    """Every top-level setting of a damaged settings file that is still intact."""
    start = text.find("{")
    recovered = _intact(text, start)[0] if start >= 0 else None
    return recovered if isinstance(recovered, dict) else {}


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    #: Messages for the user: what was wrong and what was done about it.
    warnings: list[str]
    #: Where an unreadable settings file was copied before defaults were used.
    backup: Path | None = None


class SettingsStore:
    """Reads and writes one settings file; writes are atomic (temp file + rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> LoadResult:
        if not self.path.exists():
            return LoadResult(Settings(), [])
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("the top level is not a JSON object")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            return self._recover(exc)
        return self._from_dict(raw)

    def save(self, settings: Settings) -> Path | None:
        """Write atomically. A file there that cannot be read (damaged after it was loaded) is
        moved aside first, never overwritten; the copy's path is returned."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        backup = None
        if self.path.exists() and not self._readable():
            backup = self._back_up()
        data = json.dumps(asdict(settings), indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return backup

    def _readable(self) -> bool:
        try:
            return isinstance(json.loads(self.path.read_text(encoding="utf-8")), dict)
        except (OSError, UnicodeDecodeError, ValueError):
            return False

    def _recover(self, error: Exception) -> LoadResult:
        """The damaged file is moved aside; what is intact in it is kept and saved, so the next
        start (and the next save) begins from it instead of from defaults."""
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            text = ""
        try:
            backup = self._back_up()
        except OSError as exc:
            message = (f"The settings file {self.path} could not be read ({error}) nor moved "
                       f"aside ({exc.strerror}); default settings are in use and it is left "
                       "as it is. Repair or remove it.")  # fmt: skip
            return LoadResult(Settings(), [message])
        recovered = self._from_dict(salvage(text))
        names = sorted(k for k, v in asdict(recovered.settings).items()
                       if k != "version" and v != getattr(Settings(), k))  # fmt: skip
        kept = (
            f"these settings were recovered from it: {', '.join(names)}; the others are at "
            "their defaults"
            if names
            else "nothing could be recovered from it, so default settings are in use"
        )
        try:
            self.save(recovered.settings)
        except OSError as exc:
            kept += f" (they could not be saved: {exc.strerror})"
        message = (
            f"The settings file {self.path} could not be read ({error}). It was kept as "
            f"{backup.name} and {kept}. To go back to the old file, repair the copy and put it "
            f"back while anyllm-desktop is closed: cp {shlex.quote(str(backup))} "
            f"{shlex.quote(str(self.path))}"
        )
        return LoadResult(recovered.settings, [message, *recovered.warnings], backup)

    def _back_up(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = self.path.with_name(f"{self.path.stem}.corrupt-{stamp}{self.path.suffix}")
        counter = 1
        while backup.exists():
            backup = self.path.with_name(
                f"{self.path.stem}.corrupt-{stamp}-{counter}{self.path.suffix}"
            )
            counter += 1
        self.path.replace(backup)
        return backup

    def _from_dict(self, raw: dict[str, Any]) -> LoadResult:
        warnings: list[str] = []
        version = raw.get("version", SETTINGS_VERSION)
        if not _is_int(version) or version > SETTINGS_VERSION:
            warnings.append(
                f"The settings file {self.path} was written by a newer version "
                f"({version!r}); unknown settings are kept but ignored."
            )
        known = {f.name for f in fields(Settings)} - {"version"}
        values: dict[str, Any] = {}
        defaults = Settings()
        for name in sorted(known):
            if name not in raw:
                continue
            value = raw[name]
            if _VALIDATORS[name](value):
                values[name] = value
                if name == "providers":
                    values[name], left_out = _check_providers(value, self.path)
                    warnings.extend(left_out)
            else:
                warnings.append(
                    f"Setting {name!r} had an invalid value {value!r}; using the "
                    f"default {getattr(defaults, name)!r}."
                )
        unknown = {k: v for k, v in raw.items() if k not in known and k != "version"}
        if unknown:
            values["extra"] = {**values.get("extra", {}), **unknown}
        return LoadResult(replace(defaults, **values), warnings)
