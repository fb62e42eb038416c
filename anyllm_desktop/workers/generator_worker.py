"""Run a core generator on a QThread and deliver its events as Qt signals.

The generator never touches a widget: it yields plain events, which arrive on the GUI thread
through a queued signal. Cancelling sets the generator's :class:`CancelToken`; the generator
notices between steps.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from anyllm_desktop.core.cancel import Cancelled, CancelToken
from anyllm_desktop.core.events import Error, Event

EventSource = Callable[[CancelToken], Iterator[Event]]

#: Workers whose thread may still run: held here so that none is garbage-collected (which
#: destroys a running QThread and aborts the process) before its thread has ended.
_STARTED: set[GeneratorWorker] = set()


def source_name(source: object) -> str:
    """Where a function is defined, as file:line."""
    code = getattr(source, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code else repr(source)


def still_running() -> list[GeneratorWorker]:
    """Started workers whose thread has not ended yet."""
    return [worker for worker in list(_STARTED) if worker.is_running()]


class _Runner(QObject):
    event = Signal(object)
    finished = Signal()

    def __init__(self, source: EventSource, cancel: CancelToken) -> None:
        super().__init__()
        self._source = source
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            for item in self._source(self._cancel):
                self.event.emit(item)
        except Cancelled:
            pass
        except Exception as exc:  # surfaced as an event; the app must live on
            self.event.emit(Error(f"Unexpected error: {exc}", traceback.format_exc()))
        finally:
            self.finished.emit()


class GeneratorWorker(QObject):
    """Owns one thread that runs one event source to the end.

    ``event`` is emitted on the GUI thread for every event; ``finished`` once, at the end,
    whether the source completed, failed or was cancelled.
    """

    event = Signal(object)
    finished = Signal()

    def __init__(
        self, source: EventSource, parent: QObject | None = None, *, name: str = ""
    ) -> None:
        super().__init__(parent)
        self.cancel_token = CancelToken()
        #: Where the event source is defined (for reports of a thread that does not end).
        self.source_name = name or source_name(source)
        self._thread = QThread()
        self._runner = _Runner(source, self.cancel_token)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.event.connect(self.event)
        # Direct: the thread ends its own event loop (QThread.quit is thread-safe), so it ends
        # even when the GUI thread is busy or already shutting down and waiting for it.
        self._runner.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)

    def start(self) -> None:
        _STARTED.add(self)
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the thread ends (used at shutdown, never while the app is busy)."""
        return self._thread.wait(msecs)

    def _on_thread_finished(self) -> None:
        self._thread.wait()  # QThread.finished comes just before the thread has quite ended
        _STARTED.discard(self)
        self.finished.emit()
