"""Real documents for benchmarks, fetched from Debian's package archive (the only network the
benchmarks use) and unpacked once into a cache folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "anyllm-desktop" / "bench"


def debian_package(name: str, cache: Path = CACHE) -> Path:
    """The unpacked tree of a Debian package (downloaded with apt-get on first use)."""
    target = cache / name
    if target.is_dir():
        return target
    downloads = cache / "debs"
    downloads.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", name], cwd=downloads, check=True,
                   capture_output=True)  # fmt: skip
    deb = next(downloads.glob(f"{name}_*.deb"))
    partial = cache / f"{name}.partial"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
    partial.rename(target)
    return target


def debian_faq() -> list[Path]:
    root = debian_package("debian-faq") / "usr/share/doc/debian/FAQ"
    return sorted(p for p in root.glob("*.en.html") if p.name != "index.en.html")


def debian_reference_pdf() -> Path:
    return (
        debian_package("debian-reference-en") / "usr/share/debian-reference/debian-reference.en.pdf"
    )
