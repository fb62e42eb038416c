"""A real HTTP server on loopback (addressed as a cloud host, ``url``, or as this computer,
``loopback_url``) that replays scripted responses (a cloud provider's streaming
wire format, an error status, a slow answer) or computes them (``respond``: an embeddings
service), and records the requests it got: path, method, headers and body (parsed JSON, or the raw
bytes as text for a multipart upload; {} for a GET)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int = 200
    #: What the body is made of: a list, or a generator for a hostile server (keep-alives
    #: forever, an endless line, a huge body) that must end by itself within a bounded time.
    chunks: Iterable[bytes] = field(default_factory=list)
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    #: Pause after each chunk (0 sends as fast as the client reads).
    pause_s: float = 0.01


class Replay(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: list[Reply] = []
        #: Answers a request (path, JSON body or {}) when no scripted reply is left.
        self.respond: Callable[[str, dict[str, object]], Reply] | None = None
        self.requests: list[dict[str, object]] = []

    @property
    def url(self) -> str:
        """Its address as a cloud provider's: a host that is not this computer to the app
        (``cloud.test``, which the tests' network guard resolves to this server)."""
        return f"http://cloud.test:{self.server_address[1]}"

    @property
    def loopback_url(self) -> str:
        """Its address as a server on this computer (Ollama, LM Studio, llama.cpp's server)."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Replay

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        try:
            body: object = json.loads(raw)
        except ValueError:  # a multipart upload, a form: kept as text
            body = raw.decode("utf-8", "replace")
        self._answer(body, "text/event-stream")

    def do_GET(self) -> None:
        self._answer({}, "application/json")

    def _answer(self, body: object, content_type: str) -> None:
        """Record the request, then send the next scripted reply (or ``respond``'s)."""
        self.server.requests.append(
            {"path": self.path, "method": self.command, "headers": dict(self.headers),
             "body": body}
        )  # fmt: skip
        if self.server.replies or self.server.respond is None:
            reply = self.server.replies.pop(0)
        else:
            reply = self.server.respond(self.path, body if isinstance(body, dict) else {})
        time.sleep(reply.delay_s)
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type if reply.status < 400 else "application/json")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            for chunk in reply.chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(reply.pause_s)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (cancel)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def replay_server() -> Iterator[Replay]:
    replay = Replay()
    thread = threading.Thread(target=replay.serve_forever, daemon=True)
    thread.start()
    try:
        yield replay
    finally:
        replay.shutdown()
        replay.server_close()
