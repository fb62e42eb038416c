"""Where anyllm-desktop keeps its data: one home folder, chosen once and passed around."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "anyllm-desktop"
HOME_ENV_VAR = "ANYLLM_HOME"


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

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    def ensure(self) -> AppPaths:
        """Create the folders; safe to call repeatedly."""
        for folder in (
            self.home,
            self.models_dir,
            self.workspaces_dir,
            self.cache_dir,
            self.logs_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        return self
