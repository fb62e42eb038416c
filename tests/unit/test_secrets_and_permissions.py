"""What other local users and onlookers can see: the home folder's permissions, and credentials
typed into a provider's base URL (never shown, never stored in the settings file)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from anyllm_desktop.services.cloud_providers import add_provider, list_providers, mask_url
from anyllm_desktop.services.runtime import Runtime


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most desktops give a user (0022: new files 0644, folders 0755)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _old_home(home: Path, *extra: str) -> None:
    """A home as an earlier version left it: everything readable by everyone."""
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "workspaces").mkdir(mode=0o755)
    for name in ("settings.json", "library.sqlite3", *extra):
        (home / name).write_text("{}")
        (home / name).chmod(0o644)


def test_files_created_after_opening_are_private(usual_umask: None, tmp_path: Path) -> None:
    runtime = Runtime.open(tmp_path / "home")
    made = runtime.paths.cache_dir / "made-by-a-library.bin"
    made.write_bytes(b"x")  # as LanceDB or SQLite would: no mode of its own
    (runtime.paths.cache_dir / "sub").mkdir()
    assert _mode(made) == 0o600
    assert _mode(runtime.paths.cache_dir / "sub") == 0o700
    assert _mode(runtime.paths.home) == 0o700


def test_an_old_home_of_the_app_is_tightened_with_a_note(usual_umask: None, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _old_home(home)
    runtime = Runtime.open(home)
    assert _mode(home) == 0o700 and _mode(home / "workspaces") == 0o700
    assert _mode(home / "settings.json") == _mode(home / "library.sqlite3") == 0o600
    assert any("Other users" in w and "now only you can" in w for w in runtime.warnings)
    assert not any("Other users" in w for w in Runtime.open(home).warnings)  # said once


def test_a_chosen_folder_holding_other_files_keeps_its_mode(
    usual_umask: None, tmp_path: Path
) -> None:
    home = tmp_path / "shared-project"
    _old_home(home, "notes.txt")
    runtime = Runtime.open(home)
    assert _mode(home) == 0o755 and _mode(home / "notes.txt") == 0o644  # the user's, not ours
    assert _mode(home / "library.sqlite3") == 0o600 and _mode(home / "workspaces") == 0o700
    assert any("left as they are" in w for w in runtime.warnings)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:s3cret@llm.example/v1", "https://***@llm.example/v1"),
        ("https://tok3n@llm.example:8443/v1", "https://***@llm.example:8443/v1"),
        ("https://llm.example/v1?key=s3cret&region=eu", "https://llm.example/v1?key=***&region=eu"),
        ("https://x.example/v1?api_key=s3cret&access_token=s3cret&sig=s3cret",
         "https://x.example/v1?api_key=***&access_token=***&sig=***"),
        ("http://localhost:11434/v1", "http://localhost:11434/v1"),
    ],
)  # fmt: skip
def test_credentials_in_a_url_are_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_providers_never_show_or_store_credentials_of_their_url(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    by_hand = {"name": "proxy", "kind": "openai-compatible", "model": "m",
               "base_url": "https://bob:hunter2@proxy.example/v1?token=hunter2"}  # fmt: skip
    (home / "settings.json").write_text(json.dumps({"providers": [by_hand]}))
    runtime = Runtime.open(home)
    rows = list_providers(runtime)
    assert rows[1]["base_url"] == "https://***@proxy.example/v1?token=***"
    assert "hunter2" not in json.dumps(rows)
    with pytest.raises(ValueError, match=r"user name or password.*--api-key-stdin"):
        add_provider(runtime, "other", "openai-compatible", model="m",
                     base_url="https://carol:pw@proxy.example/v1")  # fmt: skip
    with pytest.raises(ValueError, match="'api_key' parameter"):
        add_provider(runtime, "other", "openai-compatible", model="m",
                     base_url="https://proxy.example/v1?api_key=pw")  # fmt: skip
    assert [p["name"] for p in runtime.settings.providers] == ["proxy"]


def test_the_fallback_key_is_kept_apart_from_the_ciphertext(
    anyllm_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of the data folder (a backup, a synced folder) must not carry the key with the
    encrypted keys; an old home's key file beside them is moved out and still decrypts."""
    from cryptography.fernet import Fernet

    from anyllm_desktop.store import secrets

    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)
    anyllm_home.mkdir(parents=True)
    old_key = Fernet.generate_key()
    (anyllm_home / ".secrets.key").write_bytes(old_key)
    token = Fernet(old_key).encrypt(b"sk-old").decode()
    (anyllm_home / "secrets.fernet").write_text(json.dumps({"old": token}), encoding="utf-8")
    store = secrets.SecretStore(anyllm_home)
    assert store.get("old") == "sk-old"
    store.set("new", "sk-new")
    assert not (anyllm_home / ".secrets.key").exists()
    assert secrets.key_file().is_file() and anyllm_home not in secrets.key_file().parents
    assert secrets.key_file().stat().st_mode & 0o077 == 0
    assert secrets.SecretStore(anyllm_home).get("new") == "sk-new"
    for path in anyllm_home.rglob("*"):
        assert old_key not in path.read_bytes() if path.is_file() else True
