"""Whole-document summary: the Debian Reference (261-page PDF) through the built-in
``document-summary`` workflow (map over section-sized pieces, reduce level by level) with the
embedded model, as ``anyllm summarize`` runs it (``run_workflow``, no model host).

Measured in one run:
  - the workflow: wall time (the run only, the ingest apart), ``WorkflowResult.prompt_tokens``
    and ``evaluated_tokens`` (prompt tokens less those reused from the KV cache), tokens
    generated, peak RSS (psutil, sampled every 0.2 s), map pieces and reduce levels;
  - baseline A: every model call the run made (recorded as it was sent: messages, max_tokens,
    temperature, repeat penalty, seed) again through raw llama-cpp-python — the same GGUF in a
    fresh ``llama_cpp.Llama`` with the app's n_ctx, batch and threads, ``create_chat_completion``
    per call in the same order (its own prefix reuse) — and the ratio of the times (target
    <= 1.15x);
  - coverage: the document's top-level chapters (the first level of its passages' ``section``)
    that the final summary cites, by the citations' sections and by their pages (target >= 80%);
  - baseline B, "stuff the first tokens": the chapters inside the first tokens of the document
    that fit one summarize prompt in the model's context (the most such a summary could cite).

    .venv/bin/python tests/benchmarks/bench_summary.py [--limit-pages N | --chapter-pages N]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Progress
from anyllm_desktop.ingest.chunking import SECTION_SEPARATOR
from anyllm_desktop.providers import llama_local
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.workflows.loading import load_workflow, resolve_workflow
from anyllm_desktop.services.workflows.runner import run_workflow
from tests.benchmarks.corpus import debian_reference_pdf

WORKSPACE = "bench"
TAG = re.compile(r"\[[^\[\]\n]{1,160}\]")
#: Baseline B's instruction and answer, beside the stuffed text.
STUFF_PROMPT = "Summarize this document.\n\nText:\n"
STUFF_ANSWER = 300


class PeakRss:
    """The process's peak resident memory, sampled on a thread."""

    def __init__(self, every: float = 0.2) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every,), daemon=True)

    def _sample(self, every: float) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            self._stop.wait(every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Recorder:
    """Every call the local provider streams: what was sent and what it cost."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.provider: Any = None
        self._stream = llama_local.LocalLlamaProvider.stream

    def __enter__(self) -> Recorder:
        recorder = self

        def stream(provider: Any, messages: Any, options: Any, cancel: CancelToken) -> Any:
            recorder.provider = provider
            call: dict[str, Any] = {"messages": [{"role": m.role, "content": m.content}
                                                 for m in messages],
                                    "max_tokens": options.max_tokens,
                                    "temperature": options.temperature,
                                    "top_p": options.top_p,
                                    "repeat_penalty": options.repeat_penalty,
                                    "seed": options.seed}  # fmt: skip
            started = time.perf_counter()
            first = None
            for event in recorder._stream(provider, messages, options, cancel):
                if first is None and not isinstance(event, Progress):
                    first = time.perf_counter() - started
                if isinstance(event, Done):
                    c = event.result
                    call.update(prompt=c.prompt_tokens, cached=c.cached_tokens,
                                completion=c.completion_tokens, text=c.text,
                                finish=c.finish_reason)  # fmt: skip
                yield event
            call.update(seconds=time.perf_counter() - started, first_s=first)
            recorder.calls.append(call)

        llama_local.LocalLlamaProvider.stream = stream  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        llama_local.LocalLlamaProvider.stream = self._stream  # type: ignore[method-assign]


def pages_pdf(source: Path, target: Path, prefix: int = 0, per_chapter: int = 0) -> Path:
    """Some pages of a PDF as a new file, its outline kept (pypdf; pypdfium2 drops it, and the
    app's sections come from the outline): the first ``prefix`` pages, or the first
    ``per_chapter`` pages of every top-level outline entry (a small document with every
    chapter)."""
    import pypdf

    reader = pypdf.PdfReader(str(source))
    if prefix:
        chosen = list(range(min(prefix, len(reader.pages))))
    else:
        starts = sorted({reader.get_destination_page_number(o) for o in reader.outline
                         if not isinstance(o, list)})  # fmt: skip
        chosen = sorted({p for s in starts for p in range(s, min(s + per_chapter,
                                                                  len(reader.pages)))})  # fmt: skip
    writer = pypdf.PdfWriter()
    writer.append(reader, pages=chosen, import_outline=True)
    writer.write(str(target))
    return target


def chapter(section: str, depth: int = 1) -> str:
    return SECTION_SEPARATOR.join(p.strip() for p in section.split(SECTION_SEPARATOR)[:depth])


def coverage(hits: list[Any], citations: list[Any]) -> dict[str, Any]:
    """The top-level chapters of the document, and those the citations name (by their
    sections' first level, and by the chapters their pages belong to)."""
    chapters = list(dict.fromkeys(chapter(h.section) for h in hits if h.section))
    on_page: dict[int, set[str]] = {}
    for hit in hits:
        if hit.section and hit.page is not None:
            on_page.setdefault(hit.page, set()).add(chapter(hit.section))
    by_section = {chapter(s) for c in citations for s in c.sections}
    by_page = {ch for c in citations for p in c.pages for ch in on_page.get(p, ())}
    sections = list(dict.fromkeys(chapter(h.section, 2) for h in hits if h.section))
    cited = {chapter(s, 2) for c in citations for s in c.sections}
    return {"chapters": chapters, "sections": len(sections),
            "sections_cited": sum(s in cited for s in sections),
            "cited_by_section": [c for c in chapters if c in by_section],
            "cited_by_page": [c for c in chapters if c in by_page]}  # fmt: skip


def stuffed(hits: list[Any], provider: Any) -> dict[str, Any]:
    """Baseline B: the passages that fit one summarize prompt beside its answer, in order,
    and their chapters (counted by the model's own tokenizer)."""
    room = provider.context_size - STUFF_ANSWER - 16
    base = provider.count_tokens([ChatMessage("user", STUFF_PROMPT)])
    used, inside = base, []
    for hit in hits:
        size = provider.count_tokens([ChatMessage("user", hit.text)]) - provider.count_tokens(
            [ChatMessage("user", "")]
        )
        if used + size > room:
            break
        used += size
        inside.append(hit)
    pages = [h.page for h in inside if h.page is not None]
    return {
        "tokens": used,
        "passages": len(inside),
        "last_page": max(pages) if pages else None,
        "chapters": list(dict.fromkeys(chapter(h.section) for h in inside if h.section)),
    }


def raw_baseline(calls: list[dict[str, Any]], model: Path, n_ctx: int, threads: int,
                 batch: int, seed: int) -> dict[str, Any]:  # fmt: skip
    """The recorded calls, in order, through a fresh ``llama_cpp.Llama`` (timed without load)."""
    from llama_cpp import Llama

    loading = time.perf_counter()
    llama = Llama(model_path=str(model), n_ctx=n_ctx, n_batch=batch, n_ubatch=batch,
                  n_threads=threads, n_threads_batch=threads, seed=seed,
                  verbose=False)  # fmt: skip
    prompt = completion = 0
    started = time.perf_counter()
    load_s = started - loading
    per_call = []
    for call in calls:
        began = time.perf_counter()
        out: Any = llama.create_chat_completion(
            messages=call["messages"], max_tokens=call["max_tokens"],
            temperature=call["temperature"], top_p=call["top_p"],
            repeat_penalty=call["repeat_penalty"], seed=call["seed"],
        )  # fmt: skip
        per_call.append(round(time.perf_counter() - began, 2))
        prompt += out["usage"]["prompt_tokens"]
        completion += out["usage"]["completion_tokens"]
    seconds = time.perf_counter() - started
    llama.close()
    return {"seconds": round(seconds, 2), "load_s": round(load_s, 2), "prompt_tokens": prompt,
            "completion_tokens": completion, "per_call_s": per_call}  # fmt: skip


def run(pdf: Path, threads: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"document": pdf.name}
    with tempfile.TemporaryDirectory(prefix="anyllm-bench-summary-") as home:
        runtime = Runtime.open(Path(home))
        if threads:  # the app's setting (0: all cores)
            runtime.settings = replace(runtime.settings, threads=threads)
        library = Library(runtime)
        library.create_workspace(WORKSPACE)
        started = time.perf_counter()
        events = list(library.ingest(WORKSPACE, [pdf], CancelToken()))
        assert isinstance(events[-1], Done), events[-1]
        out["ingest_s"] = round(time.perf_counter() - started, 1)
        ws = library.workspace(WORKSPACE)
        document = library.documents(WORKSPACE)[0]
        hits = library.vectors.passages(library.table(ws, create=False), document.id,
                                        range(document.chunks))  # fmt: skip
        ordered = [hits[c] for c in sorted(hits)]
        out.update(pages=document.pages, passages=len(ordered))
        spec = load_workflow(resolve_workflow("document-summary"))
        levels: set[str] = set()
        result: Any = None
        with Recorder() as recorder, PeakRss() as rss:
            started = time.perf_counter()
            for event in run_workflow(library, WORKSPACE, spec, CancelToken()):
                if isinstance(event, Progress) and "level" in event.message:
                    levels.add(event.message.split("level ")[1].split(",")[0])
                    print(f"  {event.message}", flush=True)
                elif isinstance(event, Progress) and event.done % 10 == 0:
                    print(f"  {event.message} ({time.perf_counter() - started:.0f} s)", flush=True)
                elif isinstance(event, Error):
                    raise SystemExit(f"the workflow failed: {event.message}")
                elif isinstance(event, Done):
                    result = event.result
            wall = time.perf_counter() - started
        provider = recorder.provider
        gist = [c for c in recorder.calls if c["max_tokens"] == spec.steps[0].steps[0].max_tokens]
        out["workflow"] = {
            "wall_s": round(wall, 1), "prompt_tokens": result.prompt_tokens,
            "evaluated_tokens": result.evaluated_tokens,
            "completion_tokens": sum(c["completion"] for c in recorder.calls),
            "model_calls": result.model_calls, "map_pieces": len(gist),
            "reduce_calls": len(recorder.calls) - len(gist), "reduce_levels": len(levels),
            "in_model_calls_s": round(sum(c["seconds"] for c in recorder.calls), 1),
            "per_call_s": [round(c["seconds"], 2) for c in recorder.calls],
            "per_call_first_s": [round(c["first_s"] or 0, 2) for c in recorder.calls],
            "per_call_tokens": [(c["prompt"], c["cached"], c["completion"])
                                for c in recorder.calls],
            "peak_rss_mb": round(rss.peak / 2**20), "cut_answers":
            sum(c["finish"] == "length" for c in recorder.calls), "notes": result.notes,
        }  # fmt: skip
        out["summary"] = result.report
        out["citations"] = [c.describe() for c in result.citations]
        out["coverage"] = coverage(ordered, result.citations)
        # What the last reduce call itself wrote: the tags it kept (the runner appends the
        # group's whole span when it kept none) and the chapters its text names.
        last = recorder.calls[-1]["text"] if out["workflow"]["reduce_calls"] else ""
        out["coverage"]["model_kept_tags"] = [t for t in TAG.findall(last) if "p. " in t]
        out["coverage"]["named_in_text"] = [
            c for c in out["coverage"]["chapters"] if c.lower() in (result.report or "").lower()
        ]
        # With chapters: true, a line of its own per chapter, made from that chapter's pieces
        # only (its heading is cut at 40 characters: compared on the first 30).
        lines = (result.report or "").splitlines()
        heads = [x for x in lines if x.startswith("- **")]
        out["coverage"]["own_line"] = [
            c
            for c in out["coverage"]["chapters"]
            if any(x.startswith(f"- **{c[:30]}") for x in heads)
        ]
        provider.load()
        out["stuffed"] = stuffed(ordered, provider)
        model, n_ctx = provider.model_path, provider.context_size
        threads, batch, seed = provider.threads, provider.batch_size, provider.seed
        provider.unload()
        library.close()
    out["raw"] = raw_baseline(recorder.calls, model, n_ctx, threads, batch, seed)
    out["raw"]["ratio"] = round(wall / (out["raw"]["seconds"] + out["raw"]["load_s"]), 3)
    out["model"] = {"file": model.name, "n_ctx": n_ctx, "threads": threads, "batch": batch}
    return out


def report(out: dict[str, Any]) -> None:
    w, raw, cov, stuff = out["workflow"], out["raw"], out["coverage"], out["stuffed"]
    chapters = len(cov["chapters"])
    print(f"machine: {platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB; model {out['model']}")  # fmt: skip
    print(f"document: {out['document']}, {out['pages']} pages, {out['passages']} passages, "
          f"ingest {out['ingest_s']} s")  # fmt: skip
    print(
        f"workflow: {w['wall_s']} s, {w['map_pieces']} map pieces, {w['reduce_calls']} reduce "
        f"calls over {w['reduce_levels']} levels, prompt tokens {w['prompt_tokens']:,}, "
        f"evaluated {w['evaluated_tokens']:,}, generated {w['completion_tokens']:,}, "
        f"answers cut at max_tokens {w['cut_answers']}, peak RSS {w['peak_rss_mb']} MB"
    )
    print(f"baseline A (raw llama-cpp-python, same calls): {raw['seconds']} s + load "
          f"{raw['load_s']} s, prompt tokens "
          f"{raw['prompt_tokens']:,}, generated {raw['completion_tokens']:,}; "
          f"workflow / (raw + load) = {raw['ratio']}x (target <= 1.15x)")  # fmt: skip
    print(
        f"of the workflow's wall, {w['in_model_calls_s']} s in model calls; per call, "
        "workflow s / raw s (prompt, cached, generated tokens; first event s):"
    )
    for i, (ours, theirs) in enumerate(zip(w["per_call_s"], raw["per_call_s"], strict=True)):
        tokens, first = w["per_call_tokens"][i], w["per_call_first_s"][i]
        print(f"  call {i + 1}: {ours} / {theirs} {tokens} first {first}")
    for how in ("cited_by_section", "cited_by_page"):
        share = len(cov[how]) / chapters if chapters else 0.0
        print(f"coverage ({how}): {len(cov[how])}/{chapters} chapters ({share:.0%}; target >= 80%)")
    print(f"coverage (a line of its own, from that chapter only): {len(cov['own_line'])}/"
          f"{chapters} chapters (target >= 80%)")  # fmt: skip
    print(
        f"the last reduce call's own text: kept {len(cov['model_kept_tags'])} tags, names "
        f"{len(cov['named_in_text'])}/{chapters} chapters {cov['named_in_text']}"
    )
    print(f"second level: {cov['sections_cited']}/{cov['sections']} sections cited")
    print(
        f"baseline B (first {stuff['tokens']:,} tokens, {stuff['passages']} passages, to p. "
        f"{stuff['last_page']}): at most {len(stuff['chapters'])}/{chapters} chapters"
    )
    print(f"chapters: {cov['chapters']}")
    print(f"not cited: {[c for c in cov['chapters'] if c not in cov['cited_by_section']]}")
    print(f"summary ({len(out['summary'] or '')} chars):\n{out['summary']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-pages", type=int, default=0,
                        help="summarize only the first N pages")  # fmt: skip
    parser.add_argument("--chapter-pages", type=int, default=0,
                        help="summarize only the first N pages of every chapter")  # fmt: skip
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="llama.cpp threads for both runs (default: the app's, all cores)",
    )
    parser.add_argument("--json", type=Path, help="write every number and the summary here")
    args = parser.parse_args()
    pdf = debian_reference_pdf()
    with tempfile.TemporaryDirectory(prefix="anyllm-bench-pdf-") as folder:
        if args.limit_pages or args.chapter_pages:
            pdf = pages_pdf(pdf, Path(folder) / pdf.name, args.limit_pages, args.chapter_pages)
        out = run(pdf, args.threads)
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
