"""Search latency as a workspace grows, and the vector index's recall against an exact scan.

For each size (10k and 100k passages) a workspace is filled with real passages and searched
through the app's own path (`Library.search`: query embedding, vector and full-text search side
by side, fusion, near-duplicate collapse). Measured in the same run, on the same vectors: an
exact cosine scan with numpy (`argpartition` over the whole matrix), which also gives the true
top 10 for recall@10 of the vector search.

Passage texts are real: the Python 3.11 documentation, the Debian Administrator's Handbook and
the Debian Reference in six languages (HTML and PDF), parsed and chunked by the app (repeated
where a size needs more). Embedding 100k passages takes about an hour on 2 cores, so only the
first REAL_VECTORS passages are embedded for real; every passage's vector mixes two random real
ones (weights 1 and 0.5) plus Gaussian noise, normalised: spread like real embeddings, not
clumped around 2,000 points (which would leave most IVF partitions empty). Queries: the 79
retrieval-quality questions and 60 passage openings, embedded for real.

    .venv/bin/python tests/benchmarks/bench_retrieval_latency.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.ingest.chunking import Chunker
from anyllm_desktop.ingest.formats import parse_file
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store.vectors import PassageRow
from tests.benchmarks.corpus import debian_package

REAL_VECTORS = 2000
SECOND_WEIGHT = 0.5
NOISE = 0.03  # per dimension: a noise vector of norm ~0.6
QUESTIONS = Path(__file__).with_name("retrieval_questions.json")
LANGUAGES = ("en", "de", "fr", "es", "it", "pt")


def source_files() -> list[Path]:
    html = debian_package("python3.11-doc") / "usr/share/doc/python3.11/html"
    files = sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)
    for package in ["debian-handbook"] + [f"debian-reference-{lang}" for lang in LANGUAGES]:
        root = debian_package(package)
        files += sorted(p for p in root.rglob("*") if p.suffix in (".html", ".pdf"))
    return files


def passages(library: Library, model: str, needed: int) -> list[tuple[str, object]]:
    chunker = Chunker(library.token_counter(model))
    out: list[tuple[str, object]] = []
    for path in source_files():
        try:
            document = parse_file(path)
        except Exception:
            continue
        out += [(path.name, chunk) for chunk in chunker.chunk(document)]
        if len(out) >= needed:
            break
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def fill(library: Library, name: str, items: list, vectors: np.ndarray) -> float:
    workspace = library.create_workspace(name)
    table = library.table(workspace)
    per_document = 500
    for start in range(0, len(items), per_document):
        part = items[start : start + per_document]
        doc_id = library.records.begin_document(
            workspace.id,
            content_hash=hashlib.sha256(f"{name}{start}".encode()).hexdigest(),
            path=f"/bench/{part[0][0]}#{start}",
            title=part[0][0],
            kind="html",
            size=0,
            pages=None,
        )
        rows = [
            PassageRow(doc_id, i, c.text, c.context, c.section, c.page, c.sheet, c.tokens, v)
            for i, ((_, c), v) in enumerate(
                zip(part, vectors[start : start + per_document], strict=True)
            )
        ]
        library.vectors.add(table, rows)
        library.records.finish_document(doc_id, len(rows))
    started = time.perf_counter()
    library.vectors.finish_writes(table)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    apply_offline_environment()
    home = Path(tempfile.mkdtemp(prefix="anyllm-bench-latency-"))
    runtime = Runtime.open(home)
    library = Library(runtime)
    model = runtime.settings.embedding_model
    embedder = library.embedder(model)

    largest = max(args.sizes)
    started = time.perf_counter()
    corpus = passages(library, model, largest)
    print(
        f"{len(corpus)} real passages parsed and chunked in {time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    real = embedder.embed([c.embed_text for _, c in corpus[:REAL_VECTORS]])
    print(f"{len(real)} passages embedded in {time.perf_counter() - started:.0f} s")
    rng = np.random.default_rng(7)
    items = [corpus[i % len(corpus)] for i in range(largest)]
    first, second = rng.integers(0, len(real), (2, largest))
    noise = rng.normal(0, NOISE, (largest, real.shape[1])).astype(np.float32)
    vectors = real[first] + SECOND_WEIGHT * real[second] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    questions = [q["q"] for q in json.loads(QUESTIONS.read_text())["questions"]]
    openings = [
        " ".join(c.text.split()[:12]) for _, c in corpus[REAL_VECTORS : REAL_VECTORS + 6000 : 100]
    ]
    queries = questions + openings
    query_vectors = embedder.embed(queries)

    print(f"\n{'passages':>9} | {'index build':>11} | {'method':<34} | {'p50 ms':>7} | "
          f"{'p95 ms':>7} | recall@10")  # fmt: skip
    for size in args.sizes:
        name = f"lat{size}"
        build = fill(library, name, items[:size], vectors[:size])
        matrix = vectors[:size]
        table = library.table(library.workspace(name))
        first_doc = min(d.id for d in library.documents(name))
        exact_times, vector_times, recalls = [], [], []
        for vector in query_vectors:
            t = time.perf_counter()
            scores = matrix @ vector
            top = np.argpartition(-scores, 10)[:10]
            exact_times.append(time.perf_counter() - t)
            truth = {(int(i) // 500, int(i) % 500) for i in top}
            t = time.perf_counter()
            hits = library.vectors.vector_search(table, vector, 10)
            vector_times.append(time.perf_counter() - t)
            found = {(h.doc_id - first_doc, h.chunk) for h in hits}
            recalls.append(len(found & truth) / 10)
        text_times, hybrid_times, embed_times = [], [], []
        for query, vector in zip(queries, query_vectors, strict=True):
            t = time.perf_counter()
            embedder.embed([query])
            embed_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            library.vectors.text_search(table, query, 40, vector)
            text_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            library.search(name, query, k=4)
            hybrid_times.append(time.perf_counter() - t)
        rows = [
            ("exact numpy scan (baseline)", exact_times, "1.000"),
            ("vector, LanceDB (top 10)", vector_times, f"{np.mean(recalls):.3f}"),
            ("full-text, LanceDB BM25 (top 40)", text_times, ""),
            ("query embedding alone", embed_times, ""),
            ("hybrid, Library.search incl. embedding", hybrid_times, ""),
        ]
        for label, times, recall in rows:
            print(f"{size:>9,} | {build:>9.1f} s | {label:<34} | {percentile(times, 50):>7.1f} | "
                  f"{percentile(times, 95):>7.1f} | {recall}")  # fmt: skip
    library.close()


if __name__ == "__main__":
    main()
