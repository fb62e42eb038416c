"""API keys: in the operating system's keyring, or — where there is none (a headless Linux box)
— encrypted in the home folder, never in the settings file, logs or exports.

The fallback is Fernet (AES-128-CBC + HMAC) from ``cryptography`` with a key file readable by
the user's account only, kept in the user's configuration folder — not beside the ciphertext in
the data folder, so a copy of the data folder (a backup, a synced folder, a shared archive) does
not carry the key with it. It does not protect against someone who can read the user's files —
``fallback_notice`` says so, for the UI and the CLI to show.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

SERVICE = "anyllm-desktop"


def _system_keyring() -> object | None:
    """The OS keyring backend, or None when keyring found only its 'fail' or null backends."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return backend


def key_file() -> Path:
    """Where the fallback's key lives: the user's configuration folder (``$XDG_CONFIG_HOME``
    on Linux), one key for the account."""
    import platformdirs

    return Path(platformdirs.user_config_dir(SERVICE, appauthor=False)) / "secrets.key"


class SecretStore:
    def __init__(self, home: Path) -> None:
        self._backend = _system_keyring()
        self._file = home / "secrets.fernet"
        self._key_file = key_file()
        #: Where earlier versions kept the key (beside the ciphertext): moved out when found.
        self._old_key_file = home / ".secrets.key"

    @property
    def uses_keyring(self) -> bool:
        return self._backend is not None

    @property
    def fallback_notice(self) -> str | None:
        if self.uses_keyring:
            return None
        return (
            "No system keyring was found (such as GNOME Keyring or KWallet), so API keys are "
            f"stored encrypted in {self._file} with a key readable only by your user account. "
            "That keeps them out of plain text, not away from someone who can read your files."
        )

    def set(self, name: str, secret: str) -> None:
        if self._backend is not None:
            self._backend.set_password(SERVICE, name, secret)  # type: ignore[attr-defined]
            return
        entries = self._read()
        entries[name] = self._fernet().encrypt(secret.encode()).decode()
        self._write(entries)

    def get(self, name: str) -> str | None:
        if self._backend is not None:
            value = self._backend.get_password(SERVICE, name)  # type: ignore[attr-defined]
            return str(value) if value is not None else None
        token = self._read().get(name)
        if token is None:
            return None
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet().decrypt(token.encode()).decode()
        except InvalidToken:
            return None  # the key file was replaced: the user enters the key again

    def delete(self, name: str) -> None:
        if self._backend is not None:
            import keyring.errors

            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                self._backend.delete_password(SERVICE, name)  # type: ignore[attr-defined]
            return
        entries = self._read()
        if entries.pop(name, None) is not None:
            self._write(entries)

    def _fernet(self) -> Any:
        from cryptography.fernet import Fernet, MultiFernet

        self._key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self._key_file.exists():
            old = self._old_key_file.read_bytes() if self._old_key_file.exists() else None
            descriptor = os.open(self._key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(old or Fernet.generate_key())
        keys = [Fernet(self._key_file.read_bytes())]
        if self._old_key_file.exists():  # a second home's old key: still reads its entries
            old_key = Fernet(self._old_key_file.read_bytes())
            if self._old_key_file.read_bytes() == self._key_file.read_bytes():
                self._old_key_file.unlink()  # moved: no longer beside the ciphertext
            else:
                keys.append(old_key)
        return MultiFernet(keys)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, str]) -> None:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._file.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(entries, handle)
        temporary.replace(self._file)
