"""Evidence, the support check and "no evidence, no citation" with the real embedded models: the
int8 MiniLM embedder, LanceDB, and the bundled SmolLM2 GGUF where its answer is the point; a
scripted local model where what the chat service does with a given answer is the point (the
135M model's wording is not something a test can rely on)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.citations import cited_numbers
from anyllm_desktop.core.conversation import ChatMessage, Passage
from anyllm_desktop.core.events import Done, Error, Event, Sources, Token, Usage
from anyllm_desktop.providers.base import Capabilities, Completion, GenerationOptions
from anyllm_desktop.services import grounding
from anyllm_desktop.services.chat import Answer, ChatService
from anyllm_desktop.services.evidence import passage_sentences
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.support_check import check_support
from tests.e2e.conftest import ingest

pytestmark = pytest.mark.e2e

QUESTION = "How do I install a package from a local file?"
COMMAND = "R CMD INSTALL path/pkg_version.tar.gz"
INVENTED = "You can install it using the command `install_package(name, path)` in R [1][7]."
R_FAQ = f"""# R FAQ

## 5.1 Which add-on packages exist for R?

The R distribution comes with the following packages: base, compiler, datasets, graphics,
grDevices, grid, methods, parallel, splines, stats, stats4, tcltk, tools and utils. Many more
packages are available from CRAN, the Comprehensive R Archive Network.

## 5.2 How can add-on packages be installed?

(Unix-like only.) The add-on packages on CRAN come as gzipped tar files named
pkg_version.tar.gz. Packages from a local file of this kind are installed at the shell prompt
with

```
{COMMAND}
```

which installs to the library tree rooted at the first directory in your library path. To
install to another tree (e.g., your private one), use R CMD INSTALL -l lib
path/pkg_version.tar.gz, where lib gives the path to the library tree to install to.

## 5.3 How can add-on packages be used?

To find out which additional packages are available on your system, type library() at the R
prompt. To load a package, type library(pkg). You can also use require(pkg), which returns
FALSE if the package is not installed.

## 5.4 How can add-on packages be removed?

