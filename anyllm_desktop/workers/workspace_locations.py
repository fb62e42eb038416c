"""A new workspace and where it keeps its passages, for the window: this computer, or object
storage (store/locations.py; joined when another computer created a workspace there). Reaching
a store is network work, so that creation runs on a worker; offline mode refuses a store on
another host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.services import shared_workspaces
from anyllm_desktop.store.locations import StoreLocation

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.workers.generator_worker import GeneratorWorker

__all__ = ["StoreLocation", "WorkspaceLocations"]


class WorkspaceLocations:
    library: Library | None
    workspaces_changed: Any

    def _start(self, source: Any, signal: Any = None) -> GeneratorWorker:
        raise NotImplementedError

    def create_workspace(self, name: str) -> Workspace:
        raise NotImplementedError

    def workspace_location(self, name: str) -> str:
        """Where a shared workspace keeps its index ("" for this computer; a SQLite read)."""
        assert self.library is not None, "Backend.start() has not finished"
        where = self.library.shared.location(self.library.workspace(name))
        return where.describe() if where.remote else ""

    def create_workspace_at(
        self, name: str, location: StoreLocation, secret: str | None,
        created: Callable[[Workspace], None], refused: Callable[[str], None],
    ) -> None:  # fmt: skip
        """Create it and keep its location (the secret in the secret store); ``created`` gets
        the workspace, ``refused`` the reason (offline mode, an unreachable store, a taken
        name). A workspace on this computer is made at once, one on a store by a worker."""
        if not location.remote:
            try:
                created(self.create_workspace(name))
            except ValueError as exc:
                refused(str(exc))
            return
        library = self.library
        assert library is not None, "Backend.start() has not finished"

        def create(cancel: CancelToken) -> Iterator[Event]:
            try:
                made = shared_workspaces.create_workspace_at(library, name, location, secret)
            except ValueError as exc:
                yield Error(str(exc))
                return
            yield Done(made)

        def arrived(event: Event) -> None:
            if isinstance(event, Done):
                self.workspaces_changed.emit()
                created(event.result)
            elif isinstance(event, Error):
                refused(event.message)

        self._start(create, arrived)
