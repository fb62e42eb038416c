"""A thread as Markdown or JSON: questions, answers, their evidence and support check, citations
and sources (never secrets: a thread holds none)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from anyllm_desktop.core.conversation import Message, ThreadInfo


def thread_to_json(thread: ThreadInfo, messages: list[Message]) -> dict[str, Any]:
    return {
        "thread": thread.id,
        "title": thread.title,
        "created_at": datetime.fromtimestamp(thread.created_at).isoformat(timespec="seconds"),
        "messages": [
            {
                "role": m.role,
                "content": m.content,
                "created_at": datetime.fromtimestamp(m.created_at).isoformat(timespec="seconds"),
                **(
                    {
                        "citations": m.citations,
                        "sources": [p.to_dict() for p in m.sources],
                        "provider": m.provider,
                        "model": m.model,
                        "stopped": m.stopped,
                        "error": m.error,
                        "timings": m.timings,
                        "evidence": m.evidence,
                        "unsupported": m.unsupported,
                        "generated": m.generated,
                    }
                    if m.role == "assistant"
                    else {}
                ),
            }
            for m in messages
        ],
    }


def thread_to_markdown(thread: ThreadInfo, messages: list[Message]) -> str:
    lines = [f"# {thread.title}", ""]
    for message in messages:
        if message.role == "user":
            lines += ["## Question", "", message.content, ""]
            continue
        lines += ["## Answer", "", message.content or "*(no answer)*", ""]
        if message.stopped:
            lines += ["*Stopped before the end.*", ""]
        if message.error:
            lines += [f"> **Error:** {message.error}", ""]
        lines += _evidence_lines(message)
        if message.sources:
            lines += ["**Sources**", ""]
            cited = {c["n"] for c in message.citations if c.get("valid")}
            for passage in message.sources:
                mark = " (cited)" if passage.n in cited else ""
                lines.append(f"- [{passage.n}] {passage.where}{mark}")
            lines.append("")
        invalid = [c["n"] for c in message.citations if not c.get("valid")]
        if invalid:
            lines += [f"*Cited numbers without a passage: {', '.join(map(str, invalid))}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _evidence_lines(message: Message) -> list[str]:
    lines: list[str] = []
    if message.evidence:
        lines += ["**From your documents**", ""]
        for item in message.evidence:
            page = f", page {item['page']}" if item.get("page") is not None else ""
            lines.append(f"> {item['text']} [{item['n']}] ({item['document']}{page})")
        lines.append("")
    if message.unsupported:
        lines += ["**Not found in your documents**", ""]
        for item in message.unsupported:
            missing = (
                f" (not in any passage: {', '.join(item['missing'])})" if item["missing"] else ""
            )
            lines.append(f"- {item['sentence']}{missing}")
        lines.append("")
    if message.generated is not None and message.unsupported:
        lines += ["**The model's own answer (not checked)**", "", message.generated, ""]
    return lines


def export_thread(thread: ThreadInfo, messages: list[Message], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(thread_to_json(thread, messages), indent=2, ensure_ascii=False)
    return thread_to_markdown(thread, messages)
