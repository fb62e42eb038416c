"""Counting text in the embedder's own tokens, so no chunk is longer than the embedder reads."""

from __future__ import annotations

from pathlib import Path


class TokenCounter:
    """Word-piece counts from a Hugging Face ``tokenizer.json`` (no special tokens counted)."""

    def __init__(self, tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def split(self, text: str, max_tokens: int) -> list[str]:
        """Cut text into pieces of at most ``max_tokens`` tokens, at token boundaries."""
        offsets = self._tokenizer.encode(text, add_special_tokens=False).offsets
        pieces = []
        for start in range(0, len(offsets), max_tokens):
            window = offsets[start : start + max_tokens]
            begin = window[0][0]
            end = offsets[start + max_tokens][0] if start + max_tokens < len(offsets) else len(text)
            piece = text[begin:end].strip()
            if piece:
                pieces.append(piece)
        return pieces
