"""Versioned, validated user settings stored as JSON in the home folder.

A settings file that cannot be read never stops the app: it is copied aside, defaults are used,
and the caller gets a message to show the user. Values that fail validation fall back to their
defaults one by one, so a single bad value does not cost the user every other preference.
"""

from __future__ import annotations

import json
import os
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
    "providers": lambda v: (
        isinstance(v, list)
        and all(
            isinstance(p, dict)
            and {"name", "kind", "base_url", "model"} <= set(p)
            and all(isinstance(x, str) for x in p.values())
            for p in v
        )
    ),
    "theme": lambda v: v in THEMES,
    "font_size": lambda v: _is_int(v) and 6 <= v <= 48,
    "window_geometry": lambda v: isinstance(v, str),
    "extra": lambda v: isinstance(v, dict),
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
            backup = self._back_up()
            message = (
                f"The settings file {self.path} could not be read ({exc}); it was saved as "
                f"{backup.name} and default settings are in use."
            )
            return LoadResult(Settings(), [message], backup)
        return self._from_dict(raw)

    def save(self, settings: Settings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
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
            else:
                warnings.append(
                    f"Setting {name!r} had an invalid value {value!r}; using the "
                    f"default {getattr(defaults, name)!r}."
                )
        unknown = {k: v for k, v in raw.items() if k not in known and k != "version"}
        if unknown:
            values["extra"] = {**values.get("extra", {}), **unknown}
        return LoadResult(replace(defaults, **values), warnings)
