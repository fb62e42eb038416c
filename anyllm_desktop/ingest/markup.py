"""Markup formats, all read through HTML: web pages, Markdown, EPUB, and (via pandoc) ODT, RTF,
reStructuredText and Org."""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from anyllm_desktop.ingest.blocks import Block, ParsedDocument, ParseError
from anyllm_desktop.ingest.containers import EPUB, ODT, check_file, open_package, read_member
from anyllm_desktop.ingest.html_blocks import html_title, html_to_blocks, parse_html_root
from anyllm_desktop.ingest.text_decoding import decode_text


def _first_heading(blocks: list[Block]) -> str:
    return next((b.text for b in blocks if b.kind == "heading"), "")


def parse_html(path: Path) -> ParsedDocument:
    root = parse_html_root(decode_text(path.read_bytes(), html=True))
    blocks = html_to_blocks(root)
    return ParsedDocument(html_title(root) or path.stem, "html", blocks)


_MARKDOWN_NESTING = 200
#: Longer Markdown is rendered in pieces of about this size, cut before headings (or at blank
#: lines) outside code fences: markdown-it's tokens and the HTML tree of the whole text took
#: 1.14 GB for a 10 MB file. Link references defined in another piece then stay plain text.
_MARKDOWN_PIECE = 512 * 1024
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")


def _markdown_pieces(source: str) -> Iterator[str]:
    if len(source) <= _MARKDOWN_PIECE:
        yield source
        return
    piece: list[str] = []
    size = 0
    fence = ""
    for line in io.StringIO(source):
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and line.strip() == opening.group(1):
                fence = "" if len(opening.group(1)) >= len(fence) else fence
        elif opening:
            fence = opening.group(1)
        elif (size > _MARKDOWN_PIECE // 8 and _ATX_HEADING.match(line)) or (
            size > _MARKDOWN_PIECE and not line.strip()
        ):
            yield "".join(piece)
            piece, size = [], 0
        piece.append(line)
        size += len(line)
    yield "".join(piece)


def parse_markdown(path: Path) -> ParsedDocument:
    from markdown_it import MarkdownIt

    source = decode_text(path.read_bytes())
    if source.startswith("---\n"):  # YAML front matter is metadata, not content
        end = source.find("\n---", 4)
        if end != -1:
            source = source[end + 4 :]
    # The commonmark preset stops at 20 levels of nested quotes and lists and silently drops
    # what is deeper; 200 stays far from Python's recursion limit (250 levels parsed here).
    markdown = MarkdownIt("commonmark", {"html": True, "maxNesting": _MARKDOWN_NESTING})
    markdown.enable("table")
    blocks: list[Block] = []
    for piece in _markdown_pieces(source):
        html = markdown.render(piece)
        blocks += html_to_blocks(parse_html_root(f"<html><body>{html}</body></html>"))
    return ParsedDocument(_first_heading(blocks) or path.stem, "markdown", blocks)


_PANDOC_FORMATS = {".odt": "odt", ".rtf": "rtf", ".rst": "rst", ".org": "org"}
#: pandoc's own heap limit (its Haskell runtime stops with "Heap exhausted" beyond it; the
#: process adds ~120 MB). pandoc took ~80 MB per MB of ODT XML and 625 MB for a 3.8 MB reST file
#: here: a large RTF or reST file would otherwise eat the machine.
PANDOC_HEAP_MB = 400


def parse_with_pandoc(path: Path) -> ParsedDocument:
    """ODT, RTF, reST and Org through pandoc (shipped in the pypandoc-binary wheel)."""
    import pypandoc

    source_format = _PANDOC_FORMATS[path.suffix.lower()]
    if source_format == "odt":
        check_file(path, ODT, verify_xml=True)
    # --sandbox: a document cannot make pandoc fetch a URL (a reST csv-table :url:) or pull in
    # another local file (.. include::, Org #+INCLUDE) — seen under strace without it.
    extra_args = ["--wrap=none", "--quiet", "--sandbox", "+RTS", f"-M{PANDOC_HEAP_MB}m", "-RTS"]
    try:
        html = pypandoc.convert_file(str(path), "html", format=source_format, extra_args=extra_args)
    except RuntimeError as exc:
        if "heap exhausted" in str(exc).lower():
            raise ParseError(
                f"the {source_format.upper()} file is too large to convert (pandoc needed more "
                f"than {PANDOC_HEAP_MB} MB of memory); split it into smaller files"
            ) from exc
        detail = str(exc).strip().splitlines()[-1:] or ["unknown error"]
        raise ParseError(f"the {source_format.upper()} file cannot be read ({detail[0]})") from exc
    blocks = html_to_blocks(parse_html_root(f"<html><body>{html}</body></html>"))
    return ParsedDocument(_first_heading(blocks) or path.stem, source_format, blocks)


_OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)


def parse_epub(path: Path) -> ParsedDocument:
    """EPUB: the chapters in reading order (the OPF spine), each parsed as HTML."""
    limit = EPUB.xml_part
    with open_package(path, EPUB) as archive:
        names = set(archive.namelist())
        try:
            container_xml = read_member(archive, "META-INF/container.xml", limit)
            container = etree.fromstring(container_xml, _SAFE_XML)
            opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
            opf = etree.fromstring(read_member(archive, opf_path, limit), _SAFE_XML)
        except (KeyError, IndexError, etree.XMLSyntaxError) as exc:
            raise ParseError("the EPUB has no readable package document (OPF)") from exc
        base = posixpath.dirname(opf_path)
        title = " ".join("".join(opf.xpath("//dc:title//text()", namespaces=_OPF_NS)).split())
        manifest = {
            item.get("id"): item.get("href")
            for item in opf.xpath("//opf:manifest/opf:item", namespaces=_OPF_NS)
        }
        blocks: list[Block] = []
        seen: set[str] = set()
        for idref in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=_OPF_NS):
            href = manifest.get(idref)
            if not href:
                continue
            # Some EPUBs point several spine entries into one file ("ch1.xhtml#p8").
            member = posixpath.normpath(posixpath.join(base, unquote(href.split("#")[0])))
            if member not in names or member in seen:
                continue
            seen.add(member)
            root = parse_html_root(decode_text(read_member(archive, member, limit), html=True))
            blocks += html_to_blocks(root)
    if not blocks:
        raise ParseError("the EPUB contains no readable text")
    return ParsedDocument(title or _first_heading(blocks) or path.stem, "epub", blocks)
