"""Answer correctness: does what the user reads state the answer, and is a wrong answer flagged?

Questions: tests/benchmarks/answer_questions.json (172, each with its labelled answer as short key
phrases, any of which counts): 94 over the Debian FAQ (HTML) and Debian Reference (PDF) in one
workspace, as bench_retrieval_quality.py indexes them, and 78 over tests/data's ReportLab User
Guide (PDF), Live Systems Manual (EPUB), readxl datasets (XLSX) and officer examples (PPTX,
DOCX) in a second workspace. Those marked ``heldout`` (a batch: the session that wrote them)
were written after the check and the evidence finder were tuned on the first 40, and each
batch is reported apart as well. Real embedded models (int8 MiniLM, SmolLM2-135M), the app's
default chat settings except temperature 0 and short answers; one new thread per question.

For every question, from one run of the answer path (ChatService.ask):
  - retrieved: a passage given to the model states the labelled answer;
  - generated: the model's own text (``Answer.generated``, else ``answer``) states it. This is
    the baseline, today's answer path without evidence: what the user read before;
  - evidence: one of ``Answer.evidence``'s sentences states it;
  - flagged: the support check listed something (``Answer.unsupported`` not empty).
A generated answer is right when it states the labelled answer, else wrong. Reported: the
evidence hit rate over questions whose passage was retrieved (target >= 90%); the share of wrong
answers flagged (target >= 80%) and of right answers flagged (target <= 10%), with precision;
the time the evidence and the check add (``timings["evidence_s"]``) and the whole answer's.

    .venv/bin/python tests/benchmarks/bench_answers.py [--limit N] [--batch s19] [--json F]
    .venv/bin/python tests/benchmarks/bench_answers.py --replay results.json
    .venv/bin/python tests/benchmarks/bench_answers.py --reference [--json refs.json]
    .venv/bin/python tests/benchmarks/bench_answers.py --reference --replay refs.json

``--reference`` generates nothing: each question's hand-written right answer (``reference`` in
answer_questions.json) goes through the evidence finder and the support check with the passages
the search gives for the question (all of them: the prompt may keep fewer), and the share of
right answers flagged is reported, over questions whose passage was retrieved. With
``--replay`` it takes the passages kept by an earlier ``--reference --json`` instead of indexing
(seconds instead of minutes, to try a change to the check).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import Passage
from anyllm_desktop.core.events import Done
from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.services import grounding
from anyllm_desktop.services.chat import Answer, ChatService, numbered_passages
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.model_host import ModelHost
from anyllm_desktop.services.runtime import Runtime
from tests.benchmarks.corpus import debian_faq, debian_reference_pdf

QUESTIONS = Path(__file__).with_name("answer_questions.json")
DATA = Path(__file__).parents[1] / "data"
FORMATS = [
    "reportlab-userguide.pdf",
    "live-manual.epub",
    "readxl-datasets.xlsx",
    "officer-example.pptx",
    "officer-example.docx",
]
ANSWER_TOKENS = 96
_QUOTES = str.maketrans({"”": '"', "“": '"', "’": "'", "‘": "'", "`": " ", "*": " "})


def normalize(text: str, keep_case: bool = False) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return " ".join((text if keep_case else text.lower()).split())


def states(text: str, keys: list[str]) -> bool:
    """Whether ``text`` holds one of the key phrases as a whole (not inside a longer word); a
    key with a capital letter keeps its case ('dpkg -S' is not 'dpkg -s')."""
    for key in keys:
        cased = key != key.lower()
        pattern = rf"(?<!\w){re.escape(normalize(key, cased))}(?!\w)"
        if re.search(pattern, normalize(text, cased)):
            return True
    return False


def judge(question: dict[str, Any], answer: Answer, seconds: float) -> dict[str, Any]:
    keys = question["answer"]
    generated = answer.generated if answer.generated is not None else answer.answer
    return {
        "q": question["q"],
        "heldout": question.get("heldout", False),
        "format": question["format"],
        "file": question["file"],
        "retrieved": any(states(s["text"], keys) for s in answer.sources),
        "right": states(generated, keys),
        "evidence_hit": any(states(e["text"], keys) for e in answer.evidence),
        "flagged": bool(answer.unsupported),
        "evidence_s": answer.timings.get("evidence_s", 0.0),
        "answer_s": round(seconds, 3),
        "ttft_s": answer.timings.get("ttft_s"),
        "generated": generated,
        "evidence": [f"[{e['n']}] {e['text']}" for e in answer.evidence],
        "unsupported": [
            {k: u[k] for k in ("sentence", "reason", "missing")} for u in answer.unsupported
        ],
        "sources": [f"{s['document']} p.{s['page']}" for s in answer.sources],
        # Kept so that --replay can run a changed evidence finder and check on the same answer.
        "passages": answer.sources,
    }


def ingested(library: Library, questions: list[dict[str, Any]]) -> dict[str, float]:
    """The questions' workspaces, made and indexed; seconds each took."""
    files = {
        "debian": [*debian_faq(), debian_reference_pdf()],
        "formats": [DATA / name for name in FORMATS],
    }
    ingest_s = {}
    for name in sorted({q["workspace"] for q in questions}):
        library.create_workspace(name)
        started = time.perf_counter()
        events = list(library.ingest(name, files[name], CancelToken()))
        assert isinstance(events[-1], Done), events[-1]
        ingest_s[name] = time.perf_counter() - started
        library.update_chat(name, temperature=0.0, max_answer_tokens=ANSWER_TOKENS)
    return ingest_s


