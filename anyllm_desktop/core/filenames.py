"""File names as text: for the database, for people, and back.

On Linux a file name is bytes. Python turns bytes that are not UTF-8 into lone surrogates, which
SQLite, the tokenizer and Qt all refuse (a folder holding one such name stopped indexing with a
TypeError). Stored and shown, such bytes are written ``\\xNN``; a stored path is turned back into
the real one when the file is needed again. Control characters (a line break is a legal file
name character) are escaped wherever a name is printed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_ESCAPED_BYTE = re.compile(r"\\x([0-9a-fA-F]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def stored_path(path: Path) -> str:
    """The path as valid text: bytes that are not UTF-8 written as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def path_from_stored(text: str) -> Path:
    """The real path of a :func:`stored_path` text."""
    path = Path(text)
    if path.exists() or "\\x" not in text:
        return path
    return Path(_ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text))


def clean_text(text: str) -> str:
    """Text that every store and widget accepts: lone surrogates replaced (U+FFFD)."""
    if not _has_surrogates(text):
        return text
    try:  # a file name's undecodable bytes: one U+FFFD each
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def printable(text: str) -> str:
    """A name safe to print to a terminal: control characters as ``\\n``, ``\\x1b``, ..."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], clean_text(text))


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
