"""Markdown to the HTML subset Qt's rich text shows: tables, lists, and code blocks
highlighted by Pygments (inline styles: Qt's rich text has no style sheet classes)."""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from typing import Any

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

_CITATION = re.compile(r"\[(\d{1,3})\]")


def _highlight(code: str, language: str) -> str:
    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    formatter = HtmlFormatter(noclasses=True, nowrap=True, style="friendly")
    body = highlight(code, lexer, formatter)
    return (
        "<table width='100%' cellpadding='8' style='background:#f6f8fa; color:#24292e;'>"
        f"<tr><td><pre style='margin:0'>{body}</pre></td></tr></table>"
    )


def _fence(_renderer: Any, tokens: Any, index: int, _options: Any, _env: Any) -> str:
    token = tokens[index]
    language = token.info.strip().split()[0] if token.info.strip() else ""
    return _highlight(token.content, language)


_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
_MARKDOWN.add_render_rule("fence", _fence)
_MARKDOWN.add_render_rule("code_block", _fence)
_TABLE = "<table border='1' cellspacing='0' cellpadding='4'>"


def markdown_to_html(text: str, *, link_citations: Collection[int] = ()) -> str:
    """HTML for ``text``; each [n] with n in ``link_citations`` becomes a link ``cite:n`` (a
    number with no passage behind it is never a link)."""
    rendered = _MARKDOWN.render(text).replace("<table>", _TABLE)
    if link_citations:
        rendered = _CITATION.sub(
            lambda m: f"<a href='cite:{m[1]}'>[{m[1]}]</a>"
            if int(m[1]) in link_citations else m[0],
            rendered,
        )  # fmt: skip
    return rendered


def plain_to_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")
