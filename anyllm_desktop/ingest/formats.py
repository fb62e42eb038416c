"""Which files can go in, how each is read, and finding them inside folders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from anyllm_desktop.ingest.blocks import ParsedDocument, ParseError, clean_title
from anyllm_desktop.ingest.markup import parse_epub, parse_html, parse_markdown, parse_with_pandoc
from anyllm_desktop.ingest.office import parse_docx, parse_pptx, parse_xls, parse_xlsx
from anyllm_desktop.ingest.pdf import parse_pdf
from anyllm_desktop.ingest.plain import parse_csv, parse_email, parse_text

Parser = Callable[[Path], ParsedDocument]

PARSERS: dict[str, Parser] = {
    ".pdf": parse_pdf,
    ".docx": parse_docx,
    ".pptx": parse_pptx,
    ".xlsx": parse_xlsx,
    ".xlsm": parse_xlsx,
    ".xls": parse_xls,
    ".csv": parse_csv,
    ".tsv": parse_csv,
    ".odt": parse_with_pandoc,
    ".rtf": parse_with_pandoc,
    ".rst": parse_with_pandoc,
    ".org": parse_with_pandoc,
    ".epub": parse_epub,
    ".html": parse_html,
    ".htm": parse_html,
    ".xhtml": parse_html,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".txt": parse_text,
    ".text": parse_text,
    ".log": parse_text,
    ".eml": parse_email,
}

_CONVERT_FIRST = {".doc": ".docx", ".ppt": ".pptx", ".odp": ".pptx", ".ods": ".xlsx"}
#: Larger files are refused with a message: beyond this a text file would take hours to embed.
MAX_FILE_BYTES = 100 * 1024 * 1024
#: PDFs carry images and fonts, so their size says little about their text.
MAX_PDF_BYTES = 1024 * 1024 * 1024
#: Formats parsed into a whole tree at once, so memory grows with the file: lxml took ~23 MB per
#: MB of HTML (597 MB peak for 24 MB), reading a CSV ~12 MB per MB (397 MB for 30 MB).
_TREE_LIMITS = {
    **dict.fromkeys((".html", ".htm", ".xhtml"), 16 * 1024 * 1024),
    **dict.fromkeys((".csv", ".tsv"), 32 * 1024 * 1024),
}
_SYSTEM_FILES = {"thumbs.db", "desktop.ini", ".ds_store", "icon\r"}


def size_limit(path: Path) -> int:
    """The largest file of this kind that is read (larger ones are refused unread)."""
    suffix = path.suffix.lower()
    return MAX_PDF_BYTES if suffix == ".pdf" else _TREE_LIMITS.get(suffix, MAX_FILE_BYTES)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in PARSERS


def _is_hidden_or_system(path: Path) -> bool:
    name = path.name.lower()
    return name.startswith((".", "~$")) or name in _SYSTEM_FILES or name.endswith("~")


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """The files to ingest: given files as they are, folders recursively in name order,
    leaving out hidden and system files (and hidden folders)."""
    for path in paths:
        if path.is_dir():
            for folder, subfolders, files in os.walk(path):
                subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
                for name in sorted(files):
                    candidate = Path(folder) / name
                    if not _is_hidden_or_system(candidate):
                        yield candidate
        else:
            yield path


def _size_mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def parse_file(path: Path) -> ParsedDocument:
    """Parse one file or raise :class:`ParseError` with a reason a user can act on."""
    suffix = path.suffix.lower()
    if suffix in _CONVERT_FIRST:
        raise ParseError(
            f"{suffix} files are not supported; save it as {_CONVERT_FIRST[suffix]} and add that"
        )
    if suffix not in PARSERS:
        known = ", ".join(sorted(PARSERS))
        raise ParseError(f"unsupported file type '{suffix or path.name}' (supported: {known})")
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ParseError("the file no longer exists (moved or deleted)") from exc
    except OSError as exc:
        raise ParseError(f"the file cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise ParseError("the file is empty")
    limit = size_limit(path)
    if size > limit:
        raise ParseError(
            f"the file is too large ({_size_mb(size)}; the limit is {_size_mb(limit)})"
        )
    try:
        document = PARSERS[suffix](path)
    except ParseError:
        raise
    except FileNotFoundError as exc:
        raise ParseError("the file no longer exists (moved or deleted)") from exc
    except PermissionError as exc:
        raise ParseError("permission denied") from exc
    except MemoryError as exc:
        raise ParseError("the file is too large to read in memory") from exc
    except RecursionError as exc:  # e.g. e-mail parts nested a thousand deep
        raise ParseError("the file is nested too deeply to read") from exc
    except Exception as exc:  # a parser bug must cost one file, not the whole drop
        raise ParseError(f"the file cannot be read ({type(exc).__name__}: {exc})") from exc
    if not any(block.text.strip() for block in document.blocks):
        raise ParseError("no text was found in the file")
    # Titles often come from the file name, which may hold undecodable bytes or controls.
    document.title = clean_title(document.title) or clean_title(path.stem)
    return document
