"""Every kind of bad file gets a clear reason; nothing crashes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anyllm_desktop.ingest.blocks import ParseError
from anyllm_desktop.ingest.formats import parse_file

DATA = Path(__file__).parent.parent / "data"


def _reason(path: Path) -> str:
    with pytest.raises(ParseError) as raised:
        parse_file(path)
    return str(raised.value)


def test_password_protected_pdf_is_named_as_such(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(DATA / "reportlab-userguide.pdf").pages[:2]:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    assert "password-protected" in _reason(locked)


def test_truncated_pdf_is_damaged(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes((DATA / "reportlab-userguide.pdf").read_bytes()[:4000])
    assert "damaged" in _reason(broken)


@pytest.mark.parametrize(("name", "expected"), [
    ("random.docx", "not a valid Word"),
    ("random.pptx", "not a valid PowerPoint"),
    ("random.xlsx", "not a valid Excel"),
    ("random.epub", "damaged"),
    ("random.pdf", "damaged"),
    ("random.txt", "binary data"),
])  # fmt: skip
def test_random_bytes_with_a_document_name(tmp_path: Path, name: str, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(os.urandom(64 * 1024).replace(b"\n", b"\0"))
    assert expected in _reason(path)


def test_empty_unsupported_old_and_vanished_files(tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_bytes(b"")
    assert _reason(tmp_path / "empty.md") == "the file is empty"
    (tmp_path / "photo.heic").write_bytes(b"x")
    assert "unsupported file type '.heic'" in _reason(tmp_path / "photo.heic")
    (tmp_path / "old.doc").write_bytes(b"x")
    assert "save it as .docx" in _reason(tmp_path / "old.doc")
    assert "no longer exists" in _reason(tmp_path / "gone.pdf")


def test_huge_files_are_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:  # sparse: 500 MB without using the disk
        handle.truncate(500 * 1024 * 1024)
    assert "too large (500 MB; the limit is 100 MB)" in _reason(huge)


def test_a_document_without_text(tmp_path: Path) -> None:
    (tmp_path / "blank.html").write_text("<html><body><script>x()</script></body></html>")
    assert "no text" in _reason(tmp_path / "blank.html")


def test_unstructured_never_downloads_spacy() -> None:
    """unstructured's sentence tools load spaCy's model; ours comes from PyPI, offline."""
    from anyllm_desktop.ingest.unstructured_setup import prepare_unstructured

    prepare_unstructured()
    from unstructured.nlp.tokenize import sent_tokenize

    assert sent_tokenize("The model is here. Nothing was downloaded.") == [
        "The model is here.", "Nothing was downloaded."]  # fmt: skip
