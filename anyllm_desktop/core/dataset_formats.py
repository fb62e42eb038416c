"""Reading and writing training sets in the formats people bring: OpenAI chat JSONL
(``{"messages": [...]}``), Alpaca (``instruction``/``input``/``output``, a JSON list or JSONL),
ShareGPT (``conversations`` of ``from``/``value``) and CSV with a prompt and a response column.

Row numbers are what the user finds in the file: the line of a JSONL file, the item of a JSON
list (first = 1), the row of a CSV as a spreadsheet shows it (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from anyllm_desktop.core.datasets import Dataset, DatasetError, Example, Problem, Turn, make_example

FORMATS = ("openai", "alpaca", "sharegpt", "csv")
#: What `anyllm dataset export` writes for each file ending (the longest ending wins).
WRITE_SUFFIXES = {".sharegpt.json": "sharegpt", ".jsonl": "openai", ".json": "alpaca",
                  ".csv": "csv"}  # fmt: skip
#: CSV header pairs read as (prompt, answer), in this order of preference (case aside).
CSV_COLUMNS = (("prompt", "response"), ("question", "answer"), ("instruction", "output"),
               ("input", "output"), ("prompt", "completion"), ("user", "assistant"))  # fmt: skip
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "chatgpt": "assistant", "system": "system"}  # fmt: skip
_KNOWN = ("OpenAI chat JSONL ({\"messages\": [...]}), Alpaca JSON (instruction/input/output), "
          "ShareGPT JSON (conversations) or CSV with prompt/response columns")  # fmt: skip


def read_dataset(path: Path, fmt: str | None = None) -> Dataset:
    """The file's examples and its bad rows; DatasetError when the file as a whole is not a
    dataset (not UTF-8 text, a format it is not, a CSV without a prompt/response pair)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path.name} is not UTF-8 text (byte {exc.start}); save it as "
                           f"UTF-8, as one of {_KNOWN}") from exc  # fmt: skip
    fmt = fmt or detect_format(path, text)
    if fmt == "csv":
        return _read_csv(path.name, text, "\t" if path.suffix.lower() == ".tsv" else None)
    if fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}: one of {', '.join(FORMATS)}")
    dataset = Dataset()
    reader = {"openai": _openai, "alpaca": _alpaca, "sharegpt": _sharegpt}[fmt]
    for row, record in _records(path.name, text, dataset):
        if not isinstance(record, dict):
            dataset.problems.append(Problem(path.name, row, "not a JSON object"))
            continue
        turns = reader(record)
        if isinstance(turns, str):
            dataset.problems.append(Problem(path.name, row, turns))
        else:
            make_example(turns, path.name, row, dataset)
    return dataset


def detect_format(path: Path, text: str) -> str:
    """The format by the file's ending and its first record; DatasetError naming what was
    found when it is none of :data:`FORMATS`."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    first = _first_record(text)
    if isinstance(first, dict):
        if "messages" in first:
            return "openai"
        if "conversations" in first:
            return "sharegpt"
        if "instruction" in first or "output" in first:
            return "alpaca"
        found = ", ".join(map(str, list(first)[:6])) or "no fields"
        raise DatasetError(f"{path.name}: its first record has {found}, which is none of "
                           f"{_KNOWN}")  # fmt: skip
    if first is None and suffix not in (".json", ".jsonl") and _looks_like_csv(text):
        return "csv"
    raise DatasetError(f"{path.name} is not a dataset anyllm reads: use {_KNOWN}")


def _whole(text: str) -> list[Any] | None:
    """The records of a file that is one JSON document (a list, or one object written over
    several lines); None for JSONL (a record a line). JSONDecodeError for a broken list."""
    stripped = text.strip()
    if stripped.startswith("{") and "\n" in stripped:
        try:
            return [json.loads(stripped)]
        except json.JSONDecodeError:
            return None  # JSONL: each line is read (and a bad one reported) on its own
    if not stripped.startswith("["):
        return None
    data = json.loads(stripped)
    return data if isinstance(data, list) else [data]


def _first_record(text: str) -> Any:
    """The first record of a JSON list or of a JSONL file; None when the text is not JSON."""
    try:
        records = _whole(text)
    except json.JSONDecodeError:
        return None
    if records is not None:
        return records[0] if records else None
    line = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _looks_like_csv(text: str) -> bool:
    header = next(iter(text.splitlines()), "")
    return _csv_columns([c.strip().casefold() for c in next(csv.reader([header]), [])]) is not None


def _records(name: str, text: str, dataset: Dataset) -> Iterator[tuple[int, Any]]:
    """(row, record) of a JSON list or of JSONL; a JSONL line that is not JSON is a problem."""
    try:
        records = _whole(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{name} is not valid JSON (line {exc.lineno}: {exc.msg}); no "
                           "row could be read") from exc  # fmt: skip
    if records is not None:
        yield from enumerate(records, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            dataset.problems.append(Problem(name, number, f"not JSON ({exc.msg}, column "
                                            f"{exc.colno})"))  # fmt: skip


def _text(value: Any) -> str | None:
    """A turn's text: a string, or OpenAI's list of parts with text; None when neither."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        parts = [p.get("text") for p in value if p.get("type", "text") == "text"]
        if parts and all(isinstance(p, str) for p in parts):
            return "".join(parts)
    return None


def _openai(record: dict[str, Any]) -> list[Turn] | str:
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return 'no "messages" list'
    turns = []
    for number, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or "role" not in message:
            return f'message {number} has no "role"'
        text = _text(message.get("content"))
        if text is None:
            return f'message {number} has no text "content"'
        turns.append(Turn(str(message["role"]), text))
    return turns


