"""`anyllm serve` end to end: the official `openai` client against the real server on a free
loopback port, with the bundled chat model, the embedded embedder and a real ingested file."""

from __future__ import annotations

import base64
import logging
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest

from anyllm_desktop.services.api_server.server import ApiServer, free_port
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from tests.conftest import BIN_DIR
from tests.e2e.conftest import ingest
from tests.e2e.test_ingest_cli import anyllm

pytestmark = pytest.mark.e2e

KEY = "test-key-0123456789"
MODEL = "embedded:smollm2-135m-instruct-q4_1"
EMBEDDER = "embedded:all-minilm-l6-v2-int8"
#: Runs ``sys.argv[1:]`` in this process with SIGINT at its default action.
CTRL_C_DEFAULT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                  "os.execv(sys.argv[1], sys.argv[1:])")  # fmt: skip
NOTES = (
    "Office notes.\n\nThe wifi password of the Lisbon office is tangerine-42. "
    "The printer on the second floor is called Gutenberg.\n"
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One server for the module (loading the model once): a workspace "Office" holding one
    small file, answers kept short so the file stays fast."""
    home = tmp_path_factory.mktemp("api-home")
    notes = home.parent / "office-notes.txt"
    notes.write_text(NOTES, encoding="utf-8")
    library = Library(Runtime.open(home))
    library.create_workspace("Office")
    ingest(library, "Office", notes)
    library.update_chat("Office", temperature=0.0, max_answer_tokens=24)
    library.close()
    server = ApiServer(home, KEY, port=free_port())
    server.start()
    yield server
    server.stop()


def client(api: ApiServer, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.address, api_key=key, max_retries=0, timeout=120)


def test_models_lists_each_workspace_the_local_model_and_the_embedder(api: ApiServer) -> None:
    ids = [m.id for m in client(api).models.list()]
    assert ids[0] == "workspace:Office"
    assert MODEL in ids and EMBEDDER in ids


def test_a_plain_model_answers_whole_and_streamed(api: ApiServer) -> None:
    messages = [{"role": "user", "content": "Say hello."}]
    whole = client(api).chat.completions.create(
        model=MODEL,
        messages=messages,
        max_tokens=8,
        temperature=0,  # type: ignore[arg-type]
    )
    assert whole.choices[0].message.content
    assert whole.usage is not None and 0 < whole.usage.completion_tokens <= 8
    chunks = list(client(api).chat.completions.create(
        model=MODEL, messages=messages, max_tokens=8, temperature=0, stream=True,  # type: ignore[arg-type]
    ))  # fmt: skip
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3  # the role, several pieces, the end
    assert streamed == whole.choices[0].message.content  # temperature 0: the same answer
    assert chunks[-1].choices[0].finish_reason is not None


def test_a_workspace_model_answers_from_its_documents_with_citations(api: ApiServer) -> None:
    reply = client(api).chat.completions.create(
        model="workspace:Office",
        messages=[{"role": "user", "content": "What is the wifi password of the Lisbon office?"}],
    )
    citations = reply.model_extra["citations"]  # type: ignore[index]
    assert citations and citations[0]["valid"]
    assert citations[0]["path"].endswith("office-notes.txt")
    assert "tangerine-42" in citations[0]["text"]
    stream = client(api).chat.completions.create(
        model="workspace:Office", stream=True,
        messages=[{"role": "user", "content": "What is the wifi password of the Lisbon office?"}],
    )  # fmt: skip
    extra = list(stream)[-1].model_extra or {}
    assert extra["citations"][0]["path"].endswith("office-notes.txt")
    short = client(api).chat.completions.create(
        model="workspace:Office", max_tokens=3, temperature=0,  # the request's, not the 24 kept
        messages=[{"role": "user", "content": "What is the printer called?"}],
    )  # fmt: skip
    assert short.usage is not None and 0 < short.usage.completion_tokens <= 3
    follow_up = client(api).chat.completions.create(
        model="workspace:Office", max_tokens=3, temperature=0,
        messages=[{"role": "user", "content": "Where is the Lisbon office's wifi password?"},
                  {"role": "assistant", "content": "It is tangerine-42."},
                  {"role": "user", "content": "What is the printer called?"}],
    )  # fmt: skip
    assert follow_up.usage is not None  # the client's earlier turn is in the prompt
    assert follow_up.usage.prompt_tokens > short.usage.prompt_tokens
    assert api.home is not None
    with sqlite3.connect(api.home / "library.sqlite3") as database:  # not in the chat list
        assert database.execute("SELECT COUNT(*) FROM threads").fetchone() == (0,)


def test_embeddings_come_from_the_workspace_embedder(api: ApiServer) -> None:
    texts = ["the wifi password", "a printer called Gutenberg"]
    result = client(api).embeddings.create(model="workspace:Office", input=texts)  # base64
    vectors = np.array([r.embedding for r in result.data])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    as_floats = httpx.post(f"{api.address}/embeddings", headers={"Authorization": f"Bearer {KEY}"},
                           json={"model": EMBEDDER, "input": texts[0]}).json()  # fmt: skip
    assert np.allclose(as_floats["data"][0]["embedding"], vectors[0], atol=1e-6)
    raw = httpx.post(
        f"{api.address}/embeddings",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": EMBEDDER, "input": texts[0], "encoding_format": "base64"},
    )
    decoded = np.frombuffer(base64.b64decode(raw.json()["data"][0]["embedding"]), "<f4")
    assert np.allclose(decoded, vectors[0], atol=1e-6)


def test_a_wrong_or_missing_key_is_401_in_openais_error_shape(api: ApiServer) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        client(api, key="not-the-key").models.list()
    assert raised.value.status_code == 401
    assert "API key" in raised.value.body["message"]  # type: ignore[index]
    assert httpx.get(f"{api.address}/models").status_code == 401


def test_a_malformed_body_is_400_with_the_reason(api: ApiServer) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client(api).chat.completions.create(model=MODEL, messages=[])
    assert raised.value.body["param"] == "messages"  # type: ignore[index]
    assert "non-empty list" in raised.value.body["message"]  # type: ignore[index]
    broken = httpx.post(f"{api.address}/chat/completions", content=b"{not json",
                        headers={"Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert broken.status_code == 400
    assert "not valid JSON" in broken.json()["error"]["message"]
    with pytest.raises(openai.NotFoundError):
        client(api).chat.completions.create(
            model="workspace:Nowhere", messages=[{"role": "user", "content": "hi"}]
        )


def test_twenty_concurrent_requests_are_all_answered(
    api: ApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Workspace answers (retrieval, the thread store) and plain ones, streamed and not, all at
    once: they queue for the one request thread and the one model thread; none fails, none is
    lost, each gets its own answer."""
    office = "What is the printer on the second floor called?"

    def ask(n: int) -> tuple[str, list[object]]:
        model = "workspace:Office" if n % 2 else MODEL
        messages = [{"role": "user", "content": office if n % 2 else f"Repeat the number {n}."}]
        if n % 4 == 0:  # streamed
            chunks = list(client(api).chat.completions.create(
                model=model, messages=messages, max_tokens=4, temperature=0, stream=True,  # type: ignore[arg-type]
            ))  # fmt: skip
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            return text, (chunks[-1].model_extra or {}).get("citations", [])
        reply = client(api).chat.completions.create(
            model=model, messages=messages, max_tokens=4, temperature=0,  # type: ignore[arg-type]
        )  # fmt: skip
        return reply.choices[0].message.content or "", (reply.model_extra or {})["citations"]

    with caplog.at_level(logging.INFO, logger="anyllm.api"), ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(ask, range(20)))
    assert len(answers) == 20 and all(text for text, _ in answers)
    assert all(citations for text, citations in answers[1::2])  # every workspace answer cites
    lines = [r.getMessage() for r in caplog.records if "/v1/chat/completions" in r.getMessage()]
    assert len(lines) == 20 and all("status=200" in line for line in lines)
    # The log holds no text of a prompt or an answer, and never the key.
    logged = "\n".join(lines)
    assert "Repeat the number" not in logged and "printer" not in logged and KEY not in logged
    assert not any(t.strip() in logged for t, _ in answers if len(t.strip()) > 3)


