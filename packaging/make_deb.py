"""Build the Debian package from the PyInstaller bundle with ``dpkg-deb``.

Layout: the bundle under ``/opt/anyllm-desktop``, ``/usr/bin/anyllm`` and
``/usr/bin/anyllm-desktop`` as symlinks into it (the bundle's executables find their folder from
``/proc/self/exe``), the menu entry, and the icon in the hicolor theme. The maintainer scripts
refresh the desktop and icon caches when those tools exist; removal deletes the whole bundle
folder, so nothing the program may have written next to itself is left behind. User data stays
in the user's own folder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
PREFIX = Path("opt/anyllm-desktop")
ENTRY_POINTS = ("anyllm", "anyllm-desktop")
DESKTOP_FILE = PACKAGING / "anyllm-desktop.desktop"
ICONS = {
    ROOT / "resources/icons/anyllm-desktop.svg": "usr/share/icons/hicolor/scalable/apps",
    ROOT / "resources/icons/anyllm-desktop-128.png": "usr/share/icons/hicolor/128x128/apps",
}

_REFRESH_CACHES = """\
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q /usr/share/applications || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
fi
"""
POSTINST = "#!/bin/sh\nset -e\n" + _REFRESH_CACHES
POSTRM = (
    "#!/bin/sh\nset -e\n"
    'case "$1" in\n    remove|purge) rm -rf /opt/anyllm-desktop ;;\nesac\n' + _REFRESH_CACHES
)


def control_text(version: str, installed_kib: int) -> str:
    return (
        "Package: anyllm-desktop\n"
        f"Version: {version}\n"
        "Section: utils\n"
        "Priority: optional\n"
        "Architecture: amd64\n"
        "Maintainer: anyllm-desktop developers <anyllm-desktop@localhost>\n"
        f"Installed-Size: {installed_kib}\n"
        "Depends: libc6 (>= 2.36), libgl1, libegl1, libfontconfig1, libxkbcommon0, libdbus-1-3\n"
        "Recommends: libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, "
        "libxcb-shape0\n"
        "Description: chat with your own documents, offline\n"
        " A desktop assistant that answers questions from the files you drop into it,\n"
        " with a local model (llama.cpp) and citations of the passages it used.\n"
        " Ships its own Python, Qt and the embedded models under /opt/anyllm-desktop.\n"
    )


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def stage(bundle: Path, version: str, root: Path) -> None:
    """Lay out the package's file tree under ``root``."""
    missing = [name for name in ENTRY_POINTS if not (bundle / name).is_file()]
    if missing:
        raise SystemExit(
            f"make_deb: the bundle {bundle} lacks {', '.join(missing)}; "
            "build it first with `bash packaging/build.sh bundle`."
        )
    shutil.copytree(bundle, root / PREFIX, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    for name in ENTRY_POINTS:
        (root / "usr/bin" / name).symlink_to(Path("/") / PREFIX / name)
    applications = root / "usr/share/applications"
    applications.mkdir(parents=True)
    shutil.copy2(DESKTOP_FILE, applications / DESKTOP_FILE.name)
    for icon, folder in ICONS.items():
        (root / folder).mkdir(parents=True)
        shutil.copy2(icon, root / folder / f"anyllm-desktop{icon.suffix}")
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024
    _write(root / "DEBIAN/control", control_text(version, size_kib))
    _write(root / "DEBIAN/postinst", POSTINST, 0o755)
    _write(root / "DEBIAN/postrm", POSTRM, 0o755)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="the PyInstaller folder")
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", type=Path, required=True, help="the .deb to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.out.parent) as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        stage(args.bundle, args.version, root)
        # gzip -1: the bundle's libraries barely compress further, and xz took minutes here.
        build = ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build"]
        subprocess.run([*build, str(root), str(args.out)], check=True)
    print(f"deb: {args.out} ({args.out.stat().st_size / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
