"""Ingestion throughput and memory on a mixed corpus of real documents.

Corpus (fetched from Debian's archive): the Debian Reference in eight languages (PDF and HTML),
the Debian Administrator's Handbook (HTML), the Node.js API docs (Markdown and HTML), Python's
tutorial, HOWTOs and FAQ (HTML), the Live Systems Manual in ten languages (EPUB), the ReportLab
user guide (PDF), the Debian FAQ (HTML), R's readxl/openxlsx spreadsheets (XLSX) and officer's
DOCX/PPTX examples.

Measured, each in its own process (peak RSS is per process):
  - the app's pipeline (parse, chunk, embed with length-sorted token-bounded batches, two at a
    time on a session with half the cores each, write):
    files/s, MB/s, passages/s, time per stage, peak RSS;
  - the baseline: fastembed called the naive way on the same passages (every 4th, to save time),
    in document order, in fixed batches of 25 texts (about what AnythingLLM's embedder achieves
    here).

    .venv/bin/python tests/benchmarks/bench_ingest.py
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.corpus import CACHE, debian_package

_DOCUMENT_SUFFIXES = {".pdf", ".html", ".md", ".epub", ".xlsx", ".docx", ".pptx"}


def build_corpus() -> Path:
    target = CACHE / "ingest-corpus"
    if target.is_dir():
        return target
    partial = CACHE / "ingest-corpus.partial"
    shutil.rmtree(partial, ignore_errors=True)
    sources: list[tuple[str, str]] = []
    for language in ("en", "de", "fr", "it", "es", "pt", "ja", "zh-cn"):
        sources.append((f"debian-reference-{language}", "usr/share/debian-reference"))
    sources += [
        ("debian-handbook", "usr/share/doc/debian-handbook/html/en-US"),
        ("nodejs-doc", "usr/share/doc/nodejs/api"),
        ("python3.11-doc", "usr/share/doc/python3.11/html/tutorial"),
        ("python3.11-doc", "usr/share/doc/python3.11/html/howto"),
        ("python3.11-doc", "usr/share/doc/python3.11/html/faq"),
        ("live-manual-epub", "usr/share/doc/live-manual/epub"),
        ("python-reportlab-doc", "usr/share/doc/python-reportlab-doc"),
        ("debian-faq", "usr/share/doc/debian/FAQ"),
        ("r-cran-readxl", "usr/lib/R/site-library/readxl/extdata"),
        ("r-cran-openxlsx", "usr/lib/R/site-library/openxlsx/extdata"),
        ("r-cran-officer", "usr/lib/R/site-library/officer/doc_examples"),
    ]
    for package, folder in sources:
        root = debian_package(package) / folder
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.suffix in _DOCUMENT_SUFFIXES:
                copy = partial / package / root.name / path.relative_to(root)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
    partial.rename(target)
    return target


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_pipeline(corpus: Path, passages_out: Path) -> dict:
    from anyllm_desktop.core.cancel import CancelToken
    from anyllm_desktop.core.offline import apply_offline_environment
    from anyllm_desktop.services.ingestion import IngestJob
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime

    apply_offline_environment()
    with tempfile.TemporaryDirectory() as home:
        library = Library(Runtime.open(home))
        workspace = library.create_workspace("bench")
        library.embedder(workspace.embedding_model).for_bulk().load()  # not timed
        job = IngestJob(library, workspace, [corpus], CancelToken())
        started = time.perf_counter()
        for _ in job.run():
            pass
        elapsed = time.perf_counter() - started
        table = library.table(library.workspace("bench"))
        rows = [r for batch in library.vectors.iter_passages(table) for r in batch]
        rows.sort(key=lambda r: (r["doc_id"], r["chunk"]))  # document order
        passages_out.write_text(
            json.dumps(
                [f"{r['context']}\n{r['text']}" if r["context"] else r["text"] for r in rows]
            )
        )
        results = job.results
        library.close()
    return {
        "seconds": elapsed,
        "files": len(results),
        "indexed": sum(r.status == "indexed" for r in results),
        "duplicates": sum(r.status == "duplicate" for r in results),
        "failed": [f"{Path(r.path).name}: {r.reason}" for r in results if r.status == "failed"],
        "passages": len(rows),
        "timings": job.timings,
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_naive(passages: Path) -> dict:
    from anyllm_desktop.core.offline import apply_offline_environment
    from anyllm_desktop.services.runtime import Runtime

    apply_offline_environment()
    # Every 4th passage in document order: the same chunks, a quarter of the wait.
    texts = json.loads(passages.read_text())[::4]
    with tempfile.TemporaryDirectory() as home:
        embedder = Runtime.open(home).create_embedder()
        embedder.load()
        started = time.perf_counter()
        for start in range(0, len(texts), 25):  # document order, fixed batches of 25
            embedder.embed(texts[start : start + 25], batch_size=25)
        elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "passages": len(texts), "peak_rss_mb": _peak_rss_mb()}


def _run_child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    corpus = build_corpus()
    files = [p for p in corpus.rglob("*") if p.is_file()]
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    kinds: dict[str, int] = {}
    for path in files:
        kinds[path.suffix] = kinds.get(path.suffix, 0) + 1
    with tempfile.TemporaryDirectory() as scratch:
        passages = Path(scratch) / "passages.json"
        ours = _run_child("--pipeline", str(corpus), str(passages))
        naive = _run_child("--naive", str(passages))
    t = ours["timings"]
    print(f"Ingestion of {len(files)} files, {megabytes:.1f} MB "
          f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")  # fmt: skip
    print(f"  indexed {ours['indexed']}, duplicates {ours['duplicates']}, "
          f"failed {len(ours['failed'])}; {ours['passages']} passages")  # fmt: skip
    print(f"  total {ours['seconds']:.1f} s: {len(files) / ours['seconds']:.2f} files/s, "
          f"{megabytes / ours['seconds']:.2f} MB/s, {ours['passages'] / ours['seconds']:.1f} "
          f"passages/s")  # fmt: skip
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in t.items())
    print(f"  stages: {stages}")
    print(f"  peak RSS: pipeline {ours['peak_rss_mb']:.0f} MB (target <= 1024 MB), naive "
          f"embedding alone {naive['peak_rss_mb']:.0f} MB")  # fmt: skip
    ours_rate = ours["passages"] / t["embed"]
    naive_rate = naive["passages"] / naive["seconds"]
    print(f"  embedding: pipeline {ours_rate:.1f} passages/s vs naive fastembed (document order, "
          f"batches of 25, {naive['passages']} of the passages) {naive_rate:.1f} passages/s = "
          f"{ours_rate / naive_rate:.2f}x (target >= 1.5x)")  # fmt: skip
    for failure in ours["failed"][:10]:
        print(f"  failed: {failure}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--pipeline":
        print(json.dumps(child_pipeline(Path(sys.argv[2]), Path(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--naive":
        print(json.dumps(child_naive(Path(sys.argv[2]))))
    else:
        main()
