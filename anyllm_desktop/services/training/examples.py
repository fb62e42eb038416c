"""Training examples as the exact tokens llama.cpp will see, with the answer marked.

A conversation is formatted by the model's own chat template (from its GGUF, through the same
formatter the local chat provider uses) and tokenized by llama.cpp's tokenizer, so what the LoRA
learns on is byte-for-byte the prompt it later answers. The loss covers the last assistant reply
only (with the template's end-of-turn tokens, so the adapter also learns where to stop): the
system prompt and question are context, not targets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyllm_desktop.providers.llama_local import chat_formatter

# A batch's sequences are padded to a multiple of LENGTH_MULTIPLE tokens and its answer slots to
# one of ANSWER_MULTIPLE, so a run compiles a handful of step shapes instead of one per batch.
LENGTH_MULTIPLE = 32
ANSWER_MULTIPLE = 16


def padded(count: int, multiple: int) -> int:
    return -(-max(count, 1) // multiple) * multiple


@dataclass(frozen=True)
class TokenizedExample:
    """One conversation's tokens; ``answer_mask[i]`` is True where token i is a target."""

    tokens: tuple[int, ...]
    answer_mask: tuple[bool, ...]

    @property
    def answer_tokens(self) -> int:
        return sum(self.answer_mask)


def _tokens(llama: Any, formatter: Any, messages: Sequence[Mapping[str, str]]) -> list[int]:
    formatted = formatter(messages=[dict(m) for m in messages])
    return list(
        llama.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )
    )


def open_vocabulary(path: Path) -> Any:
    """llama.cpp on ``path`` with its tokenizer and chat template but none of its weights (what
    ``tokenize_chat`` needs; a multi-gigabyte model opens as fast as a small one)."""
    from llama_cpp import Llama

    return Llama(model_path=str(path), vocab_only=True, verbose=False)


def tokenize_chat(llama: Any, messages: Sequence[Mapping[str, str]]) -> TokenizedExample:
    """Tokens of ``messages`` (role/content dicts ending with the assistant's reply).

    ``llama`` is a llama_cpp.Llama of the base model; ``vocab_only=True`` is enough and loads in
    well under a second. The reply's tokens are those after the prompt with the generation
    prompt ("<|im_start|>assistant\\n" for ChatML); where the tokenizer merges across that
    boundary, the mask starts at the first token that differs.
    """
    if not messages or messages[-1].get("role") != "assistant":
        raise ValueError("a training example must end with the assistant's reply")
    if not messages[-1].get("content", "").strip():
        raise ValueError("a training example's assistant reply is empty")
    prompt_formatter = chat_formatter(llama)
    whole_formatter = chat_formatter(llama)
    whole_formatter.add_generation_prompt = False
    prompt = _tokens(llama, prompt_formatter, messages[:-1])
    whole = _tokens(llama, whole_formatter, messages)
    shared = 0
    while shared < min(len(prompt), len(whole)) and prompt[shared] == whole[shared]:
        shared += 1
    if shared == len(whole):
        raise ValueError("the chat template dropped the assistant's reply; it cannot be trained")
    return TokenizedExample(
        tokens=tuple(whole), answer_mask=tuple(i >= shared for i in range(len(whole)))
    )
