"""Parsing throughput per format, against raw text extraction of the same files in the same run.

PDF: pages/s of the app's parser (pdfium text, outline sections, header/footer removal) against
pypdfium2's bare text extraction. Other formats: kB/s of text produced, against the plainest
extraction of the same text (lxml's text_content for HTML and EPUB chapters, python-docx and
python-pptx paragraphs, openpyxl cell values, the file itself for Markdown).

    .venv/bin/python tests/benchmarks/bench_parse.py
"""

from __future__ import annotations

import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.ingest.blocks import ParseError
from anyllm_desktop.ingest.formats import parse_file
from tests.benchmarks.bench_ingest import build_corpus

DATA = Path(__file__).resolve().parents[1] / "data"


def raw_pdf(path: Path) -> tuple[int, int]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    chars = 0
    for index in range(len(document)):
        page = document[index]
        textpage = page.get_textpage()
        chars += len(textpage.get_text_bounded())
        textpage.close()
        page.close()
    pages = len(document)
    document.close()
    return chars, pages


def raw_html(path: Path) -> tuple[int, int]:
    import lxml.html

    return len(lxml.html.fromstring(path.read_bytes()).text_content()), 0


def raw_epub(path: Path) -> tuple[int, int]:
    import lxml.html

    chars = 0
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith((".xhtml", ".html", ".htm")):
                chars += len(lxml.html.fromstring(archive.read(name)).text_content())
    return chars, 0


def raw_docx(path: Path) -> tuple[int, int]:
    import docx

    return sum(len(p.text) for p in docx.Document(str(path)).paragraphs), 0


def raw_pptx(path: Path) -> tuple[int, int]:
    import pptx

    chars = 0
    for slide in pptx.Presentation(str(path)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                chars += len(shape.text_frame.text)
    return chars, 0


def raw_xlsx(path: Path) -> tuple[int, int]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    chars = 0
    for sheet in workbook.worksheets:
        sheet.reset_dimensions()
        for row in sheet.iter_rows(values_only=True):
            chars += sum(len(str(v)) for v in row if v is not None)
    workbook.close()
    return chars, 0


def raw_markdown(path: Path) -> tuple[int, int]:
    return len(path.read_text(encoding="utf-8", errors="replace")), 0


RAW: dict[str, Callable[[Path], tuple[int, int]]] = {
    ".pdf": raw_pdf, ".html": raw_html, ".epub": raw_epub, ".docx": raw_docx,
    ".pptx": raw_pptx, ".xlsx": raw_xlsx, ".md": raw_markdown,
}  # fmt: skip


def _timed(function: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    apply_offline_environment()
    files = [p for p in build_corpus().rglob("*") if p.is_file()] + list(DATA.iterdir())
    print("Parsing throughput (median of 3 runs per file), app parser vs raw extraction")
    print(f"  {'format':7s} {'files':>5s} {'app':>14s} {'raw':>14s}  app/raw")
    for suffix, raw in RAW.items():
        group = sorted(p for p in files if p.suffix == suffix)
        if not group:
            continue
        parse_file(group[0])  # warm imports
        ours_s = raw_s = 0.0
        text_chars = pages = 0
        for path in list(group):
            try:
                document = parse_file(path)
            except ParseError:  # e.g. an empty template: not a throughput sample
                group.remove(path)
                continue
            text_chars += sum(len(b.text) for b in document.blocks)
            pages += document.pages or 0
            ours_s += _timed(lambda path=path: parse_file(path))
            raw_s += _timed(lambda path=path, raw=raw: raw(path))
        raw_chars = sum(raw(p)[0] for p in group)
        unit, ours_rate, raw_rate = "kB/s", text_chars / 1000 / ours_s, raw_chars / 1000 / raw_s
        if suffix == ".pdf":
            unit, ours_rate, raw_rate = "pages/s", pages / ours_s, pages / raw_s
        print(f"  {suffix:7s} {len(group):5d} {ours_rate:9.0f} {unit:4s} {raw_rate:9.0f} {unit:4s}"
              f"  {ours_rate / raw_rate:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
