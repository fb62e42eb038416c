"""The retriever's seams: a query rewriter changes what is searched, a reranker re-orders what
is returned (the places where a spelling fix or a cross-encoder plugs in)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.retriever import SearchResult
from tests.e2e.conftest import ingest

pytestmark = pytest.mark.e2e


def test_a_rewriter_and_a_reranker_are_used(library: Library, tmp_path: Path) -> None:
    for name, text in (("kites", "Kites fly in steady wind."), ("boats", "Boats sail on lakes.")):
        (tmp_path / f"{name}.md").write_text(f"# {name}\n\n{text}\n", encoding="utf-8")
    library.create_workspace("Seams")
    ingest(library, "Seams", tmp_path / "kites.md", tmp_path / "boats.md")
    seen: list[str] = []

    def fix_spelling(workspace: Workspace, query: str) -> str:
        seen.append(workspace.name)
        return query.replace("kyte", "kite")

    def reverse(
        _workspace: Workspace, query: str, results: list[SearchResult]
    ) -> list[SearchResult]:
        return [replace(r, rank=i) for i, r in enumerate(reversed(results), start=1)]

    library.retriever.rewriters.append(fix_spelling)
    assert library.search("Seams", "kyte wind", k=1)[0].document == "kites"
    assert seen == ["Seams"]
    library.retriever.reranker = reverse
    ranked = library.search("Seams", "kyte wind", k=2)
    assert [r.document for r in ranked] == ["boats", "kites"] and ranked[0].rank == 1
