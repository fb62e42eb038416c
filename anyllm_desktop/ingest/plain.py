"""Plain text in any encoding, CSV/TSV tables, and e-mail messages (headers and body)."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
from email.message import EmailMessage
from pathlib import Path

from anyllm_desktop.ingest.blocks import Block, ParsedDocument, ParseError
from anyllm_desktop.ingest.html_blocks import html_to_blocks, parse_html_root
from anyllm_desktop.ingest.text_decoding import decode_text

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")


def text_blocks(text: str) -> list[Block]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [Block("text", part.strip()) for part in _PARAGRAPH_BREAK.split(text) if part.strip()]


def parse_text(path: Path) -> ParsedDocument:
    blocks = text_blocks(decode_text(path.read_bytes()))
    title = path.stem
    if blocks and "\n" not in blocks[0].text and len(blocks[0].text) <= 100 and len(blocks) > 1:
        title = blocks[0].text  # a short first line on its own is the title
        blocks[0] = Block("heading", title, level=1)
    return ParsedDocument(title, "text", blocks)


def parse_csv(path: Path) -> ParsedDocument:
    text = decode_text(path.read_bytes())
    if path.suffix.lower() == ".tsv":
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel_tab
    else:
        try:
            dialect = csv.Sniffer().sniff(text[: 64 * 1024], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
    try:
        rows = [
            [" ".join(c.split()) for c in row] for row in csv.reader(io.StringIO(text), dialect)
        ]
    except csv.Error as exc:
        raise ParseError(f"the table cannot be read ({exc})") from exc
    rows = [row for row in rows if any(row)]
    if not rows:
        return ParsedDocument(path.stem, "csv", [])
    table = Block("table", "\n".join(" | ".join(r) for r in rows), rows=rows)
    return ParsedDocument(path.stem, "csv", [table])


_HEADERS = ("Subject", "From", "To", "Cc", "Date")


def parse_email(path: Path) -> ParsedDocument:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not any(message.get(h) for h in _HEADERS):
        raise ParseError("the file is not an e-mail message (no From, To, Subject or Date header)")
    subject = str(message.get("Subject", "")).strip()
    header_lines = [f"{h}: {message.get(h)}" for h in _HEADERS if message.get(h)]
    blocks = [Block("text", "\n".join(header_lines))]
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, UnicodeError):
            content = body.get_payload(decode=True).decode("utf-8", errors="replace")
        if body.get_content_subtype() == "html":
            blocks += html_to_blocks(parse_html_root(content))
        else:
            blocks += text_blocks(content)
    attachments = [part.get_filename() for part in message.iter_attachments()]
    if names := [name for name in attachments if name]:
        blocks.append(Block("text", "Attachments: " + ", ".join(names)))
    return ParsedDocument(subject or path.stem, "email", blocks)
