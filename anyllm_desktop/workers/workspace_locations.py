"""A new workspace and where it keeps its passages, for the window: this computer, or object
storage (store/locations.py), refused in offline mode when the store is on another host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.services.outbound import store_refusal
from anyllm_desktop.store.locations import StoreLocation, remember

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Backend

__all__ = ["StoreLocation", "create_workspace_at"]


def create_workspace_at(
    backend: Backend, name: str, location: StoreLocation, secret: str | None
) -> Workspace:
    """Create it and keep its location (the secret in the secret store); ValueError with the
    reason when offline mode refuses the store or the name is taken or invalid."""
    runtime = backend.runtime
    if refused := store_refusal(location, name, runtime.settings.offline_mode):
        raise ValueError(refused)
    workspace = backend.create_workspace(name)
    remember(runtime.paths.home, workspace.uid, location, secret)
    return workspace
