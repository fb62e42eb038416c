"""The prompt of a RAG turn, laid out so follow-up turns reuse the KV cache, and fitted into the
context window with real token counts.

Layout (ARCHITECTURE.md, "Prompt layout"): the thread's system prompt (rendered once, when the
thread got its first answer), then earlier turns exactly as they were sent (each question with
its numbered passages, each answer), then the new question with its passages. Nothing before the
new turn changes between turns, so llama.cpp evaluates only the new turn.

Budget: the answer's tokens are reserved first; then passages in rank order; then history,
newest turn first. When an old turn no longer fits as sent, it and every older turn are given
without their passages (question and answer only); turns that do not fit even so are left out.
Everything left out is reported so the UI can say so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from anyllm_desktop.core.conversation import ChatMessage, Passage

#: Tokens kept free beyond the answer: template tokens a count might miss, and a safety margin.
SAFETY_TOKENS = 16

CITE_INSTRUCTIONS = {
    "chat": (
        "Answer the question using the numbered passages from the user's documents when they "
        "are relevant, and cite each passage you use by its number in square brackets, like "
        "[1] or [2][3]. You may add your own knowledge, but say so when the passages do not "
        "cover something."
    ),
    "query": (
        "Answer the question only from the numbered passages from the user's documents, and "
        "cite each passage you use by its number in square brackets, like [1] or [2][3]. If "
        "the passages do not contain the answer, say that the documents do not answer it."
    ),
}


class _Variables(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_system_prompt(template: str, mode: str, *, workspace: str, now: datetime) -> str:
    """The workspace's system prompt with {date}, {time} and {workspace} filled in (other
    braces are left as written), followed by the citation instructions of the mode."""
    variables = _Variables(
        date=now.strftime("%A, %d %B %Y"), time=now.strftime("%H:%M"), workspace=workspace
    )
    try:
        text = template.format_map(variables)
    except (ValueError, IndexError):  # stray braces: use the prompt as written
        text = template
    return f"{text.strip()}\n\n{CITE_INSTRUCTIONS[mode]}".strip()


#: A line of passage text that looks like a passage's header: "[2] (", "【2】", "[Passage 2]".
_HEADER_LIKE = re.compile(r"^(\s*)[\[【［]\s*((?:passage|source)\s*)?(\d+)\s*[\]】］]", re.I)
#: Lines of the layout's own, which passage text must not start a line with.
_MARKERS = ("passages:", "question:", "answer briefly")


def _where(passage: Passage) -> str:
    """The header's place and section, on one line whatever the document's metadata holds."""
    return ", ".join(" ".join(p.split()) for p in (passage.place, passage.section) if p.strip())


def _passage_text(text: str) -> str:
    """The passage's lines, none of which can pass for a boundary of the layout: a header-like
    "[2] (…)" becomes "(2) (…)", a line opening like "Question:" is quoted ("> Question:").
    Every kind of line break becomes a newline, so what is a line here is a line to the model.
    Ordinary text comes out unchanged."""
    lines = []
    for line in text.strip().splitlines():
        line = _HEADER_LIKE.sub(r"\1(\2\3)", line)
        if line.lstrip().lower().startswith(_MARKERS):
            line = f"> {line}"
        lines.append(line)
    return "\n".join(lines)


def user_turn(question: str, passages: Sequence[Passage]) -> str:
    """A question with its numbered passages (the passages first, the question last, where
    small models attend best). Passage text cannot imitate a header or the question (a
    document must not pass its words off as another source); earlier turns are repeated as
    they were stored, so this rendering applies from the next new turn on."""
    if not passages:
        return question
    blocks = [f"[{p.n}] ({_where(p)})\n{_passage_text(p.text)}" for p in passages]
    return (
        "Passages:\n\n"
        + "\n\n".join(blocks)
        + f"\n\nQuestion: {question}\n\nAnswer briefly and cite the passage numbers you use, "
        "like [1]."
    )


@dataclass(frozen=True)
class Turn:
    """An earlier question and answer of the thread."""

    question: str
    #: The question as it was sent (with its passages); None when it was sent bare.
    sent: str | None
    answer: str


@dataclass(frozen=True)
class Prompt:
    messages: list[ChatMessage]
    #: The passages the model was given, renumbered 1..n in the order given.
    passages: list[Passage]
    #: The user message as sent (stored, so later turns repeat it exactly).
    sent_question: str
    prompt_tokens: int
    passages_left_out: int = 0
    turns_left_out: int = 0
    turns_without_passages: int = 0
    notes: list[str] = field(default_factory=list)


class ContextOverflowError(ValueError):
    """Even the question alone does not fit into the context window."""


def build_prompt(
    *,
    system: str,
    history: Sequence[Turn],
    question: str,
    passages: Sequence[Passage],
    count: Callable[[list[ChatMessage]], int],
    context_size: int,
    answer_tokens: int,
    history_turns: int,
) -> Prompt:
    budget = context_size - answer_tokens - SAFETY_TOKENS

    def messages_for(turns: list[ChatMessage], given: Sequence[Passage]) -> list[ChatMessage]:
        return [
            ChatMessage("system", system),
            *turns,
            ChatMessage("user", user_turn(question, given)),
        ]

    if count(messages_for([], [])) > budget:
        raise ContextOverflowError(
            f"The question is too long for the model's context window ({context_size} tokens "
            f"with {answer_tokens} reserved for the answer). Shorten it or pick a model with a "
            "larger context."
        )
    given: list[Passage] = []
    for passage in passages:
        candidate = replace(passage, n=len(given) + 1)
        if count(messages_for([], [*given, candidate])) > budget:
            break
        given.append(candidate)

    kept: list[ChatMessage] = []
    stripped = 0
    recent = list(history)[-history_turns:] if history_turns else []
    bare = False
    for turn in reversed(recent):
        pair = None
        if not bare and turn.sent is not None:
            as_sent = [ChatMessage("user", turn.sent), ChatMessage("assistant", turn.answer)]
            if count(messages_for([*as_sent, *kept], given)) <= budget:
                pair = as_sent
            else:
                bare = True
        if pair is None:
            plain = [ChatMessage("user", turn.question), ChatMessage("assistant", turn.answer)]
            if count(messages_for([*plain, *kept], given)) > budget:
                break
            pair = plain
            stripped += turn.sent is not None and turn.sent != turn.question
        kept = [*pair, *kept]
    messages = messages_for(kept, given)
    used_turns = len(kept) // 2
    left_out_turns = len(history) - used_turns
    notes = []
    if len(given) < len(passages):
        notes.append(
            f"{len(passages) - len(given)} of {len(passages)} passages did not fit into the "
            "context window and were left out."
        )
    if left_out_turns:
        notes.append(f"The {left_out_turns} oldest turns of this thread were left out.")
    return Prompt(
        messages=messages,
        passages=given,
        sent_question=user_turn(question, given),
        prompt_tokens=count(messages),
        passages_left_out=len(passages) - len(given),
        turns_left_out=left_out_turns,
        turns_without_passages=stripped,
        notes=notes,
    )
