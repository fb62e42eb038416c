"""The support check of a generated answer, and what query mode shows instead of an answer it
cannot check (logic only; the embedded models run in tests/e2e/test_evidence_e2e.py)."""

from __future__ import annotations

from dataclasses import replace

from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.services import grounding
from anyllm_desktop.services.evidence import EvidenceFinder, passage_sentences
from anyllm_desktop.services.support_check import check_support, claims

QUESTION = "How do I install a package from a local file?"
FAQ = Passage(
    1,
    "R FAQ",
    "/docs/R-FAQ.pdf",
    26,
    "5.2 How can add-on packages be installed?",
    "The add-on packages on CRAN come as gzipped tar files named pkg_version.tar.gz. Packages "
    "from a local file are installed at the shell prompt with R CMD INSTALL "
    "path/pkg_version.tar.gz, which installs to the first library in your library path. "
    "Version 4.3 of R added 12 new options to this command.",
)


def _check(answer: str, passages: list[Passage] | None = None) -> list[dict]:
    passages = [FAQ] if passages is None else passages
    return check_support(answer, QUESTION, passages, passage_sentences(passages))


def test_claims_are_code_commands_numbers_and_names() -> None:
    sentence = "Run `install_package(name, path)` or R CMD build --force on Linux 3 times."
    assert claims(sentence) == ["install_package(name, path)", "R", "CMD", "--force", "Linux", "3"]
    assert claims("Packages are installed from a file.") == []  # the first word is no name
    # An abbreviation is no code; a word a code span starts is part of the code.
    assert claims("Read the FAQ's advice.") == ["FAQ"]
    assert claims("Set it, e.g. with `RL_`-prefixed variables, I.e. in the shell.") == ["RL_"]


def test_an_invented_command_is_flagged_with_what_is_missing() -> None:
    unsupported = _check(
        "You can install it using the command `install_package(name, path)` in R [1]."
    )
    assert unsupported == [
        {
            "sentence": "You can install it using the command `install_package(name, path)` in R.",
            "reason": "not_in_documents",
            "missing": ["install_package(name, path)"],
            "coverage": 1.0,
        }
    ]


def test_the_command_of_the_passage_is_supported() -> None:
    answer = (
        "Packages from a local file are installed with `R CMD INSTALL path/pkg_version.tar.gz` [1]."
    )
    assert _check(answer) == []


def test_a_wrong_number_or_an_unknown_name_is_flagged() -> None:
    unsupported = _check("Version 5.1 of R added 12 new options. It ships with Debian.")
    assert [u["missing"] for u in unsupported] == [["5.1"], ["Debian"]]
    assert _check("Version 4.3 of R added 12 new options.") == []


def test_a_sentence_far_from_every_passage_sentence_is_flagged_once() -> None:
    unsupported = _check("The weather is sunny and warm in the mountains tomorrow. " * 3)
    assert len(unsupported) == 1
    assert unsupported[0]["reason"] == "no_close_passage" and unsupported[0]["missing"] == []
    assert unsupported[0]["coverage"] < 0.5


def test_saying_the_documents_do_not_answer_is_not_a_claim() -> None:
    assert _check("The documents do not answer how the weather will be tomorrow.") == []


def test_a_code_block_line_that_no_passage_holds_is_flagged() -> None:
    answer = "Run this:\n```\nR CMD INSTALL path/pkg_version.tar.gz\nsudo make world\n```\n"
    assert [u["missing"] for u in _check(answer)] == [["sudo make world"]]


def _checked(answer: str, *, query: bool, passages: list[Passage]) -> grounding.Checked:
    finder = EvidenceFinder(QUESTION, passages, None)
    return grounding.check(finder, question=QUESTION, shown=answer, generated=answer,
                           passages=passages, replace_unsupported=query,
                           refusal="The documents do not answer this.")  # fmt: skip


def test_query_mode_shows_the_evidence_instead_of_an_unsupported_answer() -> None:
    invented = "Use `install_package(name, path)` in R [1]."
    checked = _checked(invented, query=True, passages=[FAQ])
    assert checked.generated == invented  # the model's text is kept
    assert checked.text.startswith(grounding.NOT_CHECKED)
    assert "R CMD INSTALL path/pkg_version.tar.gz" in checked.text
    assert "[1] (R FAQ, page 26)" in checked.text
    assert "install_package" not in checked.text
    # Chat mode shows the answer, its unsupported sentence listed.
    chat = _checked(invented, query=False, passages=[FAQ])
    assert chat.text == invented and chat.generated is None and chat.unsupported


