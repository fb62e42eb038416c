"""Checking a workflow file's values, each problem with its file, line and field: the checker
that collects them and the validators of the fields that take more than text or a number
(models, labels, JSON schemas). ``core/workflow_spec.py`` uses them on every step."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Where a value is in the file: keys and list indexes from the top.
Path_ = tuple[str | int, ...]
JSON_TYPES = ("string", "number", "integer", "boolean")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source} line {self.line}" if self.line else self.source
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class WorkflowError(ValueError):
    """A workflow file that cannot run; ``problems`` says each thing to fix."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def field_name(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class Checker:
    """Collects every problem with the line of its field (the nearest line above it)."""

    def __init__(self, source: str, lines: Mapping[Path_, int]) -> None:
        self.source, self.lines = source, lines
        self.problems: list[Problem] = []

    def add(self, path: Path_, message: str) -> None:
        line, at = None, path
        while line is None and at:
            line, at = self.lines.get(at), at[:-1]
        self.problems.append(Problem(self.source, line or self.lines.get(()), field_name(path),
                                     message))  # fmt: skip

    def text(self, data: Mapping[str, Any], key: str, path: Path_, default: str = "") -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            self.add((*path, key), f"expected text, not {type(value).__name__}")
            return default
        return value

    def flag(self, data: Mapping[str, Any], key: str, path: Path_) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.add((*path, key), f"expected true or false, not {value!r}")
            return False
        return value

    def number(self, data: Mapping[str, Any], key: str, path: Path_, default: float,
               low: float, high: float, whole: bool = True) -> Any:  # fmt: skip
        value = data.get(key, default)
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            self.add((*path, key), f"expected {kind} from {low:g} to {high:g}, not {value!r}")
            return default
        return value


def model_field(check: Checker, raw: Mapping[str, Any], path: Path_, key: str = "model") -> str:
    model = check.text(raw, key, path, "local").strip()
    cloud = model.split(":")
    if model in ("local", "embedded") or model.endswith(".gguf"):
        return model
    if len(cloud) >= 3 and cloud[0] == "cloud" and cloud[1] and cloud[2]:
        return model
    check.add((*path, key), f"{model!r} is not a model: use local (the app's chat model), "
              "embedded, the path of a .gguf file, or cloud:PROVIDER:MODEL")  # fmt: skip
    return model


def labels_field(check: Checker, raw: Any, path: Path_) -> tuple[str, ...]:
    ok = isinstance(raw, list) and all(isinstance(x, str) and x.strip() for x in raw)
    if not ok or len(raw) < 2:
        check.add(path, "expected a list of at least 2 labels")
        return ()
    if len(set(raw)) != len(raw):
        check.add(path, "has a label twice")
    return tuple(x.strip() for x in raw)


def schema_field(check: Checker, raw: Any, path: Path_) -> Mapping[str, Any] | None:
    """A JSON schema of an object with flat properties (what grammars and tables take)."""
    props = raw.get("properties") if isinstance(raw, Mapping) else None
    if not isinstance(props, Mapping) or not props or raw.get("type", "object") != "object":
        check.add(path, "expected a JSON schema of an object: {type: object, properties: "
                  "{title: {type: string}, ...}}")  # fmt: skip
        return None
    for key, prop in props.items():
        kind = prop.get("type") if isinstance(prop, Mapping) else None
        if not NAME.match(str(key)):
            check.add((*path, "properties", key), "expected a name of letters, digits, - and _")
        if kind not in JSON_TYPES and not (isinstance(prop, Mapping) and "enum" in prop):
            check.add((*path, "properties", key), f"expected type: one of {', '.join(JSON_TYPES)}"
                      " (or an enum)")  # fmt: skip
    return {"type": "object", **raw, "required": list(raw.get("required", props))}
