"""Sentence splitting and the choice of evidence (lexical path: a workspace whose embedder is a
cloud one; the embedded model's path runs in tests/e2e/test_evidence_e2e.py), and evidence kept
with the message and exported."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.sentences import (
    content_words,
    cut_to_sentence,
    labelled_row,
    split_sentences,
)
from anyllm_desktop.services.evidence import EvidenceFinder, passage_sentences
from anyllm_desktop.services.export import export_thread
from anyllm_desktop.store import database
from anyllm_desktop.store.threads import Threads

R_FAQ = (
    "(Unix-like only.) The add-on packages on CRAN come as gzipped tar files named "
    "pkg_version.tar.gz. Packages from a local file are installed at the shell prompt with:\n"
    "```\nR CMD INSTALL path/pkg_version.tar.gz\n```\n"
    "To load a package, type library(pkg) at the R prompt, e.g. in a session. See Section 5.1 "
    "of the manual."
)


def _texts(text: str) -> list[str]:
    sentences = split_sentences(text)
    assert all(text[s.start : s.end] == s.text for s in sentences)  # places are exact
    return [s.text for s in sentences]


def test_abbreviations_versions_and_file_names_do_not_end_a_sentence() -> None:
    text = "Dr. Smith wrote v1.2.3 on Jan. 5, e.g. in pkg_1.0.tar.gz. John F. Kennedy came. Done!"
    assert _texts(text) == [
        "Dr. Smith wrote v1.2.3 on Jan. 5, e.g. in pkg_1.0.tar.gz.",
        "John F. Kennedy came.",
        "Done!",
    ]


def test_a_one_letter_name_can_end_a_sentence() -> None:
    assert _texts("Packages are written in R. Then they are built.") == [
        "Packages are written in R.",
        "Then they are built.",
    ]


def test_list_items_code_lines_and_commands_are_units_wrapped_lines_are_joined() -> None:
    text = (
        "Install it as follows. The file must\nbe a tarball.\n"
        "- first item: run `apt-get install foo.bar`\n"
        "1. Numbered step. Then more.\n"
        "```\nmake install\necho done.\n```\n"
        "$ R CMD INSTALL pkg.tar.gz\n"
    )
    assert _texts(text) == [
        "Install it as follows.",
        "The file must\nbe a tarball.",
        "- first item: run `apt-get install foo.bar`",
        "1. Numbered step.",
        "Then more.",
        "make install",
        "echo done.",
        "$ R CMD INSTALL pkg.tar.gz",
    ]


def test_a_sentence_without_punctuation_is_cut_at_words() -> None:
    sentences = split_sentences("word " * 300)
    assert len(sentences) > 1 and all(len(s.text) <= 400 for s in sentences)


def test_content_words_match_across_inflections() -> None:
    assert content_words("How do I install a package from a local file?") <= content_words(
        "Packages from local files are installed"
    )


def test_a_sentence_that_ends_with_a_colon_keeps_the_command_after_it() -> None:
    passage = Passage(1, "R FAQ", "/docs/R-FAQ.pdf", 26, "5.2", R_FAQ)
    texts = [s.text for s in passage_sentences([passage])[0]]
    assert (
        "Packages from a local file are installed at the shell prompt with: "
        "R CMD INSTALL path/pkg_version.tar.gz"
    ) in texts


def test_the_evidence_is_the_sentence_that_answers_the_question() -> None:
    other = Passage(2, "R FAQ", "/docs/R-FAQ.pdf", 30, "5.4", "Use R CMD REMOVE pkg to remove.")
    faq = Passage(1, "R FAQ", "/docs/R-FAQ.pdf", 26, "5.2", R_FAQ)
    finder = EvidenceFinder("How do I install a package from a local file?", [faq, other], None)
    evidence = finder.evidence("Use install_package(name, path) in R.")
    assert evidence[0]["n"] == 1 and evidence[0]["page"] == 26
    assert "R CMD INSTALL path/pkg_version.tar.gz" in evidence[0]["text"]
    assert {"n", "document", "path", "page", "text", "start", "end"} <= set(evidence[0])
    # Its place in the passage, for marking it there.
    assert R_FAQ[evidence[0]["start"] : evidence[0]["end"]].startswith("Packages from a local")


def test_agreement_with_the_answer_breaks_a_tie_between_sentences() -> None:
    text = "The stable release is called bookworm. The testing release is called trixie."
    passage = Passage(1, "Debian FAQ", "/docs/faq.html", None, "", text)
    finder = EvidenceFinder("What is the release called?", [passage], None)
    assert finder.evidence("It is called trixie.")[0]["text"] == (
        "The testing release is called trixie."
    )
    assert finder.evidence("It is called bookworm.")[0]["text"] == (
        "The stable release is called bookworm."
    )


def test_no_evidence_without_passages_or_without_a_matching_sentence() -> None:
    assert EvidenceFinder("Anything?", [], None).evidence("Something.") == []
    passage = Passage(1, "Recipes", "/docs/r.md", None, "", "Bake the bread for an hour.")
    finder = EvidenceFinder("Which port does the server use?", [passage], None)
    assert finder.evidence("Port 80.") == []


def test_evidence_and_the_support_check_are_kept_and_exported(threads: Threads) -> None:
    text = "Use R CMD INSTALL path/pkg_version.tar.gz."
    evidence = [{"n": 1, "document": "R FAQ", "path": "/docs/R-FAQ.pdf", "page": 26,
                 "text": text, "start": 0, "end": 40}]  # fmt: skip
    unsupported = [{"sentence": "Use `install_package(x)`.", "reason": "not_in_documents",
                    "missing": ["install_package(x)"], "coverage": 0.5}]  # fmt: skip
    threads.add_message(1, "user", "How do I install a package from a local file?")
    threads.add_message(1, "assistant", "Shown text", evidence=evidence, unsupported=unsupported,
                        generated="Use `install_package(x)`.")  # fmt: skip
    reopened = threads.messages(1)[1]  # as a reopened chat reads it
    assert reopened.evidence == evidence and reopened.unsupported == unsupported
    assert reopened.generated == "Use `install_package(x)`."
    exported = json.loads(export_thread(threads.get(1), threads.messages(1), "json"))
    assert exported["messages"][1]["evidence"] == evidence
    assert exported["messages"][1]["unsupported"] == unsupported
    markdown = export_thread(threads.get(1), threads.messages(1), "md")
    assert "**From your documents**" in markdown
    assert "> Use R CMD INSTALL path/pkg_version.tar.gz. [1] (R FAQ, page 26)" in markdown
    assert "not in any passage: install_package(x)" in markdown


def test_messages_of_a_library_from_before_the_evidence_still_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    for script in database.MIGRATIONS[:4]:
        old.executescript(script)
    old.execute("PRAGMA user_version = 4")
    old.execute("INSERT INTO workspaces (name, created_at, embedding_model, vector_table, uid) "
                "VALUES ('R', 0, 'embedded:minilm', 't', 'u')")  # fmt: skip
    old.execute("INSERT INTO threads (workspace_id, title, created_at, updated_at) "
                "VALUES (1, 'old', 0, 0)")  # fmt: skip
    old.execute("INSERT INTO messages (thread_id, role, content, created_at) "
                "VALUES (1, 'assistant', 'An old answer', 0)")  # fmt: skip
    old.close()
    message = Threads(path).messages(1)[0]
    assert (message.content, message.evidence, message.unsupported) == ("An old answer", [], [])
    assert message.generated is None


def test_irregular_and_inflected_forms_share_a_stem() -> None:
    assert content_words("Who wrote the Linux kernel?") & content_words(
        "Linux is written by Linus Torvalds"
    ) == {"linux", "write"}
    assert content_words("What does Platypus stand for?") <= content_words(
        "Platypus stands for Page Layout"
    )
    assert content_words("installation") == content_words("installed")


def test_table_rows_are_units_that_carry_their_header_row() -> None:
    table = "weight | feed\n179 | horsebean\n160 | linseed\n136 | soybean"
    assert _texts(f"chickwts\n{table}") == [
        "chickwts", "weight | feed", "179 | horsebean", "160 | linseed", "136 | soybean"
    ]  # fmt: skip
    passage = Passage(1, "datasets", "/docs/datasets.xlsx", 2, "chickwts", table)
    finder = EvidenceFinder("Which feed had a weight of 160?", [passage], None)
    assert finder.evidence("")[0]["text"] == "160 | linseed"
    # The header row (which holds the sheet's name) answers nothing alone: the first row under
    # it is quoted with it.
    finder = EvidenceFinder("Which feed types are in the chickwts sheet?", [passage], None)
    first = finder.evidence("")[0]
    assert first["text"] == "weight | feed 179 | horsebean"
    assert passage.text[first["start"] : first["end"]] == "weight | feed\n179 | horsebean"


def test_the_row_the_question_names_is_quoted_with_its_columns() -> None:
    """A row named by a cell ("row C") under a column the question names ("Header 3") beats
    prose about tables in a higher-ranked passage; the header row repeated atop the next
    chunk of a joined passage is a header again, not a row named by "feed"."""
    prose = Passage(
        1,
        "User Guide",
        "/docs/guide.pdf",
        84,
        "Tables",
        "The first row of cell values is in data[0], in row order of the table.",
    )
    slide = Passage(
        2,
        "Slides",
        "/docs/slides.pptx",
        1,
        "Title",
        "Header 1 | Header 2 | Header 3\nA | 12.23 | blah\nC | 6 | Hello",
    )
    question = "In the table on the first slide, what is in the Header 3 column for row C?"
    best = EvidenceFinder(question, [prose, slide], None).evidence("")[0]
    assert (best["n"], best["text"], best["columns"]) == (
        2,
        "C | 6 | Hello",
        "Header 1 | Header 2 | Header 3",
    )
    assert labelled_row(best["columns"], best["text"]) == (
        "Header 1: C · Header 2: 6 · Header 3: Hello"
    )
    joined = Passage(
        1,
        "datasets",
        "/docs/d.xlsx",
        3,
        "chickwts",
        "weight | feed\n179 | horsebean\nweight | feed\n309 | linseed",
    )
    finder = EvidenceFinder("Which feed types are there?", [joined], None)
    assert [(s.heading, s.header) for s in finder.sentences] == [
        (True, ""), (False, "weight | feed"), (True, ""), (False, "weight | feed")
    ]  # fmt: skip
    quoted = finder.evidence("")
    assert [(e["text"], e["columns"]) for e in quoted] == [
        ("179 | horsebean", "weight | feed"), ("309 | linseed", "weight | feed")
    ]  # fmt: skip


def test_a_sentence_that_begins_with_this_is_quoted_with_what_it_refers_to() -> None:
    text = (
        "This section shows the glyphs. The chart below shows the WinAnsiEncoding. It is "
        "also known as Code Page 1252. This is the default encoding used by the library."
    )
    passage = Passage(1, "User Guide", "/docs/guide.pdf", 50, "3.4 Encodings", text)
    best = EvidenceFinder("What is the library's default encoding?", [passage], None).evidence("")[
        0
    ]
    assert best["text"] == (
        "The chart below shows the WinAnsiEncoding. It is also known as Code Page 1252. "
        "This is the default encoding used by the library."
    )
    assert text[best["start"] : best["end"]] == best["text"]


def test_a_heading_is_quoted_with_the_sentence_after_it() -> None:
    text = "Tools for building packages\n\nInstall build-essential first. It pulls in gcc and make."
    passage = Passage(1, "Debian Reference", "/docs/ref.pdf", 12, "2.7", text)
    finder = EvidenceFinder("Which tools do I need for building packages?", [passage], None)
    assert finder.evidence("")[0]["text"] == (
        "Tools for building packages Install build-essential first."
    )


def test_a_question_in_the_document_is_quoted_with_its_answer_after_it() -> None:
    text = (
        "Labels are better put in a legend. startAngle Where is the start angle of the first "
        "pie slice? The default is '90' which is twelve o'clock. direction Which direction do "
        "slices progress in?"
    )
    passage = Passage(1, "ReportLab User Guide", "/docs/rl.pdf", 93, "Pie charts", text)
    finder = EvidenceFinder("What is the default startAngle of a pie chart?", [passage], None)
    assert finder.evidence("")[0]["text"] == (
        "startAngle Where is the start angle of the first pie slice? "
        "The default is '90' which is twelve o'clock."
    )


def test_the_best_sentence_is_quoted_when_it_holds_a_word_of_the_question() -> None:
    text = "Please mail corrections to doc-debian@packages.debian.org. The FAQ is updated often."
    passage = Passage(1, "Debian FAQ", "/docs/faq.html", None, "", text)
    finder = EvidenceFinder("Where should I send corrections about errors?", [passage], None)
    assert finder.evidence("")[0]["text"] == (
        "Please mail corrections to doc-debian@packages.debian.org."
    )


def test_a_long_run_without_full_stops_comes_apart_at_its_lines() -> None:
    table = "\n".join(f"flag{i} The widget is fixed 1<<{i}" for i in range(16))
    heading = "Chapter 5 PLATYPUS - Page Layout 5.1 Platypus stands for Page Layout."
    assert _texts(f"{table}\n{heading}")[-1] == heading


def test_a_lead_in_or_a_sentence_that_goes_on_about_the_best_is_quoted_with_it() -> None:
    text = "You can list the files opened by a process by the following.\n$ sudo lsof -p 1\n"
    passage = Passage(1, "Debian Reference", "/docs/ref.pdf", 9, "9.4", text)
    finder = EvidenceFinder("Which command lists the files a process opened?", [passage], None)
    assert finder.evidence("")[0]["text"].endswith("by the following. $ sudo lsof -p 1")
    text = (
        "To build packages you need a development environment with a C compiler. To install "
        "this environment, install the build-essential package. Debian has many packages."
    )
    passage = Passage(1, "Debian FAQ", "/docs/faq.html", None, "", text)
    finder = EvidenceFinder("Which package gives me a compiler to build packages?", [passage], None)
    assert "build-essential" in finder.evidence("")[0]["text"]


def test_an_answer_cut_at_its_limit_ends_at_its_last_whole_sentence() -> None:
    cut = "Mix compost in spring [§Soil]. Water early. Slugs eat young lett"
    assert cut_to_sentence(cut) == "Mix compost in spring [§Soil]. Water early."
    tagged = "Mix compost in spring. [p. 3–4] Water in the morn"
    assert cut_to_sentence(tagged) == "Mix compost in spring. [p. 3–4]"
    assert cut_to_sentence("It ends well.  ") == "It ends well."
    assert cut_to_sentence("No end at all in this long cut answ") == (
        "No end at all in this long cut answ …"
    )
    assert cut_to_sentence("Hi. then a long cut answer that goes on and on and on") == (
        "Hi. then a long cut answer that goes on and on and on …"  # less than a third left
    )


def test_a_hyphenated_word_of_a_passage_holds_its_parts() -> None:
    text = (
        "The od command dumps files. When the screen goes berserk after \u201dcat "
        "some-binary-file\u201d, type \u201dreset\u201d at the prompt."
    )
    tips = Passage(1, "Debian Reference", "/docs/ref.pdf", 204, "Tips", text)
    finder = EvidenceFinder("My terminal shows garbage after I printed a binary file", [tips], None)
    assert "reset" in finder.evidence("")[0]["text"]


def test_a_sentence_in_the_documents_words_is_found_by_the_one_after_it_in_the_users() -> None:
    contact = Passage(1, "Live Systems Manual", "/live.epub", None, "2.3 Contact",
                      "A number of users and developers are present in the #debian-live channel "
                      "on irc.debian.org (OFTC). When asking a question on IRC, please be patient "
                      "for an answer. The project uses Git as version control system.")  # fmt: skip
    finder = EvidenceFinder(
        "Is there a chat room where I can ask the developers a question?", [contact], None
    )
    assert finder.evidence("")[0]["text"].startswith("A number of users and developers")


@pytest.mark.parametrize(
    ("text", "question", "quoted"),
    [
        (  # a sentence that begins "The following …"
            "The following sets system and hardware time to MM/DD hh:mm, CCYY.\n"
            "# date MMDDhhmmCCYY\n# hwclock --utc --systohc\n# hwclock --show\n"
            "Times are normally displayed in the local time.",
            "How do I set the system and hardware time?",
            "hwclock --utc --systohc",
        ),
        (  # prose right before a command line, full stop or not
            "Now, as superuser, build the image, saving a log as you build with tee.\n"
            "# lb build 2>&1 | tee build.log\n"
            "Assuming all goes well, the image will be in the folder.",
            "How do I keep a log of the image build?",
            "saving a log as you build with tee. # lb build 2>&1 | tee build.log",
        ),
    ],
)
def test_a_lead_in_is_quoted_with_the_commands_after_it(
    text: str, question: str, quoted: str
) -> None:
    guide = Passage(1, "Debian Reference", "/ref.pdf", 179, "Tips", text)
    assert quoted in EvidenceFinder(question, [guide], None).evidence("")[0]["text"]


def test_the_higher_ranked_passage_wins_between_sentences_alike() -> None:
    text = "Old disks can be monitored."
    first = Passage(1, "Debian Reference", "/ref.pdf", 10, "", f"{text} Use smartd for that.")
    third = Passage(3, "Debian Reference", "/ref.pdf", 90, "", f"{text} Use hdparm for that.")
    finder = EvidenceFinder("How are old disks monitored?", [third, first], None)
    assert finder.evidence("")[0]["n"] == 1