Use R CMD REMOVE pkg_1 pkg_2 at the shell prompt to remove the packages pkg_1 and pkg_2 from
the library tree, or remove.packages() from within R.
"""


@pytest.fixture
def r_faq(library: Library, tmp_path: Path) -> Path:
    path = tmp_path / "R-FAQ.md"
    path.write_text(R_FAQ, encoding="utf-8")
    library.create_workspace("R")
    ingest(library, "R", path)
    library.update_chat("R", temperature=0.0, max_answer_tokens=48)
    return path


class ScriptedModel:
    """A local model that always answers the same text, a few characters a token."""

    name = "scripted"
    model = "scripted"
    capabilities = Capabilities(local=True)
    context_size = 8192

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(len(m.content) // 4 + 4 for m in messages)

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> Iterator[Event]:
        pieces = re.findall(r".{1,3}", self.answer, re.DOTALL)
        yield from (Token(piece) for piece in pieces)
        yield Usage(self.count_tokens(messages), len(pieces))
        yield Done(Completion(self.answer, False, 0.01, 100.0, 100, 0, len(pieces)))


@pytest.fixture
def scripted(library: Library) -> Iterator[tuple[ChatService, ScriptedModel]]:
    model = ScriptedModel(INVENTED)
    host = ModelHost(model)
    yield ChatService(library, host), model
    host.close()


def _answer(events: list[Event]) -> Answer:
    assert not [e for e in events if isinstance(e, Error)], events
    assert isinstance(events[-1], Done)
    return events[-1].result


def test_the_evidence_quotes_the_command_of_the_passage(library: Library, r_faq: Path) -> None:
    host = ModelHost(library.runtime.create_chat_provider())
    try:
        answer = _answer(list(ChatService(library, host).ask("R", QUESTION)))
    finally:
        host.close()
    evidence = answer.evidence[0]
    assert COMMAND in evidence["text"] and evidence["path"] == str(r_faq)
    source = next(s for s in answer.sources if s["n"] == evidence["n"])
    assert (
        " ".join(source["text"][evidence["start"] : evidence["end"]].split()) == (evidence["text"])
    )
    assert answer.timings["evidence_s"] > 0
    stored = library.threads.messages(answer.thread)[1]  # a reopened chat shows them
    assert stored.evidence == answer.evidence and stored.unsupported == answer.unsupported
    # Golden (temperature 0): the 135M model answers with library(), the command of another
    # passage ("To find out which additional packages are available ... use library() at the
    # R prompt"); the support check says it is not the evidence's command.
    assert "library()" in answer.answer
    assert {"reason": "differs_from_evidence", "commands": ["library()"]}.items() <= next(
        u for u in answer.unsupported if "library()" in u["sentence"]
    ).items()
    # The answer the 135M model gave on the R FAQ (issue 15), checked against these passages.
    passages = [Passage.from_dict(s) for s in answer.sources]
    flagged = check_support(INVENTED, QUESTION, passages, passage_sentences(passages))
    assert flagged[0]["missing"] == ["install_package(name, path)"]


def test_query_mode_shows_the_evidence_instead_of_an_invented_command(
    library: Library, r_faq: Path, scripted: tuple[ChatService, ScriptedModel]
) -> None:
    chat, _ = scripted
    library.update_chat("R", mode="query")
    events = list(chat.ask("R", QUESTION))
    answer = _answer(events)
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert "[7]" not in streamed and "[1]" in streamed  # no citation without a passage
    assert answer.unsupported[0]["missing"] == ["install_package(name, path)"]
    assert answer.answer.startswith(grounding.NOT_CHECKED) and COMMAND in answer.answer
    assert "install_package" not in answer.answer and answer.generated == INVENTED
    stored = library.threads.messages(answer.thread)[1]
    assert stored.content == answer.answer and stored.generated == INVENTED
    # In chat mode the answer is shown, its citation to no passage removed, the claim listed.
    library.update_chat("R", mode="chat")
    shown = _answer(list(chat.ask("R", QUESTION)))
    assert shown.answer == INVENTED.replace("[1][7]", "[1]") and shown.unsupported


def test_a_question_while_files_are_being_indexed_says_so(
    library: Library, r_faq: Path, scripted: tuple[ChatService, ScriptedModel]
) -> None:
    chat, _ = scripted
    workspace = library.workspace("R")
    for name in ("big.pdf", "bigger.pdf"):  # as an ingest records them before their passages
        library.records.begin_document(workspace.id, content_hash=name, path=f"/docs/{name}",
                                       title=name, kind="pdf", size=1, pages=1)  # fmt: skip
    events = list(chat.ask("R", QUESTION))
    note = "2 files are still being indexed; this answer could not use them yet."
    assert note in next(e for e in events if isinstance(e, Sources)).notes
    assert note in _answer(events).notes


def test_an_empty_workspace_answers_plainly_without_a_citation(library: Library) -> None:
    library.create_workspace("Empty")
    library.update_chat("Empty", temperature=0.0, max_answer_tokens=32)
    host = ModelHost(library.runtime.create_chat_provider())
    try:
        events = list(ChatService(library, host).ask("Empty", "What is in my documents?"))
    finally:
        host.close()
    answer = _answer(events)
    assert answer.answer.startswith(grounding.NO_PASSAGE)
    assert cited_numbers(answer.answer) == [] and answer.citations == []
    assert answer.evidence == [] and not answer.sources
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert streamed == answer.answer


def test_files_waiting_in_a_queued_ingest_count_as_being_indexed(
    library: Library, r_faq: Path, scripted: tuple[ChatService, ScriptedModel], tmp_path: Path
) -> None:
    from anyllm_desktop.services.jobs import JobService, paths_param

    chat, _ = scripted
    waiting = tmp_path / "waiting.md"
    waiting.write_text("# Notes\n\nNot indexed yet.\n")
    (tmp_path / "folder").mkdir()
    service = JobService(library)
    service.submit("ingest", "R", paths=paths_param([waiting, tmp_path / "folder"]))
    events = list(chat.ask("R", QUESTION))
    note = ("1 file and the files of 1 folder are still being indexed; this answer could not "
            "use them yet.")  # fmt: skip
    assert note in _answer(events).notes
