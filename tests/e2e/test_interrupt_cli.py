"""Ctrl-C in the real ``anyllm ask`` and ``anyllm chat`` while a provider has sent a few tokens
and then only keep-alives: the first Ctrl-C ends the command within seconds (not after the
server's timeout), with exit code 130, and the partial answer is printed and kept in the thread,
marked stopped. Without a Ctrl-C, the idle timeout ends such a turn and the thread keeps the
partial answer with the reason."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator

import pytest

from anyllm_desktop.core.events import Error
from anyllm_desktop.providers.cloud_formats import OpenAICompatibleProvider
from anyllm_desktop.services.chat import ChatService
from anyllm_desktop.services.grounding import NO_PASSAGE
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from tests.conftest import BIN_DIR
from tests.e2e.test_ingest_cli import anyllm
from tests.replay_server import Replay, Reply
from tests.unit.test_cloud_providers import OPENAI_STREAM, _endpoint
from tests.unit.test_hostile_servers import _repeat

pytestmark = pytest.mark.e2e

#: What the user is shown of the two tokens: no passage, so the plain word first and no [1].
SHOWN = NO_PASSAGE + "Sid is unstable."


def _stalling() -> Iterator[bytes]:
    """Two tokens, then a keep-alive every half second for a minute (the server then ends)."""
    return _repeat(OPENAI_STREAM[:3], b": ping\n\n", every_s=0.5, for_s=60)


def _set_up(env: dict[str, str], server: Replay) -> None:
    for command in (
        ("providers", "add", "stall", "--kind", "openai-compatible", "--base-url",
         f"{server.url}/v1", "--model", "gpt-test"),
        ("offline", "off"),
        ("workspace", "create", "Notes"),
    ):  # fmt: skip
        done = anyllm(env, *command)
        assert done.returncode == 0, done.stderr


def _interrupt_after_tokens(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Wait until the answer's first tokens are on stdout, press Ctrl-C once, and give the
    command 10 s to end; its whole stdout and stderr."""
    assert process.stdout is not None
    expected = NO_PASSAGE + "Sid is unstable"  # an empty workspace: the answer says so first
    seen = process.stdout.read(len(expected))
    assert seen == expected, seen + (process.stderr.read() if process.stderr else "")
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("anyllm was still running 10 s after the first Ctrl-C")
    return seen + out, err


def _last_answer(env: dict[str, str], thread: str) -> dict[str, object]:
    exported = anyllm(env, "export", thread, "--format", "json")
    assert exported.returncode == 0, exported.stderr
    messages = json.loads(exported.stdout)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    return messages[-1]  # type: ignore[no-any-return]


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_the_first_ctrl_c_stops_at_once_and_keeps_the_partial_answer(
    keyless_env: dict[str, str], server: Replay, command: str
) -> None:
    _set_up(keyless_env, server)
    server.replies = [Reply(chunks=_stalling())]
    question = ["What is sid?"] if command == "ask" else []
    process = subprocess.Popen(
        [str(BIN_DIR / "anyllm"), command, "-w", "Notes", *question, "--provider", "stall",
         "--send-to-cloud"],
        env=keyless_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdin is not None
    if command == "chat":
        process.stdin.write("What is sid?\nAnd testing?\n")
        process.stdin.flush()
    out, err = _interrupt_after_tokens(process)
    assert process.returncode == 130, err
    assert "stopped by Ctrl-C; the partial answer is kept in thread" in err
    thread = out.rsplit("(thread ", 1)[1].split(")")[0]
    answer = _last_answer(keyless_env, thread)
    assert answer["content"] == SHOWN and answer["stopped"] is True
    assert len(server.requests) == 1  # chat asked nothing more after the Ctrl-C


def test_a_stalled_turn_keeps_its_partial_answer_with_the_reason(
    library: Library, server: Replay
) -> None:
    provider = OpenAICompatibleProvider(_endpoint(server.url, timeout_s=1.0))
    provider.name = "stall"
    library.create_workspace("Notes")
    library.update_chat("Notes", cloud_consent=["stall"])
    server.replies = [Reply(chunks=_stalling())]
    host = ModelHost(provider)
    try:
        events = list(ChatService(library, host).ask("Notes", "What is sid?"))
    finally:
        host.close()
    reason = "TestCloud sent nothing for 1 s; stopped. The partial answer is kept."
    assert events[-1] == Error(reason)
    thread = library.threads.of_workspace(library.workspace("Notes").id)[0]
    stored = library.threads.messages(thread.id)[-1]
    assert (stored.role, stored.content, stored.error) == ("assistant", SHOWN, reason)
