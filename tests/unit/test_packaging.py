"""The installer's files agree with the code: the menu entry, the spec and the package layout.

The build itself is too slow for the suite (packaging/check_deb.sh runs it); these checks catch
the mistakes that only show on a user's desktop: a menu entry that starts nothing, a format the
app reads that the desktop does not offer to open with it, an icon that is not there.
"""

from __future__ import annotations

import configparser
import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType

from anyllm_desktop.ingest.formats import PARSERS

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"

#: The shared-mime-info type of every suffix the app parses (what a file manager matches).
MIME_OF_SUFFIX = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".xls": "application/vnd.ms-excel",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".rtf": "application/rtf",
    ".rst": "text/x-rst",
    ".org": "text/x-org",
    ".epub": "application/epub+zip",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".log": "text/plain",
    ".eml": "message/rfc822",
}


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(PACKAGING / "anyllm-desktop.desktop")
    return parser["Desktop Entry"]


def _make_deb() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_deb", PACKAGING / "make_deb.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry_points() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {**project["scripts"], **project["gui-scripts"]}


def test_menu_entry_starts_the_window_with_the_dropped_files() -> None:
    entry = _desktop_entry()
    command, *arguments = entry["Exec"].split()
    assert _entry_points()[command] == "anyllm_desktop.app:main"
    assert arguments == ["%F"]  # several local files, as a file manager drops them
    assert entry["TryExec"] == command and entry["Terminal"] == "false"
    assert command in _make_deb().ENTRY_POINTS  # /usr/bin/<command> exists in the .deb


def test_menu_entry_offers_every_format_the_app_reads() -> None:
    offered = set(filter(None, _desktop_entry()["MimeType"].split(";")))
    unmapped = set(PARSERS) - set(MIME_OF_SUFFIX)
    assert not unmapped, f"add the MIME type of {sorted(unmapped)} here and to the .desktop file"
    missing = {MIME_OF_SUFFIX[suffix] for suffix in PARSERS} - offered
    assert not missing, f"the .desktop file's MimeType lacks {sorted(missing)}"


def test_spec_builds_both_entry_points_and_the_entry_script_dispatches() -> None:
    spec = (PACKAGING / "anyllm-desktop.spec").read_text()
    assert set(re.findall(r'executable\("([^"]+)"\)', spec)) == set(_entry_points())
    assert set(_make_deb().ENTRY_POINTS) == set(_entry_points())
    entry = (PACKAGING / "entry.py").read_text()
    for target in _entry_points().values():  # the entry script calls each declared main
        module, function = target.split(":")
        assert f"from {module} import {function}" in entry
    assert '"resources"' in spec and "anyllm_desktop/_resources" in spec  # see core/resources.py


def test_icon_and_package_files_exist() -> None:
    icon = _desktop_entry()["Icon"]
    make_deb = _make_deb()
    for source, folder in make_deb.ICONS.items():
        assert source.is_file() and source.stem.startswith(icon)
        assert folder.startswith("usr/share/icons/hicolor/")
    assert make_deb.DESKTOP_FILE.is_file()
    control = make_deb.control_text("0.1.0", 1)
    assert "Package: anyllm-desktop\n" in control and "Architecture: amd64\n" in control
    assert "rm -rf /opt/anyllm-desktop" in make_deb.POSTRM  # removal leaves no files


def test_the_window_command_takes_the_files_the_menu_entry_passes() -> None:
    from anyllm_desktop.app import build_parser

    args = build_parser().parse_args(["report.pdf", "notes"])
    assert args.files == [Path("report.pdf"), Path("notes")] and not args.quit_after_start
