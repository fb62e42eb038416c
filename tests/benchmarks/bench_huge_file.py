"""Peak memory of ingesting one very large text file with the app's real ingest pipeline.

Checks the promise that the ingest of any accepted file stays under 1 GB. The largest accepted
text is just under 100 MiB (``MAX_FILE_BYTES``); more than 2 M characters are chunked, embedded
and written as a stream (``STREAM_CHARACTERS``, ``SLICE_CHUNKS``). The real embedder takes ~40
passages/s here, ~50 minutes for such a file, so the measure has two parts, every run in a fresh
child process with its own temporary ANYLLM_HOME and peak RSS read from VmHWM at its end:

  (a) 99 MiB of generated text (one paragraph without a line break; and many paragraphs)
      through the whole pipeline with a fast deterministic fake embedder in place of the ONNX
      model: parse, chunk stream, embedding cache, LanceDB writes, index build. Baseline: the
      same one-paragraph file forced through the non-streamed path.
  (b) 8 MiB of one-paragraph text (~9,600 passages) with the real embedder, streamed and forced
      through the non-streamed path (the baseline), and streamed with the fake embedder: the
      difference between the two streamed runs is the ONNX model's share.

The estimate for 99 MiB with the real embedder is (a)'s peak plus (b)'s model share. To check
it directly in ~15 minutes instead of 50:

  (c) the 99 MiB paragraphs file with the real model loaded (its bulk session and batch limits)
      and run on one pair of batches in 20 (fake vectors for the rest), unloaded before the
      index build as in a real ingest.

    .venv/bin/python tests/benchmarks/bench_huge_file.py [--part a|b|c|all]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
#: Real English with its word frequencies, drawn from at random: no passage repeats (repeats
#: would come from the embedding cache) and the tokenizer sees ordinary words.
_VOCABULARY_SOURCE = ROOT / "tests" / "data" / "debian-faq-archives.html"
#: The promise checked.
LIMIT_MB = 1024


def _hwm_mb(field: str = "VmHWM") -> float:
    """This process image's peak RSS (ru_maxrss would carry over the parent's across exec), or
    with ``field="VmRSS"`` its RSS now."""
    status = Path("/proc/self/status").read_text()
    return int(status.split(f"{field}:")[1].split()[0]) / 1024


def write_text(path: Path, size: int, *, paragraphs: bool, seed: int) -> Path:
    """``size`` bytes of ASCII sentences, one paragraph (no line break at all) or paragraphs of
    about six sentences separated by blank lines."""
    source = re.sub(r"<[^>]+>", " ", _VOCABULARY_SOURCE.read_text(encoding="utf-8"))
    words = re.findall(r"[A-Za-z]+", source)
    rng = random.Random(seed)
    written = 0
    with path.open("w", encoding="ascii") as out:
        while written < size:
            drawn = rng.choices(words, k=100_000)
            parts: list[str] = []
            start = 0
            while start < len(drawn):
                length = rng.randint(6, 24)
                sentence = drawn[start : start + length]
                start += length
                end = "\n\n" if paragraphs and rng.random() < 1 / 6 else " "
                parts.append(" ".join(sentence).capitalize() + "." + end)
            piece = "".join(parts)
            out.write(piece)
            written += len(piece)
        out.truncate(size)
    return path


class FakeEmbedder:
    """Deterministic 384-dimensional vectors (seeded by the text's CRC) at no cost, registered
    in place of the ONNX model, so a run shows the memory of everything else."""

    dim = 384
    local = True
    max_input_tokens = 254  # as the real all-MiniLM-L6-v2 embedder: the same passages
    batch_texts = 64
    batch_tokens = 8192
    batch_quadratic_from = None
    concurrent_batches = 1

    def for_bulk(self) -> FakeEmbedder:
        return self

    def embed(self, texts: Sequence[str], batch_size: int = 16, cancel: object = None) -> Any:
        rows = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
            rows[i] = rng.standard_normal(self.dim, dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def unload(self) -> None:
        pass

    def release_memory(self) -> None:
        pass


class SampledEmbedder(FakeEmbedder):
    """The real embedder's limits and memory: its model loaded, one pair of batches (two run at
    once) in ``every`` pairs embedded by it, fake vectors for the rest; unloading unloads it."""

    def __init__(self, real: Any, every: int = 20) -> None:
        self.real, self.bulk, self.every = real, real.for_bulk(), every
        for name in ("max_input_tokens", "batch_texts", "batch_tokens", "batch_quadratic_from",
                     "concurrent_batches"):  # fmt: skip
            setattr(self, name, getattr(self.bulk, name))
        self._calls = itertools.count()

    def embed(self, texts: Sequence[str], batch_size: int = 16, cancel: object = None) -> Any:
        if next(self._calls) // 2 % self.every == 0:
            return self.bulk.embed(texts, batch_size)
        return super().embed(texts, batch_size)

    def unload(self) -> None:
        self.real.unload()

    def release_memory(self) -> None:
        self.real.release_memory()


# -- the child: one ingest in a fresh process ---------------------------------------------------


def _marking(function: Callable[..., Any], marks: dict[str, float], name: str, *, before: bool
             ) -> Callable[..., Any]:  # fmt: skip
    """``function``, noting the peak RSS (and the seconds) when it is called or returns, and
    when called, the RSS then."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before:
            marks[name] = _hwm_mb()
            marks[f"{name}_rss"] = _hwm_mb("VmRSS")
        started = time.perf_counter()
        result = function(*args, **kwargs)
        marks[f"{name}_s"] = marks.get(f"{name}_s", 0.0) + time.perf_counter() - started
        if not before:
            marks[name] = _hwm_mb()
        return result

    return wrapper


