"""What the window shows — a workspace and a chat in it — as plain Python the views observe
(napari's model/view: the controllers change the session, the views redraw from it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SessionChange:
    """What :meth:`Session.select` changed (the views redraw only their part)."""

    workspace_changed: bool
    thread_changed: bool


Observer = Callable[[SessionChange], object]


class Session:
    """A workspace (by name; None: none chosen) and a chat in it (None: a new chat)."""

    def __init__(self) -> None:
        self.workspace: str | None = None
        self.thread_id: int | None = None
        self._observers: list[Observer] = []

    def observe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def select(self, workspace: str | None, thread_id: int | None = None) -> None:
        """Show ``workspace`` (and ``thread_id`` in it); every observer hears of it, also when
        nothing changed (selecting the same workspace again starts a new chat view)."""
        change = SessionChange(workspace != self.workspace, thread_id != self.thread_id)
        self.workspace, self.thread_id = workspace, thread_id
        for observer in self._observers:
            observer(change)

    def adopt_thread(self, thread_id: int) -> None:
        """The new chat shown got its id with its first answer: nothing to redraw."""
        self.thread_id = thread_id
