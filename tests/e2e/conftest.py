from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, FileResult
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="session")
def guide_excerpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 pages of the ReportLab guide (the first 12 and the fonts chapter's first 4, with
    "Unicode and UTF8"): a real PDF for tests that need one ingested, in a fifth of the time of
    all 134 pages (476 passages, ~19 s here)."""
    from pypdf import PdfReader, PdfWriter

    reader, writer = PdfReader(DATA / "reportlab-userguide.pdf"), PdfWriter()
    for index in [*range(12), *range(47, 51)]:
        writer.add_page(reader.pages[index])
    path = tmp_path_factory.mktemp("pdf") / "reportlab-userguide-excerpt.pdf"
    with path.open("wb") as out:
        writer.write(out)
    return path


@pytest.fixture
def library(anyllm_home: Path) -> Iterator[Library]:
    library = Library(Runtime.open(anyllm_home))
    yield library
    library.close()


def ingest(library: Library, workspace: str, *paths: Path,
           cancel: CancelToken | None = None) -> list[FileResult]:  # fmt: skip
    events = list(library.ingest(workspace, list(paths), cancel or CancelToken()))
    assert isinstance(events[-1], Done)
    return events[-1].result


def passages_in_table(library: Library, workspace: str) -> int:
    return library.vectors.count(library.table(library.workspace(workspace)))


@pytest.fixture
def keyless_env(child_env: dict[str, str]) -> dict[str, str]:
    """Child processes without a system keyring (as on the CI box), so a test never writes into
    a developer's real keyring."""
    return {**child_env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
