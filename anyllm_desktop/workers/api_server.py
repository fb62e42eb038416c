"""The API server inside the app: started and stopped off the GUI thread, sharing the window's
model host (one owner thread for the loaded model), stopped when the app quits.

One controller per backend (``api_server_of``), so the server keeps running after the
Settings dialog that started it closes.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QCoreApplication, QObject, Signal

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.services.api_server import auth
from anyllm_desktop.services.api_server.engine import Engine
from anyllm_desktop.services.api_server.server import ApiServer, exposure_warning
from anyllm_desktop.workers.backend import Backend
from anyllm_desktop.workers.generator_worker import GeneratorWorker


class ApiServerController(QObject):
    #: The address it serves at ("" once stopped).
    address_changed = Signal(str)
    #: Why it could not start, in words.
    failed = Signal(str)

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.backend = backend
        #: The server started (or starting); ``_serving`` once it listens.
        self._server: ApiServer | None = None
        self._serving = False
        self._worker: GeneratorWorker | None = None
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    @property
    def address(self) -> str:
        return self._server.address if self._server is not None and self._serving else ""

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def warning(self, host: str, port: int) -> str | None:
        return exposure_warning(host, port)

    def key_to_show(self) -> str | None:
        """The key, generated now (to be shown once), or None when one is already kept."""
        key, created = auth.stored_key(self.backend.runtime.paths.home)
        return key if created else None

    def rotate_key(self) -> str:
        """A new key (shown once); a running server is restarted to accept only it."""
        key = auth.rotate_key(self.backend.runtime.paths.home)
        if self._server is not None:
            host, port = self._server.host, self._server.port
            self.stop()
            self.start(host, port)
        return key

    def _engine(self) -> Engine:
        chat = self.backend.chat
        home = self.backend.runtime.paths.home
        if chat is None:  # the window has not opened its model yet: the server has its own
            return Engine(home)
        return Engine(home, chat.host, lambda: self.backend.served_model)

    def start(self, host: str, port: int) -> None:
        if self._server is not None or self._worker is not None:
            return
        home = self.backend.runtime.paths.home
        key, _ = auth.stored_key(home)
        server = ApiServer(home, key, host=host, port=port, open_engine=self._engine)
        self._server = server

        def source(cancel: CancelToken) -> Iterator[Event]:
            yield Progress("serve", 0, 0, f"Starting the API server on {host}:{port}…")
            try:
                server.start()
            except Exception as exc:  # the port is taken, the library cannot open
                yield Error(str(exc))
                return
            yield Done(server)

        self._worker = GeneratorWorker(source, self, name="api-server start")
        self._worker.event.connect(self._started)
        self._worker.finished.connect(self._start_ended)
        self._worker.start()

    def start_if_enabled(self) -> None:
        """At app start (once the window's library is open): serve when Settings say so."""
        settings = self.backend.runtime.settings
        if settings.api_server_enabled:
            self.start(settings.api_server_host, settings.api_server_port)

    def _started(self, event: Event) -> None:
        if isinstance(event, Done) and event.result is self._server:
            self._serving = True
            self.address_changed.emit(self.address)
        elif isinstance(event, Error):
            self._server = None
            self.failed.emit(event.message)

    def _start_ended(self) -> None:
        if self._worker is not None and not self._worker.is_running():
            self._worker = None

    def stop(self) -> None:
        """Stop serving (in-flight requests finish first); also at quit."""
        if self._worker is not None:
            self._worker.wait()
            self._worker = None
        if self._server is not None:
            self._server.stop()
            self._server, self._serving = None, False
            self.address_changed.emit("")


def api_server_of(backend: Backend) -> ApiServerController:
    """The backend's one API server controller (made on first use)."""
    found = backend.findChild(ApiServerController)
    return found if found is not None else ApiServerController(backend)
