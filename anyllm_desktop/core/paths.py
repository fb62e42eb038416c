"""Where anyllm-desktop keeps its data: one home folder, chosen once and passed around.

Everything in it is private to the user: documents, passages, chats and settings are no one
else's business on a shared computer. The home and its folders are 0700 and its files 0600.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "anyllm-desktop"
HOME_ENV_VAR = "ANYLLM_HOME"

#: What the app itself keeps at the top of its home folder (besides its folders): only these
#: are tightened in a home the user chose, and a home holding nothing else is the app's own.
APP_FILES = (
    "settings.json", "library.sqlite3", "library.sqlite3-wal", "library.sqlite3-shm",
    "window.ini", "secrets.fernet", ".secrets.key", "prompts.json",
)  # fmt: skip
_APP_FILE_PATTERNS = ("settings.corrupt-*.json", ".settings-*.json")
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def private_umask() -> None:
    """From now on this process creates files 0600 and folders 0700 (a stricter umask stays).
    A umask is the one mechanism that also covers the files SQLite (-wal, -shm) and LanceDB
    create, which take no mode from the caller."""
    os.umask(os.umask(0o077) | 0o077)


def resolve_home(
    explicit: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The home folder: an explicit ``--home``, else ``$ANYLLM_HOME``, else the OS data folder."""
    env = os.environ if environ is None else environ
    if explicit:
        chosen = Path(explicit)
    elif env.get(HOME_ENV_VAR):
        chosen = Path(env[HOME_ENV_VAR])
    else:
        chosen = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return chosen.expanduser().resolve()


@dataclass(frozen=True)
class AppPaths:
    """Every path the app writes to, derived from the home folder."""

    home: Path

    @property
    def settings_file(self) -> Path:
        return self.home / "settings.json"

    @property
    def models_dir(self) -> Path:
        """Models the user imported or downloaded (embedded defaults stay where pip put them)."""
        return self.home / "models"

    @property
    def workspaces_dir(self) -> Path:
        return self.home / "workspaces"

    def workflow_cache(self, workspace_uid: str) -> Path:
        """A workspace's cached workflow step outputs (deleted with the workspace)."""
        return self.workspaces_dir / "workflows" / f"{workspace_uid}.sqlite3"

    @property
    def prompt_library(self) -> Path:
        """The saved prompt templates (core/prompt_library.py)."""
        return self.home / "prompts.json"

    @property
    def datasets_dir(self) -> Path:
        """Training sets, one folder each (services/datasets.py)."""
        return self.home / "datasets"

    @property
    def adapters_dir(self) -> Path:
        """LoRA adapters trained here or imported, one folder each with its card."""
        return self.home / "adapters"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def folders(self) -> tuple[Path, ...]:
        return (self.models_dir, self.workspaces_dir, self.datasets_dir, self.adapters_dir,
                self.cache_dir, self.logs_dir)  # fmt: skip

    def ensure(self) -> AppPaths:
        """Create the folders, private to the user; safe to call repeatedly."""
        for folder in (self.home, *self.folders):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def make_private(self) -> list[str]:
        """Take away other users' access that an earlier version (or a lax umask) left on the
        app's folders and top-level files, and on the home itself when it holds nothing but
        them. A home the user chose that holds other things too keeps its mode: it is their
        folder, and the app's content in it is private anyway. Notes say what was changed.

        Files deeper down are not walked: their folder being 0700 already keeps others out."""
        own = [*self.folders, *(self.home / name for name in APP_FILES)]
        for pattern in _APP_FILE_PATTERNS:
            own.extend(self.home.glob(pattern))
        others = [p for p in self.home.iterdir() if p not in own]
        if not others:
            own.insert(0, self.home)
        changed = [path for path in own if _tighten(path)]
        if not changed:
            return []
        names = ", ".join(p.name if p != self.home else str(p) for p in changed)
        note = f"Other users on this computer could read {names} in {self.home}; now only you can."
        if others:
            note += (f" The folder itself holds other files too ({others[0].name}, …), so its "
                     "own permissions were left as they are.")  # fmt: skip
        return [note]


def _tighten(path: Path) -> bool:
    """Remove group and others' permissions; whether anything changed."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(mode) or not mode & _OTHERS:
        return False
    try:
        path.chmod(stat.S_IMODE(mode) & ~_OTHERS)
    except PermissionError:  # another user's file: not ours to change
        return False
    return True


def folder_size(folder: Path) -> int:
    """Bytes of the files below ``folder`` (links not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(Path(root) / name)
            except OSError:
                continue
            total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total