def test_query_mode_keeps_a_supported_answer() -> None:
    answer = "Run `R CMD INSTALL path/pkg_version.tar.gz` at the shell prompt [1]."
    checked = _checked(answer, query=True, passages=[FAQ])
    assert checked.text == answer and checked.generated is None and not checked.unsupported
    assert "R CMD INSTALL" in checked.evidence[0]["text"]


def test_a_command_of_another_passage_than_the_evidence_is_flagged() -> None:
    use = Passage(2, "R FAQ", "/docs/R-FAQ.pdf", 27, "5.3", "To load a package, type library(pkg).")
    passages = [FAQ, use]
    evidence = [
        "Packages from a local file are installed with R CMD INSTALL path/pkg_version.tar.gz"
    ]
    answer = "To install a package from a local file, type library(pkg) at the prompt."
    unsupported = check_support(answer, QUESTION, passages, passage_sentences(passages), evidence)
    assert [(u["reason"], u["missing"], u["commands"]) for u in unsupported] == [
        ("differs_from_evidence", [], ["library(pkg)"])
    ]
    right = "Install it with `R CMD INSTALL path/pkg_version.tar.gz` [1]."
    assert check_support(right, QUESTION, passages, passage_sentences(passages), evidence) == []


def test_an_echoed_passage_header_is_no_claim() -> None:
    faq = replace(FAQ, section="Chapter 5. Contributed extensions › 5.2 Getting them onto disk")
    answer = (
        "[1] (R FAQ, page 26, Chapter 5. Contributed extensions › 5.2 Getting them onto disk)\n"
        "Packages from a local file are installed with `R CMD INSTALL path/pkg_version.tar.gz` [1]."
    )
    assert _check(answer, [faq]) == []
    # Without its number and full stop, on a line of its own: it does not run into the answer.
    echo = "Contributed extensions, Chapter 5\nType R CMD INSTALL at the shell prompt."
    assert _check(echo, [faq]) == []


def test_a_header_said_again_answers_when_the_evidence_says_it() -> None:
    """The section's name is the answer ("PLATYPUS - Page Layout and Typography Using
    Scripts"): said again, it claims nothing and answers; a header the evidence does not
    hold still answers nothing."""
    text = 'Platypus stands for "Page Layout and Typography Using Scripts". It lays out pages.'
    guide = Passage(
        1,
        "User Guide",
        "/docs/guide.pdf",
        60,
        "Chapter 5 PLATYPUS - Page Layout and Typography Using Scripts",
        text,
    )
    question = "What does the name Platypus stand for?"
    by_passage = passage_sentences([guide])
    answer = 'Platypus stands for "Page Layout and Typography Using Scripts".'
    assert check_support(answer, question, [guide], by_passage, [text]) == []
    other = "It is Chapter 5 of the User Guide."
    unsupported = check_support(other, question, [guide], by_passage, [text])
    assert [u["reason"] for u in unsupported] == ["does_not_answer"]


def test_a_lead_in_that_restates_the_question_is_checked_with_what_follows() -> None:
    iris = Passage(1, "datasets", "/docs/datasets.xlsx", 1, "iris",
                   "Sepal.Length | Species\n5.1 | setosa\n7.0 | versicolor")  # fmt: skip
    question = "Which species are in the iris data?"
    answer = "The species in the iris data are:\n- setosa\n- versicolor"
    assert check_support(answer, question, [iris], passage_sentences([iris])) == []


def test_an_answer_that_says_nothing_of_the_evidence_is_flagged() -> None:
    other = Passage(2, "R FAQ", "/docs/R-FAQ.pdf", 3, "2.1",
                    "This question will help you choose the stable version of R.")  # fmt: skip
    passages = [FAQ, other]
    evidence = [
        "Packages from a local file are installed at the shell prompt with R CMD INSTALL "
        "path/pkg_version.tar.gz, which installs to the first library in your library path."
    ]
    copied = "This question will help you choose the stable version of R [2]."
    unsupported = check_support(copied, QUESTION, passages, passage_sentences(passages), evidence)
    assert [(u["sentence"], u["reason"]) for u in unsupported] == [
        ("This question will help you choose the stable version of R.", "does_not_answer")
    ]
    # One word of the evidence among several is chance: half of them are needed.
    by_passage = passage_sentences(passages)
    chance = "The stable version helps you choose the shell."
    flagged = check_support(chance, QUESTION, passages, by_passage, evidence)
    assert [u["reason"] for u in flagged] == ["does_not_answer"]
    # The evidence's own words answer; so does saying that the documents do not answer.
    answers = (
        "Run R CMD INSTALL at the shell prompt [1].",
        "At the prompt.",  # all it adds to the question is the evidence's
        "It is `path/pkg_version.tar.gz`.",  # a command of the evidence
        "The documents do not say.",
    )
    for answer in answers:
        assert check_support(answer, QUESTION, passages, by_passage, evidence) == []


