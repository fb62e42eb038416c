"""What a map's rows become: the result's table (its columns) and the listing later steps read
as ``{{map.sub}}``."""

from __future__ import annotations

from typing import Any

from anyllm_desktop.core.workflow_spec import StepSpec
from anyllm_desktop.core.workflow_templates import Listing, as_text
from anyllm_desktop.services.workflows.results import Row
from anyllm_desktop.services.workflows.summaries import tag


def table(step: StepSpec, rows: list[Row]) -> tuple[list[str], list[Row]]:
    """Columns from the map's sub-steps: one per classify/prompt, one per schema field (an
    extract's fields spread into each row's values)."""
    columns: list[str] = []
    for sub in step.steps:
        if sub.kind == "extract" and sub.schema:
            columns += [f for f in sub.schema["properties"] if f not in columns]
        else:
            columns.append(sub.name)
    for row in rows:
        for sub in step.steps:
            value = row.values.get(sub.name)
            if isinstance(value, dict) and sub.kind == "extract":
                row.values.update(value)
    return columns, rows


def listing(step: StepSpec, rows: list[Row]) -> Listing:
    """A map's outputs for later steps: ``{{map.sub}}`` is one line per document (per section,
    opening with its citation tag, for a map over sections)."""
    done = [r for r in rows if r.status == "done"]

    def lines(get: Any) -> str:
        if step.over == "sections":
            return "\n".join(f"- {tag(r.citation)} {as_text(get(r))}" for r in done)
        return "\n".join(f"- {r.document}: {as_text(get(r))}" for r in done)

    fields: dict[str, Any] = {}
    for sub in step.steps:
        sub_fields = {}
        if sub.kind == "extract" and sub.schema:
            sub_fields = {
                f: Listing(lines(lambda r, s=sub.name, f=f: r.values[s].get(f)))
                for f in sub.schema["properties"]
            }
        fields[sub.name] = Listing(lines(lambda r, s=sub.name: r.values[s]), sub_fields)
    return Listing("\n".join(as_text(v) for v in fields.values()), fields)
