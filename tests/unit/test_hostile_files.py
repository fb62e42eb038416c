"""Files made to hang or exhaust the machine: ZIP bombs, huge texts, odd names, deep HTML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from anyllm_desktop.core.resources import resources_dir
from anyllm_desktop.ingest.blocks import Block, ParsedDocument, ParseError
from anyllm_desktop.ingest.chunking import Chunker
from anyllm_desktop.ingest.containers import WORD, read_member
from anyllm_desktop.ingest.formats import parse_file
from anyllm_desktop.ingest.html_blocks import html_to_blocks
from anyllm_desktop.ingest.tokens import MAX_CALL_CHARS, TokenCounter

DATA = Path(__file__).parent.parent / "data"
MB = 1024 * 1024
TOKENIZER = resources_dir() / "models" / "all-minilm-l6-v2" / "tokenizer.json"


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(TOKENIZER)


def _repack(source: Path, target: Path, extra: dict[str, int], fill: bytes = b" ") -> Path:
    """``source`` with members of ``size`` repeated bytes added (deflate packs them 1000:1)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as out:
        for info in original.infolist():
            out.writestr(info, original.read(info.filename))
        for name, size in extra.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w") as member:
                for _ in range(size // MB):
                    member.write(fill * MB)
                member.write(fill * (size % MB))
    return target


def _reason(path: Path) -> str:
    with pytest.raises(ParseError) as raised:
        parse_file(path)
    return str(raised.value)


@pytest.mark.parametrize(("source", "part", "limit"), [
    ("officer-example.docx", "word/document2.xml", "12 MB"),
    ("officer-example.pptx", "ppt/slides/slide99.xml", "8 MB"),
    ("readxl-datasets.xlsx", "xl/worksheets/sheet99.xml", "64 MB"),
    ("nodejs-string-decoder.odt", "content2.xml", "5 MB"),
    ("live-manual.epub", "OEBPS/bomb.xhtml", "12 MB"),
])  # fmt: skip
def test_an_oversized_xml_part_is_refused_from_the_central_directory(
    tmp_path: Path, source: str, part: str, limit: str
) -> None:
    size = int(limit.split()[0]) * MB + 1
    bomb = _repack(DATA / source, tmp_path / source, {part: size})
    assert bomb.stat().st_size < (DATA / source).stat().st_size + size // 100
    reason = _reason(bomb)
    assert f"({part})" in reason and f"(limit {limit})" in reason and "ZIP bomb" in reason


def test_a_docx_that_unpacks_past_the_total_limit_is_a_zip_bomb(tmp_path: Path) -> None:
    bomb = _repack(DATA / "officer-example.docx", tmp_path / "bomb.docx", {"pad.bin": 210 * MB})
    assert bomb.stat().st_size < 1 * MB
    assert _reason(bomb) == (
        "the Word document unpacks to 210 MB (limit 200 MB): it may be a ZIP bomb"
    )


def test_a_suspicious_compression_ratio_is_refused(tmp_path: Path) -> None:
    bomb = _repack(DATA / "live-manual.epub", tmp_path / "ratio.epub", {"pad.bin": 40 * MB}, b"\0")
    reason = _reason(bomb)
    assert reason.startswith("the EPUB unpacks to 40 MB from ") and " KB (" in reason
    assert "times its size): it may be a ZIP bomb" in reason


def test_member_reads_stop_at_the_limit_whatever_the_header_says(tmp_path: Path) -> None:
    path = _repack(DATA / "live-manual.epub", tmp_path / "x.epub", {"big.xhtml": 2 * MB})
    with zipfile.ZipFile(path) as archive:
        assert len(read_member(archive, "big.xhtml", 2 * MB)) == 2 * MB
        with pytest.raises(ParseError, match="more than 1 MB"):
            read_member(archive, "big.xhtml", 1 * MB)


def test_the_real_documents_are_within_the_limits() -> None:
    with zipfile.ZipFile(DATA / "officer-example.docx") as archive:
        assert sum(i.file_size for i in archive.infolist()) < WORD.total // 100
    assert parse_file(DATA / "officer-example.docx").blocks


class _Spy:
    """The real tokenizer, recording the longest text any one call was given."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.longest = 0

    def encode(self, text: str, **kwargs: Any) -> Any:
        self.longest = max(self.longest, len(text))
        return self.tokenizer.encode(text, **kwargs)

    def encode_batch(self, texts: list[str], **kwargs: Any) -> Any:
        self.longest = max(self.longest, sum(len(t) for t in texts))
        return self.tokenizer.encode_batch(texts, **kwargs)


@pytest.mark.parametrize("text", [
    "word " * 400_000,  # 2 MB, no sentence ends: one huge "sentence"
    "A sentence that goes on. " * 80_000,  # 2 MB paragraph of short sentences
    "x" * 300_000,  # no whitespace at all
])  # fmt: skip
def test_a_huge_paragraph_is_tokenized_in_bounded_pieces(text: str) -> None:
    counter = TokenCounter(TOKENIZER)
    spy = _Spy(counter._tokenizer)
    counter._tokenizer = spy
    document = ParsedDocument("Big", "text", [Block("text", text), Block("text", "The end.")])
    chunks = Chunker(counter).chunk(document)
    assert spy.longest <= MAX_CALL_CHARS
    assert all(c.tokens <= 254 for c in chunks)
    assert chunks[-1].text.endswith("The end.")
    assert sum(len(c.text) for c in chunks) >= len(text.strip()) * 0.9


#: The peak RSS of this process image (ru_maxrss would carry the forking pytest's over exec).
_HWM = "lambda: int(Path('/proc/self/status').read_text().split('VmHWM:')[1].split()[0])"
_PEAK_RSS = f"""
import sys
from pathlib import Path
hwm = {_HWM}
from anyllm_desktop.ingest.chunking import Chunker
from anyllm_desktop.ingest.formats import parse_file
from anyllm_desktop.ingest.tokens import TokenCounter
counter = TokenCounter(Path(sys.argv[2]))
before = hwm()
chunks = Chunker(counter).chunk(parse_file(Path(sys.argv[1])))
print(len(chunks), (hwm() - before) // 1024)
"""


def test_chunking_a_big_one_paragraph_text_stays_small(tmp_path: Path) -> None:
    """4 MB in one paragraph: the whole-block tokenizer call took ~600 MB before."""
    path = tmp_path / "one-paragraph.txt"
    path.write_text("The quick brown fox jumps over the lazy dog and runs on " * 72_000)
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(path), str(TOKENIZER)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    chunks, grown_mb = map(int, result.stdout.split())
    assert chunks > 4000
    assert grown_mb < 200, f"chunking grew the process by {grown_mb} MB"


NON_UTF8 = b"caf\xe9"


@pytest.mark.parametrize("source", [
    "live-manual-fr-cp1252.txt", "nodejs-string-decoder.md", "readxl-iris.csv",
    "readxl-datasets.xlsx", "nodejs-string-decoder.odt", "reportlab-userguide.pdf",
])  # fmt: skip
def test_a_file_name_that_is_not_utf8(tmp_path: Path, counter: TokenCounter, source: str) -> None:
    suffix = Path(source).suffix.encode()
    raw = os.fsencode(tmp_path) + b"/" + NON_UTF8 + b" \x1b[31m\xff" + suffix
    shutil.copyfile(DATA / source, raw)
    path = Path(os.fsdecode(raw))
    document = parse_file(path)
    document.title.encode("utf-8")  # raises on lone surrogates
    assert not any(ch < " " for ch in document.title)
    if document.title.startswith("caf"):  # the title came from the name
        assert document.title == "caf\ufffd \ufffd[31m\ufffd"
    for chunk in Chunker(counter).chunk(document):
        (chunk.embed_text + chunk.sheet).encode("utf-8")


def test_the_chunker_takes_any_str(counter: TokenCounter) -> None:
    name = os.fsdecode(NON_UTF8)
    document = ParsedDocument(name, "text", [
        Block("heading", f"Heading {name}", level=1),
        Block("text", f"Text {name} " * 200),
        Block("table", "a | b", rows=[["a", name], ["1", "\ud83d"]], sheet=name),
    ])  # fmt: skip
    chunks = Chunker(counter).chunk(document)
    assert chunks[0].context == "caf\ufffd › Heading caf\ufffd"
    for chunk in chunks:
        (chunk.embed_text + chunk.sheet + chunk.section).encode("utf-8")


def _paragraphs(count: int) -> str:
    return "".join(f"<p>Paragraph number {i}.</p>" for i in range(count))


@pytest.mark.parametrize("depth", [300, 3000])
def test_deep_html_keeps_every_paragraph(tmp_path: Path, depth: int) -> None:
    page = tmp_path / "old.html"
    page.write_text(
        "<html><body>" + "<div>" * depth + _paragraphs(400) + "</div>" * depth + "</body></html>"
    )
    text = "\n".join(b.text for b in parse_file(page).blocks)
    assert all(f"Paragraph number {i}." in text for i in range(400))


def test_a_hundred_thousand_nested_divs(tmp_path: Path) -> None:
    page = tmp_path / "nested.html"
    nested = "".join(f"<div>Level {i}" for i in range(100_000))
    page.write_text(f"<html><body>{nested}{'</div>' * 100_000}<p>The end.</p></body></html>")
    document = parse_file(page)
    text = "\n".join(b.text for b in document.blocks)
    assert "Level 0" in text and "Level 99999" in text and "The end." in text


def test_the_walker_does_not_recurse() -> None:
    """A tree far deeper than Python's recursion limit (built directly, as lxml allows)."""
    root = etree.Element("html")
    node = etree.SubElement(root, "body")
    for i in range(sys.getrecursionlimit() * 3):
        node = etree.SubElement(node, "div")
        node.text = f"level {i}"
    blocks = html_to_blocks(root)
    assert blocks[0].text == "level 0" and len(blocks) == sys.getrecursionlimit() * 3


def test_deeply_nested_markdown_keeps_its_text(tmp_path: Path) -> None:
    page = tmp_path / "quotes.md"
    page.write_text(">" * 60 + " The deepest quote.\n\nAfter the quote.\n")
    text = "\n".join(b.text for b in parse_file(page).blocks)
    assert "The deepest quote." in text and "After the quote." in text


def test_pandoc_cannot_eat_the_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from anyllm_desktop.ingest import markup

    monkeypatch.setattr(markup, "PANDOC_HEAP_MB", 70)  # a 1 MB file then stands for a 6 MB one
    big = tmp_path / "big.rst"
    paragraph = "Paragraph {} with *some* text and a [link](http://x/{}).\n\n"
    big.write_text("".join(paragraph.format(i, i) for i in range(25_000)))
    assert _reason(big) == (
        "the RST file is too large to convert (pandoc needed more than 70 MB of memory); "
        "split it into smaller files"
    )


def test_email_parts_nested_too_deeply(tmp_path: Path) -> None:
    message = tmp_path / "nested.eml"
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(2000)
    )
    message.write_text(f"From: a@example.org\nSubject: deep\n{head}\nbody\n")
    assert _reason(message) == "the file is nested too deeply to read"


def test_html_and_csv_have_limits_their_trees_fit_in(tmp_path: Path) -> None:
    for name in ("page.html", "table.csv"):
        with (tmp_path / name).open("wb") as handle:  # sparse: no disk used
            handle.truncate(40 * MB)
    assert "too large (40 MB; the limit is 16 MB)" in _reason(tmp_path / "page.html")
    assert "too large (40 MB; the limit is 32 MB)" in _reason(tmp_path / "table.csv")


_PARSE_PEAK = f"""
import sys
from pathlib import Path
from anyllm_desktop.ingest.formats import parse_file
import markdown_it, lxml.html
hwm = {_HWM}
before = hwm()
blocks = parse_file(Path(sys.argv[1])).blocks
print(len(blocks), (hwm() - before) // 1024)
"""


def test_big_markdown_is_rendered_in_pieces(tmp_path: Path) -> None:
    """3 MB of Markdown took ~350 MB rendered whole (1.14 GB for 10 MB)."""
    path = tmp_path / "notes.md"
    section = (
        "## Part {0}\n\nParagraph {0} has *some* text and a [link](http://x/{0}).\n\n- a\n- b\n\n"
    )
    path.write_text("# Notes\n\n" + "".join(section.format(i) for i in range(30_000)))
    result = subprocess.run(
        [sys.executable, "-c", _PARSE_PEAK, str(path)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    blocks, grown_mb = map(int, result.stdout.split())
    assert blocks == 1 + 30_000 * 4
    assert grown_mb < 150, f"parsing grew the process by {grown_mb} MB"