def test_a_command_with_a_placeholder_is_supported_by_its_parts() -> None:
    dpkg = Passage(1, "Debian FAQ", "/docs/faq.html", None, "8.3 Which package owns a file?",
                   "To find the package that holds a file, run dpkg --search with its name. "
                   "dpkg --get-selections lists the installed packages.")  # fmt: skip
    question = "How do I find which package installed a file?"

    def check(answer: str) -> list[dict]:
        return check_support(answer, question, [dpkg], passage_sentences([dpkg]))

    # The user's file name and a redirection are no claim; sudo before a command neither.
    assert check("Run `dpkg --search filename` to find the package that holds a file.") == []
    assert check("Save them with `sudo dpkg --get-selections > myselections`.") == []
    # A part that is more than a plain word must be in the documents.
    flagged = check("Run `dpkg --search-owner filename` to find the package.")
    assert [u["missing"] for u in flagged] == [["dpkg --search-owner filename"]]
    assert [u["missing"] for u in check("Run `rpm --search filename`.")] == [
        ["rpm --search filename"]
    ]


def test_a_list_of_what_a_table_holds_one_per_row_is_close_to_the_table() -> None:
    rows = "\n".join(f"{4 + i / 10} | {feed}" for i, feed in enumerate(
        ["horsebean", "linseed", "soybean", "sunflower", "meatmeal", "casein"]))  # fmt: skip
    chickwts = Passage(1, "datasets", "/docs/datasets.xlsx", 3, "chickwts",
                       f"weight | feed\n{rows}", sheet="chickwts")  # fmt: skip
    question = "Which feed types are compared in the chickwts data?"
    answer = "The feeds compared are horsebean, linseed, soybean, sunflower, meatmeal and casein."
    assert check_support(answer, question, [chickwts], passage_sentences([chickwts])) == []
    invented = "The feeds compared are barley, oats, maize, wheat, rye and millet."
    flagged = check_support(invented, question, [chickwts], passage_sentences([chickwts]))
    assert [u["reason"] for u in flagged] == ["no_close_passage"]


def test_a_cell_of_the_quoted_row_answers_a_look_up() -> None:
    rows = "\n".join(f"{w} | {feed}" for w, feed in [(309, "linseed"), (423, "sunflower")])
    chickwts = Passage(1, "datasets", "/docs/datasets.xlsx", 3, "chickwts",
                       f"weight | feed\n{rows}", sheet="chickwts")  # fmt: skip
    question = "In the chickwts sheet, which feed corresponds to the weight 423?"
    by_passage = passage_sentences([chickwts])
    for evidence in ("weight: 423 · feed: sunflower", "423 | sunflower"):
        answer = "The chick with weight 423 was in the sunflower feed group."
        assert check_support(answer, question, [chickwts], by_passage, [evidence]) == []
        # Another row's cell, or the question's own, answers nothing.
        for wrong in ("The chick was in the linseed feed group.", "Its weight was 423 grams."):
            flagged = check_support(wrong, question, [chickwts], by_passage, [evidence])
            assert [u["reason"] for u in flagged] == ["does_not_answer"]


CODENAMES = [
    Passage(1, "Debian FAQ", "/docs/faq.html", None, "5.8. Which version is it?",
            "Run lsb_release -a to see the release and codename of your system."),
    Passage(2, "Debian FAQ", "/docs/faq.html", None, "6.2.1. Other codenames",
            "Codenames used in the past: etch for release 4.0, jessie for release 8, stretch "
            "for release 9. The names come from the Toy Story films."),
]  # fmt: skip


