"""How the evidence and the support check read under an answer (plain functions)."""

from __future__ import annotations

from anyllm_desktop.ui.evidence_html import evidence_html, mark_missing, unsupported_html
from anyllm_desktop.ui.markdown_view import markdown_to_html

EVIDENCE = [{"n": 1, "document": "R FAQ", "path": "/d/rfaq.pdf", "page": 26,
             "text": "Use R CMD INSTALL path/pkg_version.tar.gz to install it."}]  # fmt: skip
UNSUPPORTED = [
    {"sentence": "Run `install_package(name, path)` in R.", "reason": "not_in_documents",
     "missing": ["install_package(name, path)"]},
    {"sentence": "It always works.", "reason": "no_close_passage", "missing": []},
]  # fmt: skip


def test_evidence_is_quoted_with_its_place_and_links_to_its_passage() -> None:
    html = evidence_html(EVIDENCE)
    assert html.startswith("<b>From your documents:</b>")
    assert "“Use R CMD INSTALL path/pkg_version.tar.gz to install it.”" in html
    assert "<a href='evidence:0'>[1, p. 26]</a>" in html
    assert evidence_html([]) == ""
    row = {"n": 2, "page": 1, "text": "C | 6 | Hello", "columns": "Row | Size | Word"}
    assert "“Row: C · Size: 6 · Word: Hello”" in evidence_html([row])


def test_what_no_passage_backs_is_listed_and_marked_in_the_answer() -> None:
    listed = unsupported_html(UNSUPPORTED)
    assert "Not found in your documents:</b> <code>install_package(name, path)</code>" in listed
    assert "No passage says this:</b> “It always works.”" in listed
    other = [{"sentence": "Use `library()`.", "reason": "differs_from_evidence", "missing": [],
              "commands": ["library()"]}]  # fmt: skip
    assert unsupported_html(other) == (
        "⚠ <b>Not the command the quoted passage gives:</b> <code>library()</code>"
    )
    copied = [{"sentence": "Bullseye is Debian 11.", "reason": "does_not_answer", "missing": []}]
    assert unsupported_html(copied).startswith("⚠ <b>This does not answer the question</b>")
    assert "No passage says this" not in unsupported_html(copied)
    rendered = markdown_to_html("Run `install_package(name, path)` in R [1].", link_citations={1})
    marked = mark_missing(rendered, UNSUPPORTED)
    assert "<span style='" in marked and "install_package(name, path)</span>" in marked
    assert "<a href='cite:1'>[1]</a>" in marked  # links untouched


def test_a_number_is_marked_in_text_never_inside_a_tag() -> None:
    rendered = markdown_to_html("It takes 42 seconds [1].", link_citations={1})
    marked = mark_missing(rendered, [{"sentence": "", "missing": ["1", "42"]}])
    assert "href='cite:1'" in marked and "[1]</a>" in marked  # not "[<span…>1</span>]"
    assert ">42</span> seconds" in marked


def test_a_citation_with_no_passage_is_never_a_link() -> None:
    rendered = markdown_to_html("See [1] and [7].", link_citations={1})
    assert "<a href='cite:1'>[1]</a>" in rendered and "[7]" in rendered
    assert "cite:7" not in rendered
