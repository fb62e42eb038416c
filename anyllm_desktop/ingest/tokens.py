"""Counting text in the embedder's own tokens, so no chunk is longer than the embedder reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

#: The most text one tokenizer call sees. An encoding keeps ids, offsets and token strings,
#: ~500 bytes a token: one call on a whole 8.7 MB text took 1.25 GB. Longer texts are cut at
#: whitespace first (the word-piece tokenizers used here never join tokens across whitespace,
#: so counts add up exactly).
MAX_CALL_CHARS = 20_000


def pieces_at_whitespace(text: str, limit: int = MAX_CALL_CHARS) -> Iterator[str]:
    """``text`` in consecutive pieces of at most ``limit`` characters, cut before the last
    whitespace in reach (mid-word only where there is none)."""
    start = 0
    while len(text) - start > limit:
        end = start + limit
        cut = max(text.rfind(space, start + 1, end) for space in " \n\t")
        if cut <= start:
            cut = end
        yield text[start:cut]
        start = cut
    yield text[start:]


class TokenCounter:
    """Word-piece counts from a Hugging Face ``tokenizer.json`` (no special tokens counted)."""

    def __init__(self, tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def _count_one(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count(self, text: str, *, stop_after: int | None = None) -> int:
        """Tokens in ``text``; with ``stop_after``, counting may stop at any total above it
        (enough to know a text does not fit, without tokenizing all of a huge one)."""
        if len(text) <= MAX_CALL_CHARS:
            return self._count_one(text)
        total = 0
        for piece in pieces_at_whitespace(text):
            total += self._count_one(piece)
            if stop_after is not None and total > stop_after:
                break
        return total

    def count_many(self, texts: list[str]) -> list[int]:
        counts: list[int] = []
        batch: list[str] = []
        size = 0
        for text in [*texts, None]:  # None: the end, flush the last batch
            if batch and (text is None or size + len(text) > MAX_CALL_CHARS):
                encodings = self._tokenizer.encode_batch(batch, add_special_tokens=False)
                counts += [len(e.ids) for e in encodings]
                batch, size = [], 0
            if text is not None and len(text) > MAX_CALL_CHARS:
                counts.append(self.count(text))
            elif text is not None:
                batch.append(text)
                size += len(text)
        return counts

    def split(self, text: str, max_tokens: int) -> list[str]:
        """Cut text into pieces of at most ``max_tokens`` tokens, at token boundaries."""
        return list(self.iter_split(text, max_tokens))

    def iter_split(self, text: str, max_tokens: int) -> Iterator[str]:
        """:meth:`split` one piece at a time, tokenizing at most MAX_CALL_CHARS at once."""
        for part in pieces_at_whitespace(text):
            yield from self._split_one(part, max_tokens)

    def _split_one(self, text: str, max_tokens: int) -> Iterator[str]:
        offsets = self._tokenizer.encode(text, add_special_tokens=False).offsets
        for start in range(0, len(offsets), max_tokens):
            begin = offsets[start][0]
            end = offsets[start + max_tokens][0] if start + max_tokens < len(offsets) else len(text)
            piece = text[begin:end].strip()
            if piece:
                yield piece
