"""Reading a workflow file (YAML, or JSON: YAML reads it too) with the line of every field,
and finding the built-in workflows in ``resources/workflows/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from anyllm_desktop.core.resources import resources_dir
from anyllm_desktop.core.workflow_spec import (
    Path_,
    Problem,
    WorkflowError,
    WorkflowSpec,
    field_name,
    parse_workflow,
)


def builtins_dir() -> Path:
    return resources_dir() / "workflows"


def builtin_workflows() -> dict[str, Path]:
    """Built-in workflows by id (the id in each file)."""
    found: dict[str, Path] = {}
    for path in sorted(builtins_dir().glob("*.yaml")):
        found[load_workflow(path).id] = path
    return found


def resolve_workflow(name: str) -> Path:
    """A built-in's id, or the path of a workflow file."""
    path = Path(name).expanduser()
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"There is no workflow file {path}.")
        return path.resolve()
    builtins = builtin_workflows()
    if name not in builtins:
        raise KeyError(f"There is no built-in workflow {name!r} (built-ins: "
                       f"{', '.join(builtins)}); give a file's path to run your own.")  # fmt: skip
    return builtins[name]


def load_workflow(path: Path) -> WorkflowSpec:
    """The validated workflow in ``path``; WorkflowError naming the line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError([Problem(path.name, None, "", f"cannot be read: {exc}")]) from exc
    return parse_text(text, path.name)


def parse_text(text: str, source: str) -> WorkflowSpec:
    data, lines, problems = read_with_lines(text, source)
    if problems:
        raise WorkflowError(problems)
    return parse_workflow(data, lines, source)


def read_with_lines(text: str, source: str) -> tuple[Any, dict[Path_, int], list[Problem]]:
    """The file's values, the 1-based line of each field, and duplicate keys as problems."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = f"is not valid YAML or JSON ({exc.problem or exc.context})"
        return None, {}, [Problem(source, line, "", reason)]
    except yaml.YAMLError as exc:
        return None, {}, [Problem(source, None, "", f"is not valid YAML or JSON ({exc})")]
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    problems: list[Problem] = []
    if node is not None:
        lines[()] = node.start_mark.line + 1
        _walk(node, (), lines, problems, source)
    return data, lines, problems


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[Problem],
          source: str) -> None:  # fmt: skip
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            at = (*path, key)
            if key in seen:
                problems.append(Problem(source, key_node.start_mark.line + 1, field_name(at),
                                        "is given twice"))  # fmt: skip
            seen.add(key)
            lines[at] = key_node.start_mark.line + 1
            _walk(value_node, at, lines, problems, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines, problems, source)
