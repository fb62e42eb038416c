"""Every supported format, parsed from real documents (see tests/data/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from anyllm_desktop.ingest.blocks import ParsedDocument
from anyllm_desktop.ingest.formats import discover, parse_file

DATA = Path(__file__).parent.parent / "data"


def _headings(document: ParsedDocument) -> list[tuple[int, str]]:
    return [(b.level, b.text) for b in document.blocks if b.kind == "heading"]


def _text(document: ParsedDocument) -> str:
    return "\n".join(b.text for b in document.blocks)


def test_pdf_pages_outline_and_clean_text() -> None:
    document = parse_file(DATA / "reportlab-userguide.pdf")
    assert document.kind == "pdf" and document.pages == 134
    assert document.title == "ReportLab PDF Generation User Guide"
    assert (2, "3.1 Unicode and UTF8 are the default input encodings") in _headings(document)
    block = next(b for b in document.blocks if "Starting with reportlab Version 2.0" in b.text)
    assert block.page == 48
    assert all(b.page and 1 <= b.page <= 134 for b in document.blocks)
    toc_line = re.compile(r"(?:\. ?){4,}\s*\d+\s*$")  # "3.1 Unicode ......... 48"
    assert not [line for line in _text(document).splitlines() if toc_line.search(line)]


def test_html_faq_keeps_question_headings() -> None:
    document = parse_file(DATA / "debian-faq-archives.html")
    assert document.title == "Chapter 6. The Debian archives"
    headings = _headings(document)
    assert (2, "6.1. How many Debian distributions are there?") in headings
    assert (3, "6.2.2. Where do these codenames come from?") in headings
    assert "Toy Story" in _text(document)


def test_markdown_headings_code_and_no_html_comments() -> None:
    document = parse_file(DATA / "nodejs-string-decoder.md")
    assert document.title == "String decoder"
    assert (2, "Class: StringDecoder") in _headings(document)
    assert any(b.kind == "code" and "new StringDecoder" in b.text for b in document.blocks)
    assert "<!--" not in _text(document)


@pytest.mark.parametrize("suffix", ["odt", "rtf", "org", "rst"])
def test_pandoc_formats_keep_structure(suffix: str) -> None:
    document = parse_file(DATA / f"nodejs-string-decoder.{suffix}")
    assert document.kind == suffix
    assert document.title == "String decoder"
    assert "Class: StringDecoder" in [t for _, t in _headings(document)]
    assert "European Euro symbol" in _text(document)


def test_epub_chapters_in_reading_order() -> None:
    document = parse_file(DATA / "live-manual.epub")
    assert document.title == "Live Systems Manual"
    titles = [t for _, t in _headings(document)]
    assert titles.index("1. About this manual") < titles.index("13. Contributing to the project")
    text = _text(document)
    assert "live-build" in text
    assert text.count("This manual serves as a single access point") == 1  # no duplicates


def test_docx_headings_lists_and_tables() -> None:
    document = parse_file(DATA / "officer-example.docx")
    assert document.kind == "docx"
    assert (1, "Title 1") in _headings(document) and (2, "Sub title 1") in _headings(document)
    assert any(b.kind == "list" and "Quisque tristique" in b.text for b in document.blocks)
    table = next(b for b in document.blocks if b.kind == "table")
    assert table.rows and table.rows[0] == ["Petals", "Internode", "Sepal", "Bract"]


def test_pptx_slide_numbers() -> None:
    document = parse_file(DATA / "officer-example.pptx")
    assert document.pages == 3
    table = next(b for b in document.blocks if b.kind == "table")
    assert table.page == 1 and table.rows and table.rows[0] == ["Header 1", "Header 2", "Header 3"]
    assert next(b for b in document.blocks if b.text == "Hi").page == 2


@pytest.mark.parametrize("name", ["readxl-datasets.xlsx", "readxl-datasets.xls"])
def test_spreadsheets_keep_sheet_names_and_rows(name: str) -> None:
    document = parse_file(DATA / name)
    tables = [b for b in document.blocks if b.kind == "table"]
    assert [t.sheet for t in tables] == ["iris", "mtcars", "chickwts", "quakes"]
    assert [t.page for t in tables] == [1, 2, 3, 4]
    iris = tables[0].rows
    assert iris is not None and len(iris) == 151
    assert iris[0] == ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width", "Species"]
    assert iris[1] == ["5.1", "3.5", "1.4", "0.2", "setosa"]


def test_csv_is_one_readable_table() -> None:
    document = parse_file(DATA / "readxl-iris.csv")
    assert document.blocks[0].rows is not None and len(document.blocks[0].rows) == 151


def test_text_in_windows_1252_is_decoded() -> None:
    document = parse_file(DATA / "live-manual-fr-cp1252.txt")
    assert document.title == "Manuel des systèmes live — extrait"
    assert "privilèges de super-utilisateur" in _text(document)
    assert "\ufffd" not in _text(document)


def test_email_headers_and_body() -> None:
    document = parse_file(DATA / "cpython-digest.eml")
    assert document.title == "Ppp digest, Vol 1 #2 - 5 msgs"
    text = _text(document)
    assert "From: ppp-request@zzz.org" in text and "Date: Fri, 20 Apr 2001" in text
    assert "Send Ppp mailing list submissions" in text


def test_folders_recurse_and_skip_hidden_and_system_files(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    for name in ["a.md", "sub/b.txt", "sub/deeper/c.html", ".hidden.md", ".git/config.txt",
                 "Thumbs.db", "sub/.DS_Store", "~$lock.docx", "notes.txt~"]:  # fmt: skip
        (tmp_path / name).write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])]
    assert found == ["a.md", "sub/b.txt", "sub/deeper/c.html"]