def child(spec: dict[str, Any]) -> dict[str, Any]:
    from anyllm_desktop.core.cancel import CancelToken
    from anyllm_desktop.core.offline import apply_offline_environment
    from anyllm_desktop.models.embedded import EMBEDDING_MODEL_ID
    from anyllm_desktop.services import ingest_reading
    from anyllm_desktop.services.ingestion import IngestJob
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime

    apply_offline_environment()
    if not spec["streamed"]:  # the baseline: the whole document as one list of passages
        ingest_reading.STREAM_CHARACTERS = 1 << 62
    marks: dict[str, float] = {}
    ingest_reading.parse_file = _marking(ingest_reading.parse_file, marks, "parsed", before=False)
    library = Library(Runtime.open())  # the home: $ANYLLM_HOME, set by the parent
    workspace = library.create_workspace("bench")
    assert workspace.embedding_model == EMBEDDING_MODEL_ID
    real = library.embedder(EMBEDDING_MODEL_ID)
    if spec["embedder"] == "fake":
        library._embedders[EMBEDDING_MODEL_ID, 0, False] = FakeEmbedder()  # type: ignore[assignment]
    else:
        real.for_bulk().load()  # type: ignore[attr-defined]  # not timed, but in the peak
    if spec["embedder"] == "sampled":
        library._embedders[EMBEDDING_MODEL_ID, 0, False] = SampledEmbedder(real)  # type: ignore[assignment]
    vectors = library.vectors
    vectors.finish_writes = _marking(vectors.finish_writes, marks, "index", before=True)  # type: ignore[method-assign]
    start_mb = _hwm_mb()
    job = IngestJob(library, workspace, [Path(spec["path"])], CancelToken())
    started = time.perf_counter()
    for _event in job.run():
        pass
    seconds = time.perf_counter() - started
    (result,) = job.results
    rows = vectors.count(library.table(library.workspace("bench")))
    library.close()
    return {
        "status": result.status,
        "reason": result.reason,
        "passages": result.chunks,
        "rows": rows,
        "seconds": seconds,
        "timings": job.timings,
        "start_mb": start_mb,
        "after_parse_mb": marks.get("parsed"),
        "before_index_mb": marks.get("index"),
        "index_start_rss_mb": marks.get("index_rss"),
        "index_s": marks.get("index_s"),
        "peak_mb": _hwm_mb(),
    }


def run_child(path: Path, *, embedder: str, streamed: bool) -> dict[str, Any]:
    spec = {"path": str(path), "embedder": embedder, "streamed": streamed}
    with tempfile.TemporaryDirectory(prefix="anyllm-huge-") as home:
        out = Path(home) / "result.json"
        env = {**os.environ, "ANYLLM_HOME": str(Path(home) / "home")}
        command = [sys.executable, __file__, "--child", json.dumps(spec), str(out)]
        subprocess.run(command, check=True, env=env, cwd=ROOT)
        return json.loads(out.read_text())


# -- the parent -----------------------------------------------------------------------------------


def _row(label: str, r: dict[str, Any]) -> str:
    def mb(value: float | None) -> str:
        return "–" if value is None else f"{value:,.0f}"

    if r["status"] != "indexed":
        return f"| {label} | {r['status']}: {r['reason']} | | | | | |"
    cells = [f"{r['passages']:,}", f"{r['seconds']:,.1f}", f"**{mb(r['peak_mb'])}**"]
    cells += [mb(r["after_parse_mb"]), mb(r["before_index_mb"]), mb(r["start_mb"])]
    if r["rows"] != r["passages"]:
        cells[0] += f" (table: {r['rows']:,} rows)"
    return f"| {label} | {' | '.join(cells)} |"