def test_an_answer_a_passage_sentence_on_the_question_states_is_no_miss() -> None:
    question = "Which release number was codenamed jessie?"
    evidence = ["Run lsb_release -a to see the release and codename of your system."]
    by_passage = passage_sentences(CODENAMES)

    def check(answer: str) -> list[str]:
        unsupported = check_support(answer, question, CODENAMES, by_passage, evidence)
        return [u["reason"] for u in unsupported]

    # The evidence missed it; the sentence that holds "jessie" states the number.
    assert check("Jessie was the codename of Debian 8.") == []
    # "8" is not in the header's "5.8", nor in "4.0"'s neighbours: a wrong number is no answer.
    assert check("Jessie was the codename of Debian 5.") == ["not_in_documents"]
    # A sentence of a passage away from the question answers nothing.
    assert check("The names come from the Toy Story films.") == ["does_not_answer"]


def test_a_command_the_evidence_names_in_prose_is_the_evidence_s() -> None:
    gdb = Passage(1, "Debian Reference", "/docs/ref.pdf", 40, "Debugging",
                  "The backtrace can be obtained by gdb(1): run the program from GDB, crash "
                  "it, then type \u201dbt\u201d at the GDB prompt.")  # fmt: skip
    question = "What do I type in GDB to get a backtrace after a crash?"
    evidence = [gdb.text]
    by_passage = passage_sentences([gdb])
    right = "Type `bt` at the GDB prompt to print the backtrace."
    assert check_support(right, question, [gdb], by_passage, evidence) == []
    wrong = check_support("Type `gdb(2)` at the prompt.", question, [gdb], by_passage, evidence)
    assert [u["reason"] for u in wrong] == ["not_in_documents"]


def test_a_number_answers_only_near_the_question_s_words() -> None:
    ports = Passage(1, "Debian Reference", "/docs/ref.pdf", 99, "Secure services",
                    "service name port secure service name port www (http) 80 https 443 "
                    "smtp (mail) 25 ssmtp (smtps) 465 ftp-data 20 ftps-data 989 ftp 21 ftps 990 "
                    "telnet 23 telnets 992 imap2 143 imaps 993 pop3 110 pop3s 995")  # fmt: skip
    question = "Which port does IMAP over TLS use?"
    by_passage = passage_sentences([ports])

    def check(answer: str) -> list[str]:
        unsupported = check_support(answer, question, [ports], by_passage, [ports.text])
        return [u["reason"] for u in unsupported]

    assert check("IMAP over TLS (IMAPS) uses port 993.") == []
    assert check("The port used by IMAP over TLS is 20.") == ["does_not_answer"]


def test_an_echoed_header_with_brackets_in_its_section_is_no_claim() -> None:
    text = "By default the (0,0) origin point is at the lower left corner of the page."
    guide = Passage(1, "ReportLab User Guide", "/docs/guide.pdf", 23,
                    "2.7 Coordinates (default user space)", text)  # fmt: skip
    answer = (
        "The origin point is at the lower left corner of the page.\n"
        "[1] (ReportLab User Guide, page 23, 2.7 Coordinates (default user space))"
    )
    question = "Where is the origin point of the page in ReportLab?"
    assert check_support(answer, question, [guide], passage_sentences([guide])) == []


def test_an_answer_may_go_on_with_the_sentences_around_the_evidence() -> None:
    text = (
        "Starting the installer from Microsoft Windows: It is now possible to start the "
        "installer directly from Microsoft Windows without the need to change BIOS settings. "
        "Upon insertion of a CD-ROM or USB stick, an autorun program will be launched, "
        "guiding you step by step through the process of starting the installer. "
        "Debian also runs on many other architectures."
    )
    faq = Passage(1, "Debian FAQ", "/usr/share/doc/debian/FAQ/getting-debian.en.html", None,
                  "2.3 Installing", text)  # fmt: skip
    question = "Can I start the Debian installer straight from Windows, without the BIOS?"
    evidence = [
        "Starting the installer from Microsoft Windows: It is now possible to start the "
        "installer directly from Microsoft Windows without the need to change BIOS settings."
    ]
    by_passage = passage_sentences([faq])
    # "the FAQ" is the document's name (its folder), no claim of the answer's own.
    answer = (
        "Yes. According to the FAQ, when you insert the USB stick an autorun program is "
        "launched that guides you step by step through starting the installer."
    )
    assert check_support(answer, question, [faq], by_passage, evidence) == []
    # Words of no sentence near the evidence still answer nothing.
    other = "Yes. Debian also runs on many other architectures."
    flagged = check_support(other, question, [faq], by_passage, evidence)
    assert [u["reason"] for u in flagged] == ["does_not_answer"]