def test_the_key_is_rotated_kept_in_the_secret_store_and_never_in_plain_files(
    keyless_env: dict[str, str], anyllm_home: Path
) -> None:
    first = anyllm(keyless_env, "serve", "--rotate-key")
    second = anyllm(keyless_env, "serve", "--rotate-key")
    assert first.returncode == second.returncode == 0, first.stderr
    old, new = (run.stdout.strip().rsplit(" ", 1)[-1] for run in (first, second))
    assert old != new and new.startswith("anyllm-")
    kept = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from anyllm_desktop."
         "services.api_server.auth import stored_key; print(*stored_key(Path(sys.argv[1])))",
         str(anyllm_home)], env=keyless_env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert kept.stdout.split() == [new, "False"]  # the kept key, not a new one
    for path in anyllm_home.rglob("*"):
        assert not path.is_file() or new.encode() not in path.read_bytes(), path


def test_anyllm_serve_prints_a_new_key_once_serves_and_stops_on_ctrl_c(
    keyless_env: dict[str, str],
) -> None:
    def serve(port: int) -> tuple[subprocess.Popen[str], list[str]]:
        # Ctrl-C as in a terminal even when the suite itself runs in the background (`cmd &`
        # in a script starts it with SIGINT ignored, and Python keeps an ignored SIGINT): the
        # server is exec'd with SIGINT at its default (no preexec_fn: a fork with JAX loaded).
        command = [str(BIN_DIR / "anyllm"), "serve", "--port", str(port)]
        process = subprocess.Popen(
            [sys.executable, "-c", CTRL_C_DEFAULT, *command], env=keyless_env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]  # the key line, "Serving on"
        assert lines[1].startswith(f"Serving on http://127.0.0.1:{port}/v1"), lines
        return process, lines

    def stop(process: subprocess.Popen[str]) -> str:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        return stderr

    port = free_port()
    process, lines = serve(port)
    key = lines[0].strip().rsplit(" ", 1)[-1]
    assert "shown once" in lines[0] and key.startswith("anyllm-")
    assert [m.id for m in client_at(port, key).models.list()][-1] == EMBEDDER
    logged = stop(process)
    assert "GET /v1/models model=- status=200" in logged and key not in logged
    again, lines = serve(port)  # the kept key: not printed a second time
    assert key not in lines[0] and "kept in the keyring" in lines[0]
    assert client_at(port, key).models.list().data
    stop(again)


def client_at(port: int, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