def _alpaca(record: dict[str, Any]) -> list[Turn] | str:
    instruction, extra, output = (record.get(k, "") for k in ("instruction", "input", "output"))
    if not all(isinstance(v, str) for v in (instruction, extra, output)):
        return '"instruction", "input" and "output" must be text'
    if "output" not in record:
        return 'no "output" (the answer)'
    turns = [Turn("system", record["system"])] if isinstance(record.get("system"), str) else []
    for pair in record.get("history") or []:  # earlier turns, as LLaMA-Factory writes them
        if not _is_pair(pair):
            return '"history" must be a list of [question, answer] pairs'
        turns += [Turn("user", pair[0]), Turn("assistant", pair[1])]
    prompt = f"{instruction}\n\n{extra}" if instruction.strip() and extra.strip() else (
        instruction or extra)  # fmt: skip
    return [*turns, Turn("user", prompt), Turn("assistant", output)]


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(p, str) for p in value)


def _sharegpt(record: dict[str, Any]) -> list[Turn] | str:
    conversation = record.get("conversations")
    if not isinstance(conversation, list) or not conversation:
        return 'no "conversations" list'
    turns = []
    for number, message in enumerate(conversation, start=1):
        if not isinstance(message, dict) or not isinstance(message.get("value"), str):
            return f'turn {number} has no text "value"'
        role = _SHAREGPT_ROLES.get(str(message.get("from", "")).lower())
        if role is None:
            return (f"turn {number} is from {message.get('from')!r}, not human, gpt or "
                    "system")  # fmt: skip
        turns.append(Turn(role, message["value"]))
    return turns


def _csv_columns(header: Sequence[str]) -> tuple[str, str] | None:
    for prompt, answer in CSV_COLUMNS:
        if prompt in header and answer in header:
            return prompt, answer
    return None


def _read_csv(name: str, text: str, delimiter: str | None) -> Dataset:
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [c.strip().casefold() for c in next(rows, [])]
    columns = _csv_columns(header)
    if columns is None:
        pairs = ", ".join(f"{p}/{a}" for p, a in CSV_COLUMNS)
        raise DatasetError(
            f"{name}: no prompt and response columns in its header "
            f"({', '.join(header) or 'empty'}); name them one of {pairs}"
        )
    use_input = columns == ("instruction", "output") and "input" in header
    where = {c: header.index(c) for c in (*columns, "input", "system") if c in header}
    dataset = Dataset(notes=[f"{name}: read the {columns[0]!r} column as the prompt and "
                             f"{columns[1]!r} as the answer"
                             + (", with 'input' added to the instruction" if use_input else "")
                             + (", and 'system' as the system prompt" if "system" in where
                                else "")])  # fmt: skip
    for number, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            dataset.problems.append(Problem(name, number, f"{len(cells)} cells, the header has "
                                            f"{len(header)}"))  # fmt: skip
            continue
        prompt = cells[where[columns[0]]]
        if use_input and cells[where["input"]].strip():
            prompt = f"{prompt}\n\n{cells[where['input']]}"
        system = cells[where["system"]] if "system" in where else ""
        turns = [Turn("system", system)] if system.strip() else []
        turns += [Turn("user", prompt), Turn("assistant", cells[where[columns[1]]])]
        make_example(turns, name, number, dataset)
    return dataset


def format_for(path: Path) -> str:
    """The format a file of this name is written in; DatasetError for another ending."""
    name = path.name.lower()
    for suffix, fmt in WRITE_SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    raise DatasetError(f"{path.name}: write .jsonl (OpenAI chat), .json (Alpaca), "
                       ".sharegpt.json (ShareGPT) or .csv (prompt, response)")  # fmt: skip


def write_dataset(examples: Sequence[Example], path: Path, fmt: str | None = None) -> str:
    """Write the examples in ``fmt`` (default: by the file's ending); the format written. CSV
    and Alpaca keep one system prompt and the last question; Alpaca keeps earlier turns as
    its ``history``, CSV cannot, so a multi-turn example is refused there."""
    fmt = fmt or format_for(path)
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["system", "prompt", "response"])
            for example in examples:
                if sum(t.role == "user" for t in example.messages) > 1:
                    raise DatasetError(
                        f"{example.source} row {example.row} has several turns, "
                        "which CSV cannot hold: export .jsonl or .json"
                    )
                writer.writerow([example.system, example.prompt, example.answer])
        return fmt
    records = [_record(fmt, example) for example in examples]
    if fmt == "openai":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    else:
        text = json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    path.write_text(text, encoding="utf-8")
    return fmt


def _record(fmt: str, example: Example) -> dict[str, Any]:
    chat = [t for t in example.messages if t.role != "system"]
    if fmt == "openai":
        return {"messages": [{"role": t.role, "content": t.content} for t in example.messages]}
    if fmt == "sharegpt":
        names = {"system": "system", "user": "human", "assistant": "gpt"}
        return {"conversations": [{"from": names[t.role], "value": t.content}
                                  for t in example.messages]}  # fmt: skip
    if fmt != "alpaca":
        raise DatasetError(f"unknown dataset format {fmt!r}: one of {', '.join(FORMATS)}")
    record: dict[str, Any] = {"instruction": example.prompt, "input": "", "output": example.answer}
    if example.system:
        record["system"] = example.system
    if len(chat) > 2:
        record["history"] = [[q.content, a.content] for q, a in zip(chat[:-2:2], chat[1:-2:2],
                                                                      strict=True)]  # fmt: skip
    return record
