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


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        start = 0
        if (wanted := self.headers.get("Range")) and wanted.startswith("bytes="):
            start = int(wanted[6:].split("-")[0])
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/models/tiny-Q4_K_M.gguf"
    httpd.shutdown()


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
