"""Locate the ``resources/`` folder in a source checkout or an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@cache
def resources_dir() -> Path:
    """``anyllm_desktop/_resources`` in a wheel, the repository's ``resources/`` otherwise."""
    for candidate in (_PACKAGE_DIR / "_resources", _PACKAGE_DIR.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"The resources folder of anyllm-desktop is missing (looked in {_PACKAGE_DIR}/_resources "
        f"and {_PACKAGE_DIR.parent}/resources). Reinstall with `bash packaging/bootstrap.sh`."
    )
