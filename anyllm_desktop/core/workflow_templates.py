"""The workflows' tiny templating: ``{{name}}`` and ``{{name.field}}``, nothing else.

Plain Python with no dependency: a template names earlier steps' outputs, the document's text
and metadata (``{{document.text}}``, ``{{document.name}}``) or a field of an extract step's
JSON (``{{fields.title}}``). No expressions, loops or filters: a workflow file stays readable
and every reference can be checked before anything runs (``core/workflow_spec.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}")


class TemplateError(ValueError):
    """A template that cannot be read or names something that is not there."""


class Listing(dict[str, Any]):
    """A map step's outputs seen from a later step: ``{{each.sentiment}}`` reads as one line
    per document, and its fields (``{{each.fields.title}}``) are listings too."""

    def __init__(self, text: str, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(fields or {})
        self.text = text


def references(template: str) -> list[tuple[str, ...]]:
    """The dotted names a template uses, in order (``{{a.b}}`` -> ("a", "b")); a ``{{`` or
    ``}}`` that is not part of a reference is an error (a typo would otherwise pass as text)."""
    found = [tuple(m.group(1).split(".")) for m in _REFERENCE.finditer(template)]
    rest = _REFERENCE.sub("", template)
    if "{{" in rest or "}}" in rest:
        raise TemplateError(
            "has a '{{' or '}}' that is not a reference like {{document.text}} or {{step_name}}"
        )
    return found


def as_text(value: Any) -> str:
    """How an output reads inside a prompt: text as is, JSON for anything structured."""
    if isinstance(value, str):
        return value
    if isinstance(value, Listing):
        return value.text
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


def lookup(scope: Mapping[str, Any], name: tuple[str, ...]) -> Any:
    value: Any = scope
    for part in name:
        if not isinstance(value, Mapping) or part not in value:
            raise TemplateError(f"{{{{{'.'.join(name)}}}}} names nothing known here")
        value = value[part]
    return value


def render(template: str, scope: Mapping[str, Any]) -> str:
    """The template with each reference replaced by its value's text."""
    return _REFERENCE.sub(lambda m: as_text(lookup(scope, tuple(m.group(1).split(".")))), template)