def conclude(runs: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    huge = [runs[k] for k in ("a1", "a2") if k in runs and runs[k]["status"] == "indexed"]
    real, fake = runs.get("b_real"), runs.get("b_fake")
    share = None
    if real and fake and real["status"] == fake["status"] == "indexed":
        # The streaming phase with and without the model (the model is unloaded before the
        # vector index is built, so that phase is compared before it).
        share = real["before_index_mb"] - fake["before_index_mb"]
        lines.append(f"ONNX model's share (8 MiB streamed, real minus fake, before the index "
                     f"build): {share:,.0f} MB; whole-run peaks {real['peak_mb']:,.0f} vs "
                     f"{fake['peak_mb']:,.0f} MB.")  # fmt: skip
    if "b_base" in runs and real and runs["b_base"]["status"] == "indexed":
        base = runs["b_base"]
        lines.append(f"8 MiB with the real embedder: streamed {real['peak_mb']:,.0f} MB, "
                     f"not streamed (baseline) {base['peak_mb']:,.0f} MB.")  # fmt: skip
    if huge and share is not None:
        worst = max(huge, key=lambda r: r["peak_mb"])
        bound = worst["peak_mb"] + share
        verdict = "under" if bound < LIMIT_MB else "OVER"
        lines.append(f"Estimate for 99 MiB with the real embedder: (a)'s peak "
                     f"{worst['peak_mb']:,.0f} + model share {share:,.0f} = **{bound:,.0f} MB** "
                     f"({verdict} {LIMIT_MB} MB; an upper bound: as if the whole model stayed "
                     "resident through the index build).")  # fmt: skip
        # What the real embedder leaves resident once unloaded, when the index build starts.
        left = max(0.0, real["index_start_rss_mb"] - fake["index_start_rss_mb"])
        streaming = worst["before_index_mb"] + share
        lines.append(f"By phase: streaming {worst['before_index_mb']:,.0f} + {share:,.0f} = "
                     f"{streaming:,.0f} MB; index build {worst['peak_mb']:,.0f} + {left:,.0f} "
                     f"left by the unloaded model = {worst['peak_mb'] + left:,.0f} MB; so "
                     f"~{max(streaming, worst['peak_mb'] + left):,.0f} MB.")  # fmt: skip
    if "c" in runs and runs["c"]["status"] == "indexed":
        c = runs["c"]
        verdict = "under" if c["peak_mb"] < LIMIT_MB else "OVER"
        lines.append(f"Measured with the real model loaded (c): **{c['peak_mb']:,.0f} MB** "
                     f"({verdict} {LIMIT_MB} MB); {c['before_index_mb']:,.0f} MB before the index "
                     f"build, {c['index_start_rss_mb']:,.0f} MB resident when it began."
                     )  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("a", "b", "c", "all"), default="all")
    parser.add_argument("--child", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(json.loads(args.child[0]))
        Path(args.child[1]).write_text(json.dumps(result))
        return
    plan: list[tuple[str, str, str, str, bool]] = []  # key, label, file, embedder, streamed
    if args.part in ("a", "all"):
        plan += [
            ("a1", "(a) 99 MiB, one paragraph, fake embedder", "huge-one", "fake", True),
            ("a2", "(a) 99 MiB, paragraphs, fake embedder", "huge-paragraphs", "fake", True),
            ("a_base", "(a) baseline: 99 MiB one paragraph, not streamed, fake", "huge-one",
             "fake", False),
        ]  # fmt: skip
    if args.part in ("b", "all"):
        plan += [
            ("b_fake", "(b) 8 MiB, one paragraph, fake embedder", "big-one", "fake", True),
            ("b_real", "(b) 8 MiB, one paragraph, real embedder", "big-one", "real", True),
            ("b_base", "(b) baseline: 8 MiB, not streamed, real embedder", "big-one", "real",
             False),
        ]  # fmt: skip
    if args.part in ("c", "all"):
        plan += [("c", "(c) 99 MiB, paragraphs, real model loaded, 1 batch pair in 20 real",
                  "huge-paragraphs", "sampled", True)]  # fmt: skip
    files = {
        "huge-one": (99 * MIB, False),
        "huge-paragraphs": (99 * MIB, True),
        "big-one": (8 * MIB, False),
    }
    runs: dict[str, dict[str, Any]] = {}
    rows = ["| run | passages | seconds | peak RSS MB | after parse | before index build | "
            "at start |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="anyllm-huge-files-") as folder:
        made: dict[str, Path] = {}
        for key, label, name, embedder, streamed in plan:
            if name not in made:
                size, paragraphs = files[name]
                seed = zlib.crc32(name.encode())
                made[name] = write_text(
                    Path(folder) / f"{name}.txt", size, paragraphs=paragraphs, seed=seed
                )
            runs[key] = run_child(made[name], embedder=embedder, streamed=streamed)
            rows.append(_row(label, runs[key]))
            print(rows[-1], json.dumps(runs[key]["timings"]), flush=True)
    print("\n".join(["", *rows, "", *conclude(runs)]))
    print("\nraw:", json.dumps(runs))


if __name__ == "__main__":
    main()
