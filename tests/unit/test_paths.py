from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

from anyllm_desktop.core.paths import AppPaths, resolve_home


def test_explicit_home_beats_environment(tmp_path: Path) -> None:
    env = {"ANYLLM_HOME": str(tmp_path / "env")}
    assert resolve_home(tmp_path / "cli", env) == (tmp_path / "cli").resolve()


def test_environment_beats_platform_default(tmp_path: Path) -> None:
    assert resolve_home(None, {"ANYLLM_HOME": str(tmp_path / "env")}) == (tmp_path / "env")


def test_platform_default_when_nothing_is_set() -> None:
    expected = Path(platformdirs.user_data_dir("anyllm-desktop", appauthor=False)).resolve()
    assert resolve_home(None, {}) == expected


def test_ensure_creates_the_layout_and_is_repeatable(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "home")
    paths.ensure()
    paths.ensure()
    for folder in (paths.models_dir, paths.workspaces_dir, paths.cache_dir, paths.logs_dir):
        assert folder.is_dir() and folder.parent == paths.home
    assert paths.settings_file.parent == paths.home


def test_ensure_creates_folders_only_the_user_can_enter(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the usual umask: new folders would be 0755
    try:
        paths = AppPaths(tmp_path / "new-home").ensure()
    finally:
        os.umask(previous)
    for folder in (
        paths.home,
        paths.models_dir,
        paths.workspaces_dir,
        paths.cache_dir,
        paths.logs_dir,
    ):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
