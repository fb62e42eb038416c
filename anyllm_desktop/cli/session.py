"""Opening the runtime and the library for one command: their warnings on stderr, and the
stores' expected failures (no such workspace, a bad value) as a :class:`CommandError`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import warn

if TYPE_CHECKING:
    from anyllm_desktop.core.events import Event
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime


def open_runtime(args: argparse.Namespace) -> Runtime:
    """The runtime for ``--home``, its warnings (a settings file it could not read) said."""
    from anyllm_desktop.services.runtime import Runtime

    runtime = Runtime.open(args.home)
    for warning in runtime.warnings:
        warn(warning)
    return runtime


def open_library(args: argparse.Namespace) -> Library:
    from anyllm_desktop.services.library import Library

    library = Library(open_runtime(args))
    for warning in library.warnings:
        warn(warning)
    return library


@contextmanager
def library_session(args: argparse.Namespace) -> Iterator[Library]:
    """The library, closed at the end; a missing or clashing workspace, a bad value or a
    provider's refusal becomes the command's error."""
    from anyllm_desktop.providers.cloud_http import ProviderError
    from anyllm_desktop.store.records import WorkspaceExistsError, WorkspaceNotFoundError

    library = open_library(args)
    try:
        yield library
    except (WorkspaceNotFoundError, WorkspaceExistsError, ValueError, ProviderError) as exc:
        raise CommandError(str(exc)) from exc
    finally:
        library.close()


def job(library: Library, kind: str, workspace: str = "", **params: Any) -> Iterator[Event]:
    """A job's events, its record kept like the app's (``anyllm jobs`` lists it; the app's jobs
    view shows it; killed, it is interrupted and resumes)."""
    from anyllm_desktop.services.jobs import JobService

    service = JobService(library)
    try:
        yield from service.run(kind, workspace, **params)
    finally:
        service.close()
