"""A run's result: a table with one row per document, each cell citing where it came from, a
Markdown report, and their exports (CSV, JSON, Markdown, XLSX)."""

from __future__ import annotations

import csv
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from anyllm_desktop.core.workflow_templates import as_text

EXPORT_FORMATS = (".csv", ".json", ".md", ".xlsx", ".html")


@dataclass(frozen=True)
class Citation:
    """Where a value came from: the document's file name and the pages/sections read."""

    document: str
    pages: tuple[int, ...] = ()
    sections: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.pages:
            first, last = self.pages[0], self.pages[-1]
            return f"{self.document}, p. {first}" + (f"–{last}" if last != first else "")
        if self.sections:
            return f"{self.document}, {self.sections[0]}"
        return self.document

    def to_json(self) -> dict[str, Any]:
        """The citation with its first page and section, and all of them."""
        return {"document": self.document, "page": self.pages[0] if self.pages else None,
                "section": self.sections[0] if self.sections else None,
                "pages": list(self.pages), "sections": list(self.sections),
                "source": self.describe()}  # fmt: skip


@dataclass
class Row:
    document: str
    citation: Citation
    values: dict[str, Any] = field(default_factory=dict)
    #: "done", or "skipped" with its reason (the step's on_error: skip).
    status: str = "done"
    reason: str = ""


@dataclass
class WorkflowResult:
    workflow: str
    name: str
    columns: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    report: str | None = None
    #: Outputs asked of a model in this run, and found in the cache instead.
    model_calls: int = 0
    cached: int = 0
    #: What the run wants the reader to know (a document read only in part).
    notes: list[str] = field(default_factory=list)
    #: Each step's model as it resolved ("each.sentiment": "SmolLM2-135M-Instruct.Q4_1.gguf").
    models: dict[str, str] = field(default_factory=dict)
    #: What the report cites (a reduce's result: the citations its text still holds).
    citations: list[Citation] = field(default_factory=list)
    #: Prompt tokens of the model calls, and how many of them llama.cpp had to evaluate (the
    #: rest came from its KV cache: the prefix shared with the call before).
    prompt_tokens: int = 0
    evaluated_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        rows = [{"document": r.document, "status": r.status, "reason": r.reason,
                 "source": r.citation.describe(),
                 "cells": {c: {"value": r.values.get(c), "citation": asdict(r.citation)}
                           for c in self.columns}} for r in self.rows]  # fmt: skip
        return {"workflow": self.workflow, "name": self.name, "columns": self.columns,
                "rows": rows, "report": self.report, "model_calls": self.model_calls,
                "cached": self.cached, "notes": self.notes, "models": self.models,
                "citations": [c.to_json() for c in self.citations],
                "prompt_tokens": self.prompt_tokens,
                "evaluated_tokens": self.evaluated_tokens}  # fmt: skip

    def flat_rows(self) -> list[list[str]]:
        """Header and rows as text: document, the columns, source, status, reason."""
        header = ["document", *self.columns, "source", "status", "reason"]
        body = [[r.document, *(_cell(r.values.get(c)) for c in self.columns),
                 r.citation.describe(), r.status, r.reason] for r in self.rows]  # fmt: skip
        return [header, *body]

    def markdown(self) -> str:
        parts = [f"# {self.name}"]
        if self.report:
            parts.append(self.report.strip())
        if self.rows:
            header, *body = self.flat_rows()
            lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in body]
            parts.append("\n".join(lines))
        if self.citations:
            parts.append("Sources: " + "; ".join(c.describe() for c in self.citations))
        parts += [f"_{note}_" for note in self.notes]
        return "\n\n".join(parts) + "\n"


def _cell(value: Any) -> str:
    return as_text(value)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def export(result: WorkflowResult, path: Path) -> None:
    """Write the result as the file's suffix says (.csv, .json, .md, .xlsx, .html: the
    Markdown report as a page to print or save as PDF from a browser)."""
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ValueError(f"{path.name}: results are written as {', '.join(EXPORT_FORMATS)}")
    if suffix == ".json":
        path.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")  # fmt: skip
    elif suffix == ".md":
        path.write_text(result.markdown(), encoding="utf-8")
    elif suffix == ".html":
        path.write_text(_html(result), encoding="utf-8")
    elif suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(result.flat_rows())
    else:
        _xlsx(result, path)


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>
body {{ font: 11pt/1.45 system-ui, sans-serif; max-width: 60em; margin: 2em auto; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #999; padding: .2em .5em; }}
th {{ background: #eee; }} @media print {{ body {{ margin: 0; }} }}
</style></head><body>
{body}</body></html>
"""


def _html(result: WorkflowResult) -> str:
    """The Markdown of the result as a printable page (no HTML of the documents passes)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(result.markdown())
    return _PAGE.format(title=html.escape(result.name or result.workflow), body=body)


def _xlsx(result: WorkflowResult, path: Path) -> None:
    """One sheet, the table; each value cell carries its citation as a comment."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment

    book = Workbook()
    sheet = book.active
    sheet.title = result.workflow[:31] or "results"
    header, *body = result.flat_rows()
    sheet.append(header)
    for row, record in zip(body, result.rows, strict=True):
        sheet.append(row)
        for column in range(2, 2 + len(result.columns)):
            cell = sheet.cell(row=sheet.max_row, column=column)
            cell.comment = Comment(record.citation.describe(), "anyllm")
    if result.report:
        sheet_report = book.create_sheet("report")
        for line in result.report.splitlines():
            sheet_report.append([line])
    book.save(path)
