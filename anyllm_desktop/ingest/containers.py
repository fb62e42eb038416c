"""ZIP packages (DOCX, PPTX, XLSX, ODT, EPUB) checked before any parser unpacks them.

A 4 MB file can unpack to gigabytes (a "ZIP bomb"), and the parsers behind these formats hold a
whole XML part in memory as a tree. So the central directory is read first: the total unpacked
size, the largest XML part and the compression ratio are bounded, and members we read ourselves
are read in bounded steps (a header can lie; Python's zipfile stops at the header's size and a
lie then fails its CRC check).

The limits come from measurements here (peak RSS while parsing generated documents, with the
interpreter and libraries loaded at ~210 MB): unstructured/python-docx took +216 MB for a 10 MB
and +338 MB for a 20 MB ``word/document.xml``; pandoc 806 MB (and 300 s) for a 10 MB ODT
``content.xml``; openpyxl streams sheets in read-only mode, but the cells we keep took +96 MB for
a 20 MB sheet; lxml ~23 MB per MB of HTML (EPUB chapters). Each limit keeps its parser's peak
well under ~600 MB.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from anyllm_desktop.ingest.blocks import ParseError

_MB = 1024 * 1024


@dataclass(frozen=True)
class PackageLimits:
    #: What the format is called in messages ("the Word document").
    name: str
    #: All members together, unpacked.
    total: int
    #: Any one XML (or XHTML) member, unpacked: these are parsed into trees.
    xml_part: int
    #: Unpacked / packed size of the whole package; real documents stay far below.
    ratio: float = 100.0


WORD = PackageLimits("the Word document", total=200 * _MB, xml_part=12 * _MB)
POWERPOINT = PackageLimits("the PowerPoint file", total=300 * _MB, xml_part=8 * _MB)
EXCEL = PackageLimits("the Excel workbook", total=300 * _MB, xml_part=64 * _MB)
ODT = PackageLimits("the OpenDocument text", total=200 * _MB, xml_part=5 * _MB)
EPUB = PackageLimits("the EPUB", total=300 * _MB, xml_part=12 * _MB)
#: Below this unpacked size the ratio is not checked (a small page of spaces packs 1000:1).
_RATIO_FLOOR = 20 * _MB
_XML_SUFFIXES = (".xml", ".xhtml", ".html", ".htm", ".opf", ".ncx", ".rels")


def _mb(size: int) -> str:
    if size >= 1024 * _MB:
        return f"{size / (1024 * _MB):.1f} GB"
    if size < _MB:
        return f"{size // 1024:,} KB"
    return f"{size / _MB:,.0f} MB"


def open_package(path: Path, limits: PackageLimits) -> zipfile.ZipFile:
    """Open a ZIP package after checking its central directory against ``limits``."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ParseError(f"{limits.name} is damaged (not a valid ZIP package)") from exc
    try:
        check_package(archive, path.stat().st_size, limits)
    except BaseException:
        archive.close()
        raise
    return archive


def check_package(archive: zipfile.ZipFile, packed: int, limits: PackageLimits) -> None:
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    bomb = "it may be a ZIP bomb"
    if total > limits.total:
        raise ParseError(
            f"{limits.name} unpacks to {_mb(total)} (limit {_mb(limits.total)}): {bomb}"
        )
    for info in infos:
        if info.filename.lower().endswith(_XML_SUFFIXES) and info.file_size > limits.xml_part:
            raise ParseError(
                f"{limits.name} has a part ({info.filename}) of {_mb(info.file_size)} "
                f"(limit {_mb(limits.xml_part)}): too large to read, or a ZIP bomb; "
                "split the document into smaller files"
            )
    if total > _RATIO_FLOOR and total > limits.ratio * max(packed, 1):
        raise ParseError(
            f"{limits.name} unpacks to {_mb(total)} from {_mb(packed)} "
            f"({total / max(packed, 1):,.0f} times its size): {bomb}"
        )


def check_file(path: Path, limits: PackageLimits, *, verify_xml: bool = False) -> None:
    """Check a package that another program will unpack. python-docx and openpyxl unpack with
    Python's zipfile, which stops at the header's size; for other programs (pandoc)
    ``verify_xml`` unpacks each XML part here first, bounded, so a lying header fails its CRC."""
    with open_package(path, limits) as archive:
        if verify_xml:
            for info in archive.infolist():
                if info.filename.lower().endswith(_XML_SUFFIXES):
                    read_member(archive, info.filename, limits.xml_part)


def read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes, reading at most ``limit + 1`` of them whatever its header says."""
    try:
        with archive.open(name) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:  # CRC mismatch, truncated stream
        raise ParseError(f"the part {name} is damaged ({exc})") from exc
    if len(data) > limit:
        raise ParseError(f"the part {name} unpacks to more than {_mb(limit)}: it may be a ZIP bomb")
    return data
