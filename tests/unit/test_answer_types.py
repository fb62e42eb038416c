"""The kind of text a question asks for, and sentences that hold it (core/answer_types.py)."""

from __future__ import annotations

import pytest

from anyllm_desktop.core.answer_types import (
    CODE,
    DATE,
    DEFINITION,
    NUMBER,
    PATH,
    PERSON,
    expected_type,
    holds,
)
from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.services.evidence import EvidenceFinder


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who founded the project?", PERSON),
        ("When was the first release?", DATE),
        ("How many packages are there?", NUMBER),
        ("What is the default port?", NUMBER),
        ("Which file tells apt where to download packages from?", PATH),
        ("Which package provides CPU microcode updates?", CODE),
        ("How do I install a package from a local file?", CODE),
        ("What do I type to fix the terminal?", CODE),
        ("I want contrib as well. What do I tell live-build?", CODE),
        ("What do I have to set so that man finds them?", CODE),
        ("What do I get with the DVD?", None),
        ("Is there a tool that converts an .rpm for Debian?", CODE),
        ("Is there a way to undo an upgrade?", CODE),
        ("Is there a Debian mailing list?", None),
        ("What was bookworm in the Toy Story movie?", DEFINITION),
        ("What is Platypus?", DEFINITION),
        ("What is the codename of the unstable distribution?", None),
        ("What is in my documents?", None),
        ("I'm giving away an old USB stick. How do I wipe it?", CODE),
        ("My disk is old. Is there a way to be warned before it fails?", CODE),
        ("Can I safely remove an old kernel, and if so, how?", CODE),
        ("Why is the sky blue?", None),
    ],
)
def test_the_kind_a_question_asks_for(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


def test_a_sentence_holds_the_kind_only_beyond_the_question() -> None:
    assert holds(PERSON, "It was founded by Ian Murdock in 1993.", "Who founded it?")
    assert not holds(PERSON, "Note that Debian is free.", "Who founded Debian?")
    assert holds(DATE, "The first release came in August 1993.", "When was the release?")
    assert holds(PATH, "Sources are listed in /etc/apt/sources.list.", "Which file lists them?")
    assert holds(CODE, "Install intel-microcode (non-free-firmware).", "Which package is it?")
    assert holds(CODE, "Run `R CMD INSTALL pkg.tar.gz`.", "How do I install it?")
    assert not holds(NUMBER, "Version 12 is stable.", "What is the version 12 called?")
    bookworm = "What was bookworm in the Toy Story movie?"
    assert holds(DEFINITION, "bookworm (Debian 12) was a green toy worm.", bookworm)
    assert not holds(DEFINITION, "Names come from the Toy Story movies; bookworm too.", bookworm)
    # An option has no content word of its own, and is code all the same.
    assert holds(CODE, "lsof -p pid list files opened by a process", "Which command shows them?")
    assert not holds(CODE, "It lists the files opened by a process.", "Which command shows them?")


def test_the_sentence_that_holds_what_is_asked_is_the_evidence() -> None:
    """Both sentences hold as many of the question's words; only one names a file."""
    text = (
        "Apt tells you which packages it will download. Apt downloads packages from the "
        "sources in the file /etc/apt/sources.list."
    )
    passage = Passage(1, "apt.md", "/docs/apt.md", None, "Apt", text)
    finder = EvidenceFinder("Which file tells apt where to download packages from?", [passage],
                            embed=None)  # fmt: skip
    assert "/etc/apt/sources.list" in finder.evidence("")[0]["text"]
