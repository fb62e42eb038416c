"""Bytes to text in whatever encoding a file uses; never a crash on non-UTF-8."""

from __future__ import annotations

import codecs
import re

from anyllm_desktop.ingest.blocks import ParseError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
#: C0 controls that text in no encoding uses (tab, newlines, form feed and escape are allowed).
_CONTROL_BYTES = [bytes([b]) for b in (*range(0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F)]
#: How much of a file charset detection looks at: enough to decide, fast on huge files.
_DETECTION_SAMPLE = 256 * 1024


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_text(data: bytes, *, html: bool = False) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if html and (declared := _META_CHARSET.search(data[:4096])):
        text = _try(data, declared.group(1).decode("ascii"))
        if text is not None:
            return text
    text = _try(data, "utf-8")
    if text is not None:
        return text
    sample = data[:_DETECTION_SAMPLE]
    if sum(sample.count(byte) for byte in _CONTROL_BYTES) > len(sample) // 20:
        raise ParseError("it looks like binary data, not text")
    from charset_normalizer import from_bytes

    best = from_bytes(data[:_DETECTION_SAMPLE]).best()
    encoding = best.encoding if best else "cp1252"
    return data.decode(encoding, errors="replace")
