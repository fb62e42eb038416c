"""The one way a command fails: a message for the user and the exit code."""

from __future__ import annotations


class CommandError(Exception):
    """A user-facing failure: ``main`` prints ``anyllm: error: MESSAGE`` and exits with
    ``exit_code`` (2: the command could not be carried out; 1: it ran and what it checked
    failed, as a provider test that got an error back)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
