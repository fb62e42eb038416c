"""The server in a thread of the calling process (the CLI's main thread waits on it; the app
stops it on quit): uvicorn over the routes, the request queue closed after the last request."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

from anyllm_desktop.core.hosts import is_loopback
from anyllm_desktop.services.api_server.engine import Engine
from anyllm_desktop.services.api_server.model_queue import RequestQueue
from anyllm_desktop.services.api_server.routes import build_app


def exposure_warning(host: str, port: int) -> str | None:
    """The loud word for a server other machines can reach (None on loopback)."""
    if is_loopback(host):
        return None
    return (f"WARNING: the API server listens on {host}:{port}, so other computers on the "
            "network can reach it and, with the key, read your workspaces' documents through "
            "it. Use --host 127.0.0.1 unless you mean that.")  # fmt: skip


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ApiServer:
    """``start`` returns once the socket listens (or raises why it cannot); ``stop`` ends it."""

    def __init__(self, home: Path | None, key: str, host: str = "127.0.0.1", port: int = 8765,
                 open_engine: Callable[[], Engine] | None = None) -> None:  # fmt: skip
        """``open_engine`` (default: an engine with its own model host on ``home``) runs on
        the request queue's thread."""
        self.home, self.host, self.port = home, host, port
        self._key = key
        self._open_engine = open_engine or (lambda: Engine(home))
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._queue: RequestQueue[Engine] | None = None

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self, timeout_s: float = 120.0) -> None:
        self._queue = RequestQueue(self._open_engine, lambda engine: engine.close())
        config = uvicorn.Config(build_app(self._queue, self._key), host=self.host,
                                port=self.port, log_config=None, access_log=False,
                                lifespan="off")  # fmt: skip
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                assert self._server is not None
                self._server.run()
            except BaseException as exc:  # SystemExit when the port is taken
                failure.append(exc)

        self._thread = threading.Thread(target=serve, name="api-server", daemon=True)
        self._thread.start()
        self._thread.join(0.05)
        while not self._server.started and self._thread.is_alive() and timeout_s > 0:
            self._thread.join(0.05)
            timeout_s -= 0.05
        if not self._server.started:
            self.stop()
            why = f": {failure[0]!r}" if failure else ""
            raise OSError(
                f"The API server could not listen on {self.host}:{self.port}{why}. Is the "
                "port taken by another program? Choose another with --port."
            )
        logging.getLogger("anyllm.api").info("listening on %s", self.address)

    def wait(self) -> None:
        """Until the server stops (Ctrl-C in the CLI raises KeyboardInterrupt here)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._queue is not None:
            self._queue.close()
        self._server = self._thread = self._queue = None
