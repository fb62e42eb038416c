"""The native engines stay offline too: the Python network guard cannot see their sockets.

ONNX Runtime 1.32 starts uploading telemetry from C++ about 9 s after it is imported (measured);
short test processes never lived that long. Here a child process keeps a real embedding session
alive well past that while it also ingests (unstructured, pandoc, spaCy), reads a PDF (pdfium),
searches LanceDB and generates with llama.cpp, all under strace, and no socket may leave the
machine.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anyllm_desktop.core.offline import OFFLINE_ENVIRONMENT
from tests.e2e.conftest import DATA

pytestmark = pytest.mark.e2e

#: How long the embedding session lives: ONNX Runtime's first upload attempt came ~9 s after
#: import and its retries at ~14 s and ~23 s (three runs); 30 s leaves a margin of three.
SESSION_SECONDS = 30

_CHILD = """
from anyllm_desktop.core.offline import apply_offline_environment

apply_offline_environment()  # first thing, as every entry point does

import json, sys, time
from pathlib import Path

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Token
from anyllm_desktop.ingest.formats import parse_file
from anyllm_desktop.providers.base import GenerationOptions
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime

home, data, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
library = Library(Runtime.open(home))
library.create_workspace("Traced")
embedder = library.embedder(library.workspace("Traced").embedding_model)
embedder.embed(["the session starts here"])
started = time.monotonic()
names = ("nodejs-string-decoder.md", "nodejs-string-decoder.rst", "officer-example.docx")
events = list(library.ingest("Traced", [data / n for n in names], CancelToken()))
pdf = parse_file(data / "reportlab-userguide.pdf")
hits = library.search("Traced", "decode a Buffer into a string", k=3)
answer = library.runtime.create_chat_provider().stream(
    [ChatMessage("user", "Say hello.")], GenerationOptions(temperature=0.0, max_tokens=8),
    CancelToken())
tokens = sum(isinstance(event, Token) for event in answer)
questions = 0
while time.monotonic() - started < seconds:
    embedder.embed([f"question {questions} about string decoders"])
    questions += 1
print(json.dumps({"files": [f.status for f in events[-1].result], "pdf_blocks": len(pdf.blocks),
                  "hits": len(hits), "tokens": tokens, "questions": questions,
                  "seconds": time.monotonic() - started}))
"""

_ADDRESS = re.compile(
    r"sa_family=AF_INET6?, sin6?_port=htons\((\d+)\),.*?"
    r'(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")'
)


def outbound_attempts(trace: str) -> list[str]:
    """The traced socket calls that address another machine, or any DNS server (a local stub
    resolver such as systemd-resolved's 127.0.0.53 passes the lookup on)."""
    attempts = []
    for line in trace.splitlines():
        found = _ADDRESS.search(line)
        if found is None:
            continue
        port, host = found.group(1), found.group(2) or found.group(3)
        local = host.startswith("127.") or host in {"::1", "::ffff:127.0.0.1"}
        if port == "53" or not local:
            attempts.append(line.strip())
    return attempts


def test_outbound_attempts_are_read_from_strace_lines() -> None:
    trace = (
        '7 connect(8, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.53")}'
        ", 16) = -1 ENETUNREACH (Network is unreachable)\n"
        "7 connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), "
        'inet_pton(AF_INET6, "2603:1030::1", &sin6_addr), sin6_scope_id=0}, 28 <unfinished ...>\n'
        '7 connect(5, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}'
        ", 16) = 0\n"
        '7 sendto(6, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("127.0.0.53")}, 16) = 1\n'
        '7 connect(4, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT\n'
    )
    found = [line.split()[1] for line in outbound_attempts(trace)]
    assert found == ["connect(8,", "connect(9,", "sendto(6,"]


def _no_network_prefix() -> list[str]:
    """``unshare -n`` where this machine allows it: a lookup then fails at once, as offline."""
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return ["unshare", "-n"] if probe.returncode == 0 else []


@pytest.mark.skipif(
    shutil.which("strace") is None,
    reason="needs strace(1) to see native sockets (`bash packaging/bootstrap.sh test` installs it)",
)
def test_native_engines_never_reach_the_network(child_env: dict[str, str], tmp_path: Path) -> None:
    for name in {*OFFLINE_ENVIRONMENT, "ORT_DISABLE_TELEMETRY"}:
        child_env.pop(name, None)  # the child must switch them on itself, as the app does
    user_home = tmp_path / "user"  # where ONNX Runtime would keep its device id
    user_home.mkdir()
    child_env["HOME"] = str(user_home)
    child_env.pop("XDG_CACHE_HOME", None)
    trace = tmp_path / "strace.log"
    command = [
        *_no_network_prefix(),
        "strace", "-f", "-qq", "-e", "signal=none", "-e", "trace=connect,sendto,sendmsg",
        "-o", str(trace),
        sys.executable, "-c", _CHILD, str(tmp_path / "home"), str(DATA), str(SESSION_SECONDS),
    ]  # fmt: skip
    done = subprocess.run(
        command, env=child_env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["files"] == ["indexed"] * 3 and report["pdf_blocks"] > 0
    assert report["hits"] > 0 and report["tokens"] > 0
    assert report["seconds"] >= SESSION_SECONDS and report["questions"] > 0
    attempts = outbound_attempts(trace.read_text(encoding="utf-8"))
    assert attempts == [], f"{len(attempts)} outbound socket calls:\n" + "\n".join(attempts[:20])
    telemetry_store = user_home / ".cache" / "Microsoft" / "DeveloperTools" / ".onnxruntime"
    assert not telemetry_store.exists(), "ONNX Runtime created its telemetry device id and queue"


_PANDOC_CHILD = """
import json, sys
from pathlib import Path
from anyllm_desktop.ingest.blocks import ParseError
from anyllm_desktop.ingest.markup import parse_with_pandoc
try:
    print(json.dumps([block.text for block in parse_with_pandoc(Path(sys.argv[1])).blocks]))
except ParseError as exc:
    print(json.dumps([str(exc)]))
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace(1)")
def test_a_document_cannot_make_pandoc_fetch_urls_or_read_other_files(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private-token-5f3a\n")
    hostile = tmp_path / "hostile.rst"
    hostile.write_text(
        f"Notes\n=====\n\n.. include:: {secret}\n\n"
        ".. csv-table:: Prices\n   :url: http://tracker.example.com/pixel.csv\n"
    )
    trace = tmp_path / "strace.log"
    command = [
        *_no_network_prefix(),
        "strace", "-f", "-qq", "-e", "signal=none", "-e", "trace=connect,sendto,sendmsg",
        "-o", str(trace), sys.executable, "-c", _PANDOC_CHILD, str(hostile),
    ]  # fmt: skip
    done = subprocess.run(
        command, env=child_env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "private-token-5f3a" not in done.stdout
    assert outbound_attempts(trace.read_text(encoding="utf-8")) == []
