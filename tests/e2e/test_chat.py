"""The RAG turn end to end: the bundled GGUF through llama-cpp-python, the real embedder and
LanceDB, threads in SQLite, and the CLI contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Progress, Sources, Token, Usage
from anyllm_desktop.services.chat import Answer, ChatService
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.runtime import Runtime
from tests.e2e.conftest import DATA, ingest
from tests.e2e.test_ingest_cli import anyllm

pytestmark = pytest.mark.e2e

FAQ = DATA / "debian-faq-archives.html"
QUESTION = "What is the codename of the unstable distribution?"


@pytest.fixture
def chat(library: Library) -> Iterator[ChatService]:
    library.create_workspace("FAQ")
    ingest(library, "FAQ", FAQ)
    library.update_chat("FAQ", temperature=0.0, max_answer_tokens=64)
    host = ModelHost(library.runtime.create_chat_provider())
    service = ChatService(library, host)
    yield service
    host.close()


def _answer(events: list[Event]) -> Answer:
    assert not [e for e in events if isinstance(e, Error)], events
    assert isinstance(events[-1], Done)
    return events[-1].result


def test_a_grounded_answer_cites_the_passage_that_holds_it(chat: ChatService) -> None:
    events = list(chat.ask("FAQ", QUESTION))
    kinds = [type(e) for e in events]
    assert kinds[0] is Progress and Sources in kinds and Token in kinds and Usage in kinds
    answer = _answer(events)
    assert answer.answer == "".join(e.text for e in events if isinstance(e, Token))
    # temperature 0: the same answer every run (golden). The 135M model writes no [n], so the
    # passage holding the answer's words is cited (inferred): the one saying "unstable is a
    # permanent symbolic link to sid".
    assert answer.answer == GOLDEN_ANSWER
    assert answer.citations[0]["valid"] and answer.citations[0]["inferred"]
    assert "unstable is a permanent symbolic link to sid" in answer.citations[0]["text"]
    # The sentence that says so is quoted as evidence, and nothing of the answer is unsupported.
    assert any("symbolic link to sid" in e["text"] for e in answer.evidence)
    assert answer.unsupported == []
    assert answer.citations[0]["path"] == str(FAQ)
    assert answer.sources and answer.timings["prompt_tokens"] > 0
    stored = chat.threads.messages(answer.thread)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].citations == answer.citations and stored[1].timings == answer.timings


GOLDEN_ANSWER = 'The codename of the unstable distribution is "sid".'


def test_a_follow_up_reuses_the_cached_prefix(chat: ChatService) -> None:
    first = _answer(list(chat.ask("FAQ", QUESTION)))
    second = _answer(list(chat.ask("FAQ", "And the testing one?", thread_id=first.thread)))
    assert second.thread == first.thread
    assert second.timings["cached_tokens"] >= first.timings["prompt_tokens"]
    assert [m.role for m in chat.threads.messages(first.thread)] == ["user", "assistant"] * 2


def test_stop_during_prompt_evaluation_and_during_generation(chat: ChatService) -> None:
    cancel = CancelToken()
    events = []
    for event in chat.ask("FAQ", QUESTION, cancel=cancel):
        events.append(event)
        if isinstance(event, Sources):
            cancel.cancel()  # before the first batch of the prompt is evaluated
    answer = _answer(events)
    assert answer.stopped and answer.answer == "" and not any(isinstance(e, Token) for e in events)

    cancel = CancelToken()
    tokens = []
    for event in chat.ask("FAQ", QUESTION, thread_id=answer.thread, cancel=cancel):
        if isinstance(event, Token):
            tokens.append(event.text)
            if len(tokens) == 3:
                cancel.cancel()
        elif isinstance(event, Done):
            answer = event.result
    assert answer.stopped and answer.answer == "".join(tokens) and len(tokens) == 3
    assert chat.threads.messages(answer.thread)[-1].stopped  # kept, marked as stopped


def test_a_long_history_never_overflows_the_window(chat: ChatService, library: Library) -> None:
    library.update_chat("FAQ", max_answer_tokens=16, history_turns=50)
    # A 1,024-token window fills as surely as the default 8,192 and is read 8x sooner.
    library.runtime.settings = replace(library.runtime.settings, context_size=1024)
    small = ChatService(library, ModelHost(library.runtime.create_chat_provider()))
    try:
        host_context = small.host.run(lambda p: p.context_size)
        assert host_context == 1024
        thread = None
        long_question = "Tell me about the archive sections. " * 40
        for _ in range(3):
            answer = _answer(list(small.ask("FAQ", long_question, thread_id=thread)))
            thread = answer.thread
        # Pretend the thread is much longer than the window: 30 more stored turns.
        for _ in range(30):
            sent = "Passages: " + "filler text " * 120 + long_question
            small.threads.add_message(thread, "user", long_question, sent_content=sent)
            small.threads.add_message(thread, "assistant", "An answer. " * 20)
        events = list(small.ask("FAQ", QUESTION, thread_id=thread))
    finally:
        small.host.close()
    answer = _answer(events)
    assert answer.timings["prompt_tokens"] + 16 <= host_context
    notes = next(e for e in events if isinstance(e, Sources)).notes
    assert any("oldest turns" in note for note in notes)


def test_query_mode_refuses_without_calling_the_model(chat: ChatService, library: Library) -> None:
    library.update_chat("FAQ", mode="query", refusal_message="Not in the documents.")
    library.update_retrieval("FAQ", similarity_threshold=0.95)
    answer = _answer(list(chat.ask("FAQ", "How do I bake sourdough bread?")))
    assert answer.refused and answer.answer == "Not in the documents." and not answer.sources
    assert "ttft_s" not in answer.timings  # the model was not called


def test_regenerate_and_edit_and_resend(chat: ChatService) -> None:
    first = _answer(list(chat.ask("FAQ", QUESTION)))
    again = _answer(list(chat.regenerate(first.thread, CancelToken())))
    assert again.answer == first.answer  # temperature 0
    versions = chat.threads.versions(first.thread)  # the first answer is kept as a version
    assert [v.id for v in versions] == [first.message, again.message]
    assert len(chat.threads.messages(first.thread)) == 2
    user = chat.threads.messages(first.thread)[0]
    _answer(list(chat.edit_and_resend(first.thread, user.id, "What is sid?", CancelToken())))
    messages = chat.threads.messages(first.thread)
    assert (messages[0].role, messages[0].content) == ("user", "What is sid?")
    assert len(messages) == 2


def test_a_failing_model_is_an_error_in_the_chat(library: Library, tmp_path: Path) -> None:
    library.create_workspace("Broken")
    ingest(library, "Broken", FAQ)
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 1024)
    host = ModelHost(library.runtime.create_chat_provider(model=str(bad)))
    service = ChatService(library, host)
    events = list(service.ask("Broken", QUESTION))
    host.close()
    assert isinstance(events[-1], Error) and "could not be loaded" in events[-1].message


def test_cli_ask_chat_threads_export(child_env: dict[str, str], anyllm_home: Path) -> None:
    assert anyllm(child_env, "workspace", "create", "FAQ").returncode == 0
    assert anyllm(child_env, "ingest", "-w", "FAQ", str(FAQ)).returncode == 0
    library = Library(Runtime.open(anyllm_home))  # three answers: short ones (a 2-core runner)
    library.update_chat("FAQ", max_answer_tokens=48)
    library.close()
    asked = anyllm(child_env, "ask", "-w", "FAQ", QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert set(answer) >= {"answer", "citations", "thread", "provider", "model", "stopped",
                           "timings"}  # fmt: skip
    assert set(answer["timings"]) == {"retrieval_s", "ttft_s", "tokens_per_s", "prompt_tokens",
                                      "cached_tokens", "completion_tokens", "evidence_s",
                                      "context_size", "passages_left_out",
                                      "turns_left_out"}  # fmt: skip
    assert {"evidence", "unsupported", "generated"} <= set(answer)
    assert answer["evidence"] and {"n", "document", "path", "page", "text"} <= set(
        answer["evidence"][0]
    )
    for citation in answer["citations"]:
        assert {"n", "document", "path", "page", "section", "text"} <= set(citation) or not (
            citation["valid"]
        )
    chatted = anyllm(child_env, "chat", "-w", "FAQ", "--thread", str(answer["thread"]), "--json",
                     input="What is sid?\nWhat is testing?\n")  # fmt: skip
    assert chatted.returncode == 0, chatted.stderr
    turns = [json.loads(line) for line in chatted.stdout.splitlines()]
    assert len(turns) == 2 and {t["thread"] for t in turns} == {answer["thread"]}
    assert turns[1]["timings"]["cached_tokens"] > 0  # same process, the KV cache reused
    listed = json.loads(anyllm(child_env, "threads", "-w", "FAQ", "--json").stdout)
    assert listed["threads"][0]["thread"] == answer["thread"]
    assert listed["threads"][0]["messages"] == 6
    exported = json.loads(anyllm(child_env, "export", str(answer["thread"]), "--format",
                                 "json").stdout)  # fmt: skip
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant"] * 3
    assert exported["messages"][1]["evidence"] == answer["evidence"]
    markdown = anyllm(child_env, "export", str(answer["thread"]), "--format", "md").stdout
    assert markdown.startswith("# What is the codename") and "## Answer" in markdown
    missing = anyllm(child_env, "export", "999")
    assert missing.returncode == 2 and "no thread with id 999" in missing.stderr


def test_the_model_loads_with_progress_unloads_switches_and_reports_a_bad_file(
    library: Library, tmp_path: Path
) -> None:
    runtime = library.runtime
    host = ModelHost(runtime.create_chat_provider())
    try:
        first = host.provider
        cancel = CancelToken()
        cancel.cancel()
        assert list(host.load(cancel))[-1] == Done(None)  # cancelled after the first block
        assert not first.loaded  # type: ignore[attr-defined]

        events = list(host.load(CancelToken()))
        progress = [e for e in events if isinstance(e, Progress)]
        assert progress[-1].stage == "load" and progress[-1].done == progress[-1].total > 0
        assert [e.done for e in progress] == sorted(e.done for e in progress)
        assert events[-1] == Done(first.model) and first.loaded  # type: ignore[attr-defined]

        host.unload()
        assert not first.loaded  # type: ignore[attr-defined]

        second = runtime.create_chat_provider(seed=1)
        events = list(host.switch(second))
        assert host.provider is second and events[-1] == Done(second.model)
        assert second.loaded and not first.loaded  # type: ignore[attr-defined]

        broken = tmp_path / "broken.gguf"
        broken.write_bytes(b"GGUF" + bytes(4096))
        events = list(host.switch(runtime.create_chat_provider(model=str(broken))))
        assert isinstance(events[-1], Error) and "broken.gguf" in events[-1].message
        assert not second.loaded  # type: ignore[attr-defined]
        # The host lives on: switching back works.
        assert list(host.switch(runtime.create_chat_provider()))[-1] == Done(first.model)
    finally:
        host.close()
