from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from anyllm_desktop.core.resources import resources_dir
from anyllm_desktop.ingest.blocks import Block, ParsedDocument
from anyllm_desktop.ingest.chunking import Chunker
from anyllm_desktop.ingest.formats import parse_file
from anyllm_desktop.ingest.tokens import TokenCounter

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(resources_dir() / "models" / "all-minilm-l6-v2" / "tokenizer.json")


SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank. "


def test_headings_give_every_chunk_its_section_path(counter: TokenCounter) -> None:
    document = ParsedDocument("Design FAQ", "html", [
        Block("heading", "Design FAQ", level=1),
        Block("text", "Intro."),
        Block("heading", "Why are strings immutable?", level=2),
        Block("text", "Because hashing needs stable values."),
        Block("heading", "Why no switch?", level=2),
        Block("text", "Use dictionaries."),
    ])  # fmt: skip
    chunks = Chunker(counter).chunk(document)
    assert [c.section for c in chunks] == [
        "Design FAQ",
        "Design FAQ › Why are strings immutable?",
        "Design FAQ › Why no switch?",
    ]
    assert chunks[1].context == "Design FAQ › Why are strings immutable?"
    assert chunks[1].embed_text == (
        "Design FAQ › Why are strings immutable?\nBecause hashing needs stable values."
    )


def test_no_chunk_exceeds_what_the_embedder_reads(counter: TokenCounter) -> None:
    long_paragraph = SENTENCE * 200 + "x" * 3000  # sentences, then one unbreakable "word"
    document = ParsedDocument("T", "text", [Block("heading", "A heading " * 40, level=1),
                                            Block("text", long_paragraph)])  # fmt: skip
    chunks = Chunker(counter, chunk_tokens=240, overlap_tokens=20).chunk(document)
    assert len(chunks) > 10
    for chunk in chunks:
        assert counter.count(chunk.embed_text) <= 254
        assert chunk.tokens == counter.count(chunk.embed_text)


def test_overlap_repeats_whole_sentences(counter: TokenCounter) -> None:
    text = " ".join(f"Sentence number {i} says something useful." for i in range(60))
    chunks = Chunker(counter, chunk_tokens=64, overlap_tokens=16).chunk(
        ParsedDocument("T", "text", [Block("text", text)])
    )
    assert len(chunks) > 5
    for before, after in itertools.pairwise(chunks):
        sentences_before = before.text.split(". ")
        first_after = after.text.split(". ")[0]
        repeated = sentences_before[sentences_before.index(first_after) :]
        assert 1 <= len(repeated) <= 3  # 16 tokens of whole sentences, then new text
        assert " ".join(before.text.split()[-5:]) in after.text


def test_a_lead_in_at_a_page_foot_goes_on_with_its_command(counter: TokenCounter) -> None:
    """A page's chunk starts with no overlap, but the line that introduces its first command
    (wrapped over two lines, as PDF text is) or ends with a colon is repeated there."""
    filler = "\n".join(SENTENCE for _ in range(3))
    document = ParsedDocument("T", "pdf", [
        Block("text", f"{filler}\nThe following reconfigure the timezone used\nby the system.",
              page=1),
        Block("text", "# dpkg-reconfigure tzdata\nIf you wish to sync the clock, use NTP.", page=2),
        Block("text", f"{filler}\nThen see the list below:", page=2),
        Block("text", "• one\n• two", page=3),
        Block("text", f"{filler}\n{SENTENCE}", page=3),
        Block("text", "Page four, which nothing introduces.", page=4),
    ])  # fmt: skip
    chunks = Chunker(counter, chunk_tokens=100).chunk(document)
    assert [(c.page, c.text.split("\n")[:2]) for c in chunks[1:]] == [
        (2, ["The following reconfigure the timezone used by the system.",
             "# dpkg-reconfigure tzdata"]),
        (3, ["Then see the list below:", "• one"]),
        (4, ["Page four, which nothing introduces."]),
    ]  # fmt: skip


def test_tables_are_cut_between_rows_and_repeat_their_header(counter: TokenCounter) -> None:
    document = parse_file(DATA / "readxl-iris.csv")
    chunks = Chunker(counter, chunk_tokens=100).chunk(document)
    assert len(chunks) > 5
    header = "Sepal.Length | Sepal.Width | Petal.Length | Petal.Width | Species"
    rows = 0
    for chunk in chunks:
        lines = chunk.text.split("\n")
        assert lines[0] == header
        for line in lines[1:]:
            assert len(line.split(" | ")) == 5  # whole rows only
        rows += len(lines) - 1
    assert rows == 150


def test_pdf_chunks_keep_page_numbers_and_outline_sections(counter: TokenCounter) -> None:
    chunks = Chunker(counter).chunk(parse_file(DATA / "reportlab-userguide.pdf"))
    hit = next(c for c in chunks if "Starting with reportlab Version 2.0" in c.text)
    assert hit.page == 48
    assert hit.section.endswith("3.1 Unicode and UTF8 are the default input encodings")
    assert hit.context.startswith("ReportLab PDF Generation User Guide")
    assert all(c.page is not None for c in chunks)


def test_spreadsheet_chunks_know_their_sheet(counter: TokenCounter) -> None:
    chunks = Chunker(counter).chunk(parse_file(DATA / "readxl-datasets.xlsx"))
    assert {c.sheet for c in chunks} == {"iris", "mtcars", "chickwts", "quakes"}
    mtcars = next(c for c in chunks if c.sheet == "mtcars")
    assert mtcars.page == 2 and mtcars.section == "mtcars"
    assert mtcars.text.startswith("mpg | cyl | disp")
