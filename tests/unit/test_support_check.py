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
    # One word of the evidence among several can be chance: two are needed.
    by_passage = passage_sentences(passages)
    chance = "The shell sorts the stable versions of R."
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