def run(questions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="anyllm-bench-answers-") as home:
        runtime = Runtime.open(Path(home))
        library = Library(runtime)
        ingest_s = ingested(library, questions)
        host = ModelHost(runtime.create_chat_provider())
        service = ChatService(library, host)
        for i, question in enumerate(questions, start=1):
            started = time.perf_counter()
            done = [
                e for e in service.ask(question["workspace"], question["q"]) if isinstance(e, Done)
            ]
            rows.append(judge(question, done[0].result, time.perf_counter() - started))
            print(f"  {i}/{len(questions)} {rows[-1]['answer_s']:.1f} s", flush=True)
        host.close()
        library.close()
    return rows, ingest_s


def replay(kept: Path, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The kept answers of an earlier ``--json`` run through today's evidence finder and
    support check: same passages, same generated text, same embedder (the model's text only
    changes when the prompt does, so a change to the evidence or the check is measured in
    minutes instead of a full run)."""
    keys = {q["q"]: q["answer"] for q in questions}
    heldout = {q["q"]: q.get("heldout", False) for q in questions}
    rows = [r | {"heldout": heldout[r["q"]]} for r in _rows(kept) if r["q"] in keys]
    with tempfile.TemporaryDirectory(prefix="anyllm-bench-replay-") as home:
        library = Library(Runtime.open(Path(home)))
        workspace = library.create_workspace("replay")
        for row in rows:
            passages = [Passage.from_dict(p) for p in row["passages"]]
            started = time.perf_counter()
            finder = grounding.evidence_finder(library, workspace, row["q"], passages)
            checked = grounding.check(finder, question=row["q"], shown=row["generated"],
                                      generated=row["generated"], passages=passages,
                                      replace_unsupported=False, refusal="")  # fmt: skip
            row["evidence_s"] = time.perf_counter() - started
            row["evidence_hit"] = any(states(e["text"], keys[row["q"]]) for e in checked.evidence)
            row["flagged"] = bool(checked.unsupported)
            row["evidence"] = [f"[{e['n']}] {e['text']}" for e in checked.evidence]
            row["unsupported"] = [
                {k: u[k] for k in ("sentence", "reason", "missing")} for u in checked.unsupported
            ]
        library.close()
    return rows


def reference(questions: list[dict[str, Any]], kept: Path | None) -> list[dict[str, Any]]:
    """How often the support check flags a right answer: the hand-written references, with the
    passages the search gives (or those kept by an earlier ``--reference --json``)."""
    with tempfile.TemporaryDirectory(prefix="anyllm-bench-reference-") as home:
        library = Library(Runtime.open(Path(home)))
        if kept is None:
            ingest_s = ingested(library, questions)
            print("ingest " + ", ".join(f"{k} {v:.1f} s" for k, v in ingest_s.items()))
            rows = [
                question | {"passages": [p.to_dict() for p in numbered_passages(
                    library.search(question["workspace"], question["q"]))]}
                for question in questions
            ]  # fmt: skip
            workspace = None
        else:
            asked = {q["q"]: q for q in questions}
            kept_rows = [r for r in _rows(kept) if r["q"] in asked]
            rows = [asked[r["q"]] | {"passages": r["passages"]} for r in kept_rows]
            workspace = library.create_workspace("replay")
        retrieved = flagged = 0
        for row in rows:
            passages = [Passage.from_dict(p) for p in row["passages"]]
            row["retrieved"] = any(states(p.text, row["answer"]) for p in passages)
            if not row["retrieved"]:
                print(f"  not retrieved: {row['q']}")
                continue
            retrieved += 1
            here = workspace or library.workspace(row["workspace"])
            finder = grounding.evidence_finder(library, here, row["q"], passages)
            answer = row["reference"]
            checked = grounding.check(finder, question=row["q"], shown=answer,
                                      generated=answer, passages=passages,
                                      replace_unsupported=False, refusal="")  # fmt: skip
            row["evidence"] = [e["text"] for e in checked.evidence]
            row["unsupported"] = checked.unsupported
            if checked.unsupported:
                flagged += 1
                print(f"  flagged: {answer!r}")
                for u in checked.unsupported:
                    print(f"    {u['reason']} {u['missing']} coverage {u['coverage']}")
        library.close()
    print(f"right (reference) answers flagged: {share(flagged, retrieved)} (target <= 10%)")
    for batch in _batches(rows):
        held = [r for r in rows if r.get("heldout") == batch and r["retrieved"]]
        flagged_held = sum(bool(r["unsupported"]) for r in held)
        print(f"  of them held out ({batch}): {share(flagged_held, len(held))}")
    return rows


def _batches(rows: list[dict[str, Any]]) -> list[str]:
    """The held-out batches ("s17", "s18": the session that wrote them), in order."""
    return sorted({r["heldout"] for r in rows if r.get("heldout")})


def _rows(kept: Path) -> list[dict[str, Any]]:
    return json.loads(kept.read_text())["rows"]


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.0f}%" if whole else f"{part}/0"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    retrieved = [r for r in rows if r["retrieved"]]
    wrong = [r for r in rows if not r["right"]]
    right = [r for r in rows if r["right"]]
    flagged = [r for r in rows if r["flagged"]]
    evidence_s = [r["evidence_s"] for r in rows]
    answer_s = [r["answer_s"] for r in rows]
    return {
        "questions": len(rows),
        "retrieved": len(retrieved),
        "generated_right": len(right),
        "generated_right_when_retrieved": sum(r["right"] for r in retrieved),
        "evidence_hit_when_retrieved": sum(r["evidence_hit"] for r in retrieved),
        "evidence_or_generated_when_retrieved": sum(
            r["evidence_hit"] or r["right"] for r in retrieved
        ),
        "wrong": len(wrong),
        "wrong_flagged": sum(r["flagged"] for r in wrong),
        "right_flagged": sum(r["flagged"] for r in right),
        "flagged": len(flagged),
        "evidence_ms": {
            "median": 1000 * statistics.median(evidence_s),
            "p90": 1000 * percentile(evidence_s, 0.9),
            "max": 1000 * max(evidence_s),
        },
        "answer_s": {"median": statistics.median(answer_s), "p90": percentile(answer_s, 0.9)},
    }


def report(rows: list[dict[str, Any]], ingest_s: dict[str, float]) -> dict[str, Any]:
    mark = {True: "yes", False: "-"}
    print(
        f"\nAnswer correctness, {len(rows)} questions; ingest "
        + ", ".join(f"{k} {v:.1f} s" for k, v in ingest_s.items())
    )
    print(
        f"{'#':>2} {'fmt':5} {'retr':4} {'gen':4} {'evid':4} {'flag':4} {'ev ms':>6} "
        f"{'ans s':>6}  question"
    )
    for i, r in enumerate(rows, start=1):
        print(
            f"{i:>2} {r['format']:5} {mark[r['retrieved']]:4} {mark[r['right']]:4} "
            f"{mark[r['evidence_hit']]:4} {mark[r['flagged']]:4} {1000 * r['evidence_s']:6.1f} "
            f"{r['answer_s']:6.1f}  {r['q']}"
        )
    s = summary(rows)
    n, retrieved = s["questions"], s["retrieved"]
    print(f"\nlabelled passage retrieved (top passages given to the model): {share(retrieved, n)}")
    print(
        f"baseline, generated text states the answer: {share(s['generated_right'], n)}; "
        f"when retrieved {share(s['generated_right_when_retrieved'], retrieved)}"
    )
    print(
        f"evidence states the answer, when retrieved: "
        f"{share(s['evidence_hit_when_retrieved'], retrieved)} (target >= 90%)"
    )
    print(
        f"evidence or generated text states it, when retrieved: "
        f"{share(s['evidence_or_generated_when_retrieved'], retrieved)}"
    )
    print(
        f"wrong answers flagged (recall): {share(s['wrong_flagged'], s['wrong'])} (target >= 80%)"
    )
    print(
        f"right answers flagged: {share(s['right_flagged'], s['generated_right'])} (target <= 10%)"
    )
    print(f"flagged answers that are wrong (precision): {share(s['wrong_flagged'], s['flagged'])}")
    ev, ans = s["evidence_ms"], s["answer_s"]
    print(
        f"time added per answer (evidence + check): median {ev['median']:.1f} ms, p90 "
        f"{ev['p90']:.1f} ms, max {ev['max']:.1f} ms; whole answer median {ans['median']:.1f} s,"
        f" p90 {ans['p90']:.1f} s"
    )
    for batch in _batches(rows):
        h = summary([r for r in rows if r["heldout"] == batch])
        print(
            f"held out {batch} (written after the tuning), {h['questions']} questions: "
            f"evidence {share(h['evidence_hit_when_retrieved'], h['retrieved'])} when retrieved;"
            f" wrong flagged {share(h['wrong_flagged'], h['wrong'])}; right flagged "
            f"{share(h['right_flagged'], h['generated_right'])}"
        )
    cases = {
        "evidence misses (retrieved)": [
            r for r in rows if r["retrieved"] and not r["evidence_hit"]
        ],
        "wrong answers not flagged": [r for r in rows if not r["right"] and not r["flagged"]],
        "right answers flagged": [r for r in rows if r["right"] and r["flagged"]],
    }
    for heading, picked in cases.items():
        print(f"\n{heading}: {len(picked)}")
        for r in picked:
            print(f"  - {r['q']}\n    generated: {r['generated'][:160]!r}")
            print(f"    evidence: {r['evidence']!r:.240}")
            print(f"    unsupported: {r['unsupported']!r:.240}")
    return s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N questions of each workspace")
    parser.add_argument("--batch", help="only the questions of this held-out batch (s19)")
    parser.add_argument("--json", type=Path, help="write every question's result here")
    parser.add_argument("--replay", type=Path, help="re-check the answers kept by --json")
    parser.add_argument("--reference", action="store_true", help="check the written answers")
    args = parser.parse_args()
    apply_offline_environment()
    questions = json.loads(QUESTIONS.read_text())["questions"]
    if args.batch:
        questions = [q for q in questions if q.get("heldout") == args.batch]
    if args.limit:
        kept: dict[str, int] = {}
        picked = []
        for q in questions:
            if kept.get(q["workspace"], 0) < args.limit:
                kept[q["workspace"]] = kept.get(q["workspace"], 0) + 1
                picked.append(q)
        questions = picked
    if args.reference:
        rows = reference(questions, args.replay)
        if args.json:
            args.json.write_text(json.dumps({"rows": rows}, indent=1, ensure_ascii=False))
        return
    if args.replay:
        rows, ingest_s = replay(args.replay, questions), {}
    else:
        rows, ingest_s = run(questions)
    result = report(rows, ingest_s)
    if args.json:
        payload = {"summary": result, "ingest_s": ingest_s, "rows": rows}
        args.json.write_text(json.dumps(payload, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
