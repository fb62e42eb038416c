"""Model downloads against a real HTTP server on loopback (Range requests, like Hugging Face's
file links): progress, resume after a cancel, sha256 check, offline refusal."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Progress
from anyllm_desktop.models.local_models import download, read_gguf_metadata

# A header-only GGUF (no tensors) padded to 3 MB so the download takes several blocks.
_HEADER = (
    b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little")
    + (12).to_bytes(8, "little") + b"general.name" + (8).to_bytes(4, "little")
    + (4).to_bytes(8, "little") + b"Tiny"
)  # fmt: skip
PAYLOAD = _HEADER + bytes(3 * 2**20)


class _RangeServer(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RangeHandler)
        #: What the next requests get, in turn: "drop" (the first 1 MiB, then the connection
        #: closes), "redirect" (302 to the file), or an error status; then the file.
        self.plan: list[str | int] = []
        self.ranges: list[str | None] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/models/tiny-Q4_K_M.gguf"


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    server: _RangeServer

    def do_GET(self) -> None:
        self.server.ranges.append(self.headers.get("Range"))
        step = self.server.plan.pop(0) if self.server.plan else "file"
        if step == "redirect":
            self.send_response(302)
            self.send_header("Location", "/models/tiny-Q4_K_M.gguf")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if isinstance(step, int):
            self.send_response(step)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = 0
        if (wanted := self.headers.get("Range")) and wanted.startswith("bytes="):
            start = int(wanted[6:].split("-")[0])
        if start >= len(PAYLOAD):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: 2**20] if step == "drop" else body)
        self.close_connection = True

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[_RangeServer]:
    httpd = _RangeServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server(scripted: _RangeServer) -> str:
    return scripted.url


def test_download_resumes_after_cancel_and_checks_sha256(server: str, tmp_path: Path) -> None:
    cancel = CancelToken()
    events = []
    for event in download(server, tmp_path, cancel, offline=False):
        events.append(event)
        if isinstance(event, Progress) and event.done >= 2**20:
            cancel.cancel()  # stopped part way
    assert isinstance(events[-1], Error) and "resumes" in events[-1].message
    partial = tmp_path / "tiny-Q4_K_M.gguf.part"
    kept = partial.stat().st_size
    assert 0 < kept < len(PAYLOAD)

    digest = hashlib.sha256(PAYLOAD).hexdigest()
    events = list(download(server, tmp_path, CancelToken(), sha256=digest, offline=False))
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[0].done > kept and progress[-1].done == progress[-1].total == len(PAYLOAD)
    assert isinstance(events[-1], Done) and events[-1].result.name == "Tiny"
    target = tmp_path / "tiny-Q4_K_M.gguf"
    assert target.read_bytes() == PAYLOAD and not partial.exists()
    assert read_gguf_metadata(target) == {"general.name": "Tiny"}


def test_a_wrong_checksum_deletes_the_file(server: str, tmp_path: Path) -> None:
    events = list(download(server, tmp_path, CancelToken(), sha256="0" * 64, offline=False))
    assert isinstance(events[-1], Error) and "sha256" in events[-1].message
    assert list(tmp_path.iterdir()) == []


def test_offline_mode_refuses_before_any_connection(tmp_path: Path) -> None:
    events = list(download("https://example.org/m.gguf", tmp_path, CancelToken(), offline=True))
    assert len(events) == 1 and "Offline mode" in events[0].message


def test_an_unreachable_server_is_a_plain_error(tmp_path: Path) -> None:
    events = list(download("http://127.0.0.1:9/m.gguf", tmp_path, CancelToken(), offline=False))
    assert isinstance(events[-1], Error) and "could not start" in events[-1].message


def test_a_dropped_connection_resumes_by_itself_through_the_redirect(
    scripted: _RangeServer, tmp_path: Path
) -> None:
    """A Hugging Face link redirects to its file; the connection breaks after 1 MiB and the
    download goes on from there (Range) in the same call."""
    link = scripted.url.replace("/models/", "/resolve/")
    scripted.plan = ["redirect", "drop", "redirect"]
    events = list(download(link, tmp_path, CancelToken(), offline=False, backoff_s=0.01))
    assert isinstance(events[-1], Done), events[-1]
    assert (tmp_path / "tiny-Q4_K_M.gguf").read_bytes() == PAYLOAD
    assert scripted.ranges == [None, None, f"bytes={2**20}-", f"bytes={2**20}-"]


def test_a_busy_server_is_asked_again_and_a_refusal_is_said_plainly(
    scripted: _RangeServer, tmp_path: Path
) -> None:
    scripted.plan = [503, 429]
    events = list(download(scripted.url, tmp_path, CancelToken(), offline=False, backoff_s=0.01))
    assert isinstance(events[-1], Done) and len(scripted.ranges) == 3
    scripted.ranges.clear()
    scripted.plan = [404]
    events = list(download(scripted.url.replace("tiny", "gone"), tmp_path, CancelToken(),
                           offline=False, backoff_s=0.01))  # fmt: skip
    assert isinstance(events[-1], Error) and len(scripted.ranges) == 1  # not asked again
    assert events[-1].message == (
        "The download could not start: 127.0.0.1 has no file at this link (HTTP 404)."
    )
    scripted.plan = [503] * 4
    events = list(download(scripted.url.replace("tiny", "busy"), tmp_path, CancelToken(),
                           offline=False, retries=3, backoff_s=0.01))  # fmt: skip
    assert isinstance(events[-1], Error) and "server error (HTTP 503)" in events[-1].message


def test_a_part_file_that_is_already_whole_is_kept_without_downloading_it_again(
    scripted: _RangeServer, tmp_path: Path
) -> None:
    """The app stopped after the last byte and before the file was kept: the server answers
    the resume with 416 (nothing left), and the checked file is kept."""
    (tmp_path / "tiny-Q4_K_M.gguf.part").write_bytes(PAYLOAD)
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    events = list(download(scripted.url, tmp_path, CancelToken(), sha256=digest, offline=False))
    assert isinstance(events[-1], Done) and events[-1].result.name == "Tiny"
    assert scripted.ranges == [f"bytes={len(PAYLOAD)}-"]


def test_proxies_from_the_environment_are_not_used(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like every other request of the app (httpx with trust_env=False): a proxy variable
    does not take the download elsewhere."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    events = list(download(server, tmp_path, CancelToken(), offline=False))
    assert isinstance(events[-1], Done), events[-1]
