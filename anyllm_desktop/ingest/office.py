"""Office formats: Word and PowerPoint through unstructured, spreadsheets through openpyxl/xlrd."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from anyllm_desktop.ingest.blocks import Block, ParsedDocument, ParseError
from anyllm_desktop.ingest.containers import EXCEL, POWERPOINT, WORD, PackageLimits, check_file
from anyllm_desktop.ingest.html_blocks import parse_html_root
from anyllm_desktop.ingest.unstructured_setup import prepare_unstructured

_LIST_MARKER = re.compile(r"^(?:[-*•▪◦]|\d+[.)]|[a-zA-Z][.)])\s")
_SKIPPED_CATEGORIES = {"Header", "Footer", "PageBreak", "Image", "PageNumber"}


def _require_zip(path: Path, what: str, limits: PackageLimits) -> None:
    """DOCX, PPTX and XLSX are ZIP packages: anything else is damaged or misnamed; and what
    they unpack to must fit in memory (ZIP bombs)."""
    if not zipfile.is_zipfile(path):
        raise ParseError(f"the file is not a valid {what} document (damaged, or misnamed)")
    check_file(path, limits)


def _table_rows(html: str) -> list[list[str]]:
    root = parse_html_root(f"<html><body>{html}</body></html>")
    rows = []
    for row in root.iter("tr"):
        cells = [" ".join(c.text_content().split()) for c in row if c.tag in {"td", "th"}]
        if any(cells):
            rows.append(cells)
    return rows


def _elements_to_blocks(elements: list[Any], *, slides: bool) -> list[Block]:
    blocks: list[Block] = []
    for element in elements:
        category = element.category
        text = (element.text or "").strip()
        metadata = element.metadata
        page = getattr(metadata, "page_number", None)
        if category in _SKIPPED_CATEGORIES or not text:
            continue
        depth = getattr(metadata, "category_depth", None) or 0
        if category == "Title" and (not slides or depth == 0):
            blocks.append(Block("heading", text, level=min(depth + 1, 6), page=page))
        elif category == "Table":
            html = getattr(metadata, "text_as_html", None)
            rows = _table_rows(html) if html else [[text]]
            blocks.append(
                Block("table", "\n".join(" | ".join(r) for r in rows), page=page, rows=rows)
            )
        elif category == "ListItem":
            marker = "" if _LIST_MARKER.match(text) else "• "
            blocks.append(Block("list", f"{marker}{text}", page=page))
        else:
            blocks.append(Block("text", text, page=page))
    return blocks


def _title(blocks: list[Block], fallback: str) -> str:
    return next((b.text for b in blocks if b.kind == "heading"), fallback)


def parse_docx(path: Path) -> ParsedDocument:
    _require_zip(path, "Word (.docx)", WORD)
    prepare_unstructured()
    from unstructured.partition.docx import partition_docx

    try:
        elements = partition_docx(filename=str(path), infer_table_structure=True)
    except Exception as exc:  # python-docx raises many kinds on damaged packages
        raise ParseError(f"the Word document cannot be read ({exc})") from exc
    blocks = _elements_to_blocks(elements, slides=False)
    pages = max((b.page for b in blocks if b.page), default=None)
    return ParsedDocument(_title(blocks, path.stem), "docx", blocks, pages)


def parse_pptx(path: Path) -> ParsedDocument:
    _require_zip(path, "PowerPoint (.pptx)", POWERPOINT)
    prepare_unstructured()
    from unstructured.partition.pptx import partition_pptx

    try:
        elements = partition_pptx(filename=str(path), infer_table_structure=True)
    except Exception as exc:
        raise ParseError(f"the PowerPoint file cannot be read ({exc})") from exc
    blocks = _elements_to_blocks(elements, slides=True)
    slides = max((b.page for b in blocks if b.page), default=None)
    return ParsedDocument(_title(blocks, path.stem), "pptx", blocks, slides)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _sheet_blocks(name: str, number: int, rows: list[list[str]]) -> list[Block]:
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    width = max(len(r) for r in rows)
    while width and not any(len(r) >= width and r[width - 1] for r in rows):
        width -= 1  # trailing empty columns
    rows = [(r + [""] * width)[:width] for r in rows]
    text = "\n".join(" | ".join(r) for r in rows)
    return [
        Block("heading", name, level=1, page=number, sheet=name),
        Block("table", text, page=number, sheet=name, rows=rows),
    ]


def parse_xlsx(path: Path) -> ParsedDocument:
    _require_zip(path, "Excel (.xlsx)", EXCEL)
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ParseError(f"the Excel workbook cannot be read ({exc})") from exc
    blocks: list[Block] = []
    try:
        for number, sheet in enumerate(workbook.worksheets, start=1):
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()  # stored dimensions are often wrong (read-only mode)
            rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            blocks += _sheet_blocks(sheet.title, number, rows)
    finally:
        workbook.close()
    return ParsedDocument(path.stem, "xlsx", blocks, len(workbook.worksheets))


def parse_xls(path: Path) -> ParsedDocument:
    import xlrd

    try:
        workbook = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:
        raise ParseError(f"the Excel (.xls) workbook cannot be read ({exc})") from exc
    blocks: list[Block] = []
    try:
        for number in range(workbook.nsheets):
            sheet = workbook.sheet_by_index(number)
            rows = [[_cell(v) for v in sheet.row_values(r)] for r in range(sheet.nrows)]
            blocks += _sheet_blocks(sheet.name, number + 1, rows)
    finally:
        workbook.release_resources()
    return ParsedDocument(path.stem, "xls", blocks, workbook.nsheets)
