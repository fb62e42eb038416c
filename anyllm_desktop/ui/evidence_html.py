"""What an answer's evidence and support check look like under it: the passages' own sentences
quoted with their place ("From your documents: “…” [1, p. 26]"), and what the passages do not
back, marked in the answer and listed ("Not found in your documents: …"). Plain functions over
the answer's JSON (``evidence``, ``unsupported``), rendered as Qt rich text."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from anyllm_desktop.core.sentences import evidence_text

#: Marks a claim of the answer that no passage holds (Qt rich text: inline style only).
MISSING_STYLE = "background-color:#fde2e2; color:#8a1020; text-decoration: underline;"
_TAG = re.compile(r"(<[^>]+>)")


def _as_rendered(text: str) -> str:
    """``text`` escaped as markdown-it escapes text (&, <, > and the double quote)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))  # fmt: skip


def _place(item: dict[str, Any]) -> str:
    page = item.get("page")
    return f"{item['n']}, p. {page}" if page else str(item["n"])


def evidence_html(evidence: Sequence[dict[str, Any]]) -> str:
    """The quoted sentences, each linking to its passage (``evidence:i``, the i-th item)."""
    if not evidence:
        return ""
    quotes = [
        f"“{html.escape(evidence_text(item))}” "
        f"<a href='evidence:{i}'>[{html.escape(_place(item))}]</a>"
        for i, item in enumerate(evidence)
    ]
    return "<b>From your documents:</b><br>" + "<br>".join(quotes)


def unsupported_html(unsupported: Sequence[dict[str, Any]]) -> str:
    """What the passages do not back, by claim (a command, a number, a name) or, where no
    single claim stands out, by sentence."""
    if not unsupported:
        return ""
    missing = list(dict.fromkeys(m for item in unsupported for m in item.get("missing", [])))
    lines = []
    if missing:
        claims = ", ".join(f"<code>{html.escape(m)}</code>" for m in missing)
        lines.append(f"⚠ <b>Not found in your documents:</b> {claims}")
    others = [c for item in unsupported if item.get("reason") == "differs_from_evidence"
              for c in item.get("commands", [])]  # fmt: skip
    if others:
        listed = ", ".join(f"<code>{html.escape(c)}</code>" for c in dict.fromkeys(others))
        lines.append(f"⚠ <b>Not the command the quoted passage gives:</b> {listed}")
    if any(item.get("reason") == "does_not_answer" for item in unsupported):
        lines.append("⚠ <b>This does not answer the question</b> (the passages hold other text): "
                     "see the quoted evidence.")  # fmt: skip
    special = ("differs_from_evidence", "does_not_answer")
    unbacked = [item["sentence"] for item in unsupported
                if not item.get("missing") and item.get("reason") not in special]  # fmt: skip
    if unbacked:
        quoted = "; ".join(f"“{html.escape(s.strip())}”" for s in unbacked)
        lines.append(f"⚠ <b>No passage says this:</b> {quoted}")
    return "<br>".join(lines)


def mark_missing(rendered: str, unsupported: Sequence[dict[str, Any]]) -> str:
    """The answer's HTML with each claim no passage holds marked where it appears (in text,
    never inside a tag or a link)."""
    terms = sorted({m for item in unsupported for m in item.get("missing", []) if m.strip()},
                   key=len, reverse=True)  # fmt: skip
    if not terms:
        return rendered
    alternatives = "|".join(re.escape(_as_rendered(t)) for t in terms)
    pattern = re.compile(rf"(?<![\w/.-])(?:{alternatives})(?![\w/-])")
    marked = f"<span style='{MISSING_STYLE}'>\\g<0></span>"
    parts, in_link = [], False
    for part in _TAG.split(rendered):
        if part.startswith("<"):
            in_link = part.startswith("<a ") or (in_link and part != "</a>")
            parts.append(part)
        else:
            parts.append(part if in_link else pattern.sub(marked, part))
    return "".join(parts)
