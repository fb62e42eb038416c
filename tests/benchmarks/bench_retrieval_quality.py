"""Retrieval quality on real documents: does the right passage come back?

Corpus: the Debian FAQ (16 HTML chapters) and the Debian Reference (261-page PDF), fetched from
Debian's archive. Questions: tests/benchmarks/retrieval_questions.json (79 questions, each with
the file and an evidence phrase of the passage that answers it): 40 that were used to choose the
fusion weight and chunk size ("tuning") and 39 written later and held out from such choices.

A question is a hit@k when one of the top k passages answers it: comes from the labelled file and
contains the evidence phrase, or is one of the other answering passages ("also") found by pooled
judging of every method's results. The strict count (the labelled passage only) is printed too.
Measured in the same run, with the same embedding model:
  - anyllm-desktop: structure-aware chunks, searched vector-only, full-text-only and hybrid;
  - baseline: what AnythingLLM does: the documents' text cut into fixed 1,000-character chunks
    with 20 characters of overlap, vector search, top 4.

    .venv/bin/python tests/benchmarks/bench_retrieval_quality.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done
from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.ingest.formats import parse_file
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from tests.benchmarks.corpus import debian_faq, debian_reference_pdf

QUESTIONS = Path(__file__).with_name("retrieval_questions.json")
_QUOTES = str.maketrans({"”": '"', "“": '"', "’": "'", "‘": "'"})


def normalize(text: str) -> str:
    return " ".join(text.translate(_QUOTES).lower().split())


def is_hit(question: dict, path: str, text: str, pooled: bool = True) -> bool:
    """Whether the passage answers the question: it is the labelled passage (file and evidence
    phrase), or, when ``pooled``, one of the other answering passages found by pooled judging."""
    places = [question, *question.get("also", [])] if pooled else [question]
    name, body = Path(path).name, normalize(text)
    return any(name == p["file"] and normalize(p["evidence"]) in body for p in places)


def recursive_split(text: str, size: int = 1000, overlap: int = 20) -> list[str]:
    """LangChain's RecursiveCharacterTextSplitter, as AnythingLLM uses it: split on paragraph,
    line, word, then character boundaries into pieces of at most ``size`` characters."""

    def split(piece: str, separators: list[str]) -> list[str]:
        if len(piece) <= size:
            return [piece]
        separator, rest = separators[0], separators[1:]
        parts = piece.split(separator) if separator else list(piece)
        chunks, current = [], ""
        for part in parts:
            candidate = f"{current}{separator}{part}" if current else part
            if len(candidate) <= size:
                current = candidate
                continue
            if current:
                chunks.append(current)
            if len(part) > size and rest:
                chunks.extend(split(part, rest))
                current = ""
            else:
                current = part
        if current:
            chunks.append(current)
        return chunks

    pieces = split(text, ["\n\n", "\n", " ", ""])
    return [
        (pieces[i - 1][-overlap:] + " " + piece) if i and overlap else piece
        for i, piece in enumerate(pieces)
    ]


def judge(question: dict, path: str, text: str) -> tuple[bool, bool]:
    """(strict, pooled) verdicts for one passage."""
    return is_hit(question, path, text, pooled=False), is_hit(question, path, text)


def score(hits: list[list[bool]]) -> tuple[int, int]:
    """Questions answered by the first passage, and by one of the first four."""
    return sum(h[0] for h in hits if h), sum(any(h[:4]) for h in hits)


def main() -> None:
    apply_offline_environment()
    questions = json.loads(QUESTIONS.read_text())["questions"]
    files = [*debian_faq(), debian_reference_pdf()]
    with tempfile.TemporaryDirectory() as home:
        library = Library(Runtime.open(home))
        library.create_workspace("eval")
        started = time.perf_counter()
        events = list(library.ingest("eval", files, CancelToken()))
        assert isinstance(events[-1], Done)
        passages = sum(r.chunks for r in events[-1].result)
        ingest_s = time.perf_counter() - started
        rows: dict[str, list[list[tuple[bool, bool]]]] = {}
        latencies: dict[str, list[float]] = {}
        #: Characters of text the top 4 hand to the chat model, per question (a method that
        #: returns more text finds more evidence phrases; this keeps the comparison honest).
        sizes: dict[str, list[int]] = {}
        for mode in ("vector", "fulltext", "hybrid"):
            rows[mode], latencies[mode], sizes[mode] = [], [], []
            for question in questions:
                t0 = time.perf_counter()
                results = library.search("eval", question["q"], k=4, mode=mode)
                latencies[mode].append(time.perf_counter() - t0)
                rows[mode].append([judge(question, r.path, r.text) for r in results])
                sizes[mode].append(sum(len(r.text) for r in results))
        # The baseline: fixed character chunks of the same parsed text, same embedder.
        embedder = library.embedder(library.workspace("eval").embedding_model)
        chunks: list[tuple[str, str]] = []
        for path in files:
            text = "\n\n".join(b.text for b in parse_file(path).blocks)
            chunks += [(str(path), piece) for piece in recursive_split(text)]
        started = time.perf_counter()
        matrix = embedder.embed([c for _, c in chunks], batch_size=25)
        baseline_embed_s = time.perf_counter() - started
        rows["baseline"], sizes["baseline"] = [], []
        for question in questions:
            scores = matrix @ embedder.embed([question["q"]])[0]
            top = np.argsort(-scores)[:4]
            rows["baseline"].append([judge(question, *chunks[i]) for i in top])
            sizes["baseline"].append(sum(len(chunks[i][1]) for i in top))
        library.close()

    print(f"Retrieval quality, {len(questions)} questions, {len(files)} files "
          f"(Debian FAQ HTML + Debian Reference PDF)")  # fmt: skip
    print(f"  anyllm-desktop: {passages} passages, ingested in {ingest_s:.1f} s")
    print(f"  baseline: {len(chunks)} chunks of 1,000 characters (20 overlap), embedded in "
          f"{baseline_embed_s:.1f} s")  # fmt: skip
    sets = {
        "all": [True] * len(questions),
        "tuning": [q["set"] == "tuning" for q in questions],
        "held-out": [q["set"] == "held-out" for q in questions],
    }
    print(f"  hit@1 / hit@4 on: all {len(questions)} questions | the {sum(sets['tuning'])} that "
          f"chose the fusion weight | {sum(sets['held-out'])} held out; mean characters "
          f"returned")  # fmt: skip
    labels = {
        "baseline": "baseline: 1,000-char chunks, vector, top 4",
        "vector": "anyllm-desktop, vector only",
        "fulltext": "anyllm-desktop, full-text only",
        "hybrid": "anyllm-desktop, hybrid (fusion, vector top 2 kept)",
    }
    verdicts = {"any answering passage (pooled judgments)": 1, "the labelled passage only": 0}
    for heading, which in verdicts.items():
        print(f"  {heading}:")
        for key in ("baseline", "vector", "fulltext", "hybrid"):
            cells = []
            for chosen in sets.values():
                picked = [h for h, keep in zip(rows[key], chosen, strict=True) if keep]
                at1, at4 = score([[v[which] for v in h] for h in picked])
                n = sum(chosen)
                cells.append(f"{at1 / n:.3f} / {at4 / n:.3f} ({at4}/{n})")
            cells.append(f"{float(np.mean(sizes[key])):,.0f}")
            print(f"    {labels[key]:50s} " + " | ".join(cells))
    for mode, values in latencies.items():
        print(f"  search latency {mode:8s} median {1000 * float(np.median(values)):.0f} ms")
    for heading, which in verdicts.items():
        misses = [
            q["q"]
            for q, h in zip(questions, rows["hybrid"], strict=True)
            if not any(v[which] for v in h[:4])
        ]
        print(f"  hybrid misses, {heading}: " + (" | ".join(misses) or "none"))


if __name__ == "__main__":
    main()
