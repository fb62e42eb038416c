"""The server's API key: generated on first use, kept in the keyring (store/secrets.py), never
in the settings file or the log; compared in constant time."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from anyllm_desktop.store.secrets import SecretStore

#: The key's name in the secret store.
KEY_NAME = "api-server"
_PREFIX = "anyllm-"


def new_key() -> str:
    return _PREFIX + secrets.token_urlsafe(32)


def stored_key(home: Path) -> tuple[str, bool]:
    """The server's key and whether it was generated now (then the caller shows it, once)."""
    store = SecretStore(home)
    key = store.get(KEY_NAME)
    if key:
        return key, False
    key = new_key()
    store.set(KEY_NAME, key)
    return key, True


def rotate_key(home: Path) -> str:
    """A new key replaces the old one; clients holding the old one get 401 from now on."""
    key = new_key()
    SecretStore(home).set(KEY_NAME, key)
    return key


def set_key(home: Path, key: str) -> None:
    """A key a script chose (``anyllm serve --api-key KEY``), kept like a generated one."""
    if len(key) < 8:
        raise ValueError("The API key must be at least 8 characters long.")
    SecretStore(home).set(KEY_NAME, key)


def authorized(header: str | None, key: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <key>``."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), key.encode())
