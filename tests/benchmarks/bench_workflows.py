"""A map over many short documents (issue 16, "Measured"): documents per minute of a classify +
extract workflow vs one ``anyllm ask`` per document, the share of outputs that parse, and what
a ``kill -9`` at 50% makes the next run redo.

Documents: N support e-mails and product reviews of 40–120 words, written by a generator with a
fixed seed (customers, products, order numbers, dates, amounts, problems and praise vary), one
``.txt`` file each, ingested into a workspace of a temporary home. The workflow (``FLOW``): a map
with a ``classify`` (positive / neutral / negative, the local model scoring its labels) and an
``extract`` (customer, product, order number under a JSON-schema grammar), both on the embedded
model, ``on_error: skip`` so that an output that does not parse is counted, not fatal.

Measured, in one run:
  - workflow: ``run_workflow`` in this process, one loaded model, wall time -> documents/minute;
  - baseline: the real ``anyllm ask -w W "..."`` (a new process per document: start-up, model
    load, retrieval, one answer of at most ``ASK_TOKENS``, temperature 0), on the first
    ``--ask-sample`` documents only, its mean time per document extrapolated to all N (said in
    the output);
  - parse: the share of classify outputs that are one of the labels and of extract outputs that
    are an object with the schema's fields as strings (target 100%);
  - resume: ``anyllm run FLOW -w R --json`` as a subprocess over the first ``--resume-docs``
    documents (a workspace of its own: its own step cache), SIGKILLed when its progress (printed
    on a terminal) reaches the call after the middle; the outputs it had committed are counted
    in the step cache, the same command is run again, and "redone" is what it asked beyond the
    outputs that were missing (target <= 1).

    .venv/bin/python tests/benchmarks/bench_workflows.py [--limit N] [--ask-sample 10]
        [--resume-docs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error
from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.core.settings import SettingsStore
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.workflows.loading import parse_text
from anyllm_desktop.services.workflows.results import WorkflowResult
from anyllm_desktop.services.workflows.runner import run_workflow

LABELS = ("positive", "neutral", "negative")
FIELDS = ("customer", "product", "order_number")
FLOW = """\
version: 1
id: bench-map
name: Sentiment and fields of each message
steps:
  - name: each
    kind: map
    max_document_tokens: 400
    steps:
      - name: mood
        kind: classify
        labels: [positive, neutral, negative]
        instructions: What is the sentiment of this message?
        on_error: skip
      - name: fields
        kind: extract
        instructions: Who wrote this message, about which product, and which order?
        schema:
          type: object
          properties:
            customer: {type: string, maxLength: 30}
            product: {type: string, maxLength: 30}
            order_number: {type: string, maxLength: 12}
        max_tokens: 48
        on_error: skip
  - name: table
    kind: output
    table: each
"""
#: The baseline's answers: room for a label and three fields (the default allows 1,024).
ASK_TOKENS = 96
ASK = ("What is the sentiment (positive, neutral or negative) of the message about order "
       "{order}, who wrote it, and about which product?")  # fmt: skip

NAMES = [
    "Anna Berg",
    "Luis Ortega",
    "Mei Chen",
    "Tom Walsh",
    "Priya Nair",
    "Jonas Keller",
    "Sara Rossi",
    "Omar Haddad",
    "Eva Novak",
    "Ken Sato",
    "Lena Fischer",
    "Mark Evans",
]
PRODUCTS = [
    "kettle",
    "desk lamp",
    "coffee grinder",
    "office chair",
    "wireless mouse",
    "blender",
    "rain jacket",
    "phone case",
    "backpack",
    "air purifier",
    "toaster",
]
GOOD = [
    "It works exactly as described and feels solid.",
    "Setup took two minutes.",
    "The quality is far better than I expected for the price.",
    "Delivery was a day early and the box was well packed.",
    "Your support team answered within an hour and solved it.",
    "I use it every morning and it is still like new.",
]
BAD = [
    "It stopped working after three days.",
    "The box arrived crushed and a part was missing.",
    "I was charged twice and nobody answers my e-mails.",
    "The colour is nothing like the photos and it smells of plastic.",
    "The replacement you sent has the same fault.",
    "The app keeps losing the connection.",
]
PLAIN = [
    "I would like to change the delivery address to my office.",
    "Could you send me the invoice as a PDF?",
    "Is the manual available in German?",
    "Please tell me when the spare filters are back in stock.",
    "My new card number ends in 4471; please use it for the next payment.",
    "I am away until the 14th, so please deliver after that.",
]
FILLER = [
    "I ordered it on {date}.",
    "I paid {amount} euros including shipping.",
    "This was my second order from you.",
    "My neighbour recommended your shop.",
    "I have attached a photo of the label.",
    "Please reply to this address.",
    "I bought it as a present for my father.",
    "The parcel came with the evening post.",
    "I live in a flat on the third floor, so the courier had to call first.",
    "Last year I bought a similar one from another shop and gave it away.",
    "My daughter helped me unpack it and read the instructions with me.",
    "If you need anything else from me, my phone number is in my account.",
]


def generate(count: int, seed: int = 16) -> list[tuple[str, str, dict[str, str]]]:
    """(file name, text, truth) for ``count`` messages of 40–120 words, the same for a seed."""
    rng = random.Random(seed)
    documents = []
    for i in range(count):
        mood = rng.choice(LABELS)
        truth = {"mood": mood, "customer": rng.choice(NAMES), "product": rng.choice(PRODUCTS),
                 "order_number": f"A{rng.randint(10000, 99999)}"}  # fmt: skip
        values = {"date": f"{rng.randint(1, 28)} {rng.choice(['March', 'May', 'June'])}",
                  "amount": f"{rng.randint(9, 240)}.{rng.randint(0, 99):02d}"}  # fmt: skip
        pool = {"positive": GOOD, "negative": BAD, "neutral": PLAIN}[mood]
        email = rng.random() < 0.5
        if email:
            opening = f"Hello, this is {truth['customer']} about my {truth['product']}."
            closing = f"Regards, {truth['customer']}"
        else:
            opening = f"Review of the {truth['product']} by {truth['customer']}."
            closing = ""
        order = f"The order number is {truth['order_number']}."
        fillers = rng.sample(FILLER, len(FILLER))
        sentences = rng.sample(pool, rng.randint(2, 4)) + fillers[:2]
        rng.shuffle(sentences)
        sentences += fillers[2:]
        target = rng.randint(40, 120) - len(f"{opening} {order} {closing}".split())
        body: list[str] = []
        for sentence in sentences:
            if len(" ".join(body).split()) >= target:
                break
            body.append(sentence.format(**values))
        body.insert(rng.randint(0, len(body)), order)
        text = " ".join([opening, *body, closing]).strip()
        words = text.split()
        if len(words) > 120:  # the last sentence overshot: end at a sentence within 120 words
            cut = " ".join(words[: 120 - len(closing.split())])
            text = cut[: cut.rfind(".") + 1] + (f" {closing}" if closing else "")
        documents.append((f"msg{i + 1:03d}.txt", text, truth))
    return documents


def write(folder: Path, documents: list[tuple[str, str, dict[str, str]]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text, _ in documents:
        (folder / name).write_text(text + "\n", encoding="utf-8")
    return [folder / name for name, _, _ in documents]


def ingest(library: Library, workspace: str, paths: list[Path]) -> float:
    library.create_workspace(workspace)
    started = time.perf_counter()
    events = list(library.ingest(workspace, paths, CancelToken()))
    assert isinstance(events[-1], Done), events[-1]
    return time.perf_counter() - started


def parse_shares(result: WorkflowResult, count: int) -> tuple[int, int]:
    """How many classify outputs are a label, how many extract outputs have every field."""
    moods = fields = 0
    for row in result.rows:
        if row.values.get("mood") in LABELS:
            moods += 1
        value = row.values.get("fields")
        if isinstance(value, dict) and all(isinstance(value.get(f), str) for f in FIELDS):
            fields += 1
    return moods, fields


def accuracy(result: WorkflowResult, truth: dict[str, dict[str, str]]) -> dict[str, int]:
    """Right answers per output, against what the generator wrote (for information)."""
    right = {"mood": 0, **{f: 0 for f in FIELDS}}
    for row in result.rows:
        want = truth[row.document]
        right["mood"] += row.values.get("mood") == want["mood"]
        got = row.values.get("fields") or {}
        for f in FIELDS:
            right[f] += str(got.get(f) or "").strip().lower() == want[f].lower()
    return right


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "anyllm_desktop.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900,
                          check=False)  # fmt: skip


def ask_baseline(env: dict[str, str], documents: list[tuple[str, str, dict[str, str]]]
                 ) -> list[float]:  # fmt: skip
    times = []
    for _, _, truth in documents:
        started = time.perf_counter()
        done = cli(env, "ask", "-w", "W", ASK.format(order=truth["order_number"]), "--json")
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"anyllm ask failed: {done.stderr[-500:]}")
    return times


def kill_when_seen(command: list[str], env: dict[str, str], text: str) -> None:
    """Run ``command`` with stderr on a terminal (where progress is printed), SIGKILL it once
    ``text`` appears."""
    master, slave = os.openpty()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=slave)  # fmt: skip
    os.close(slave)
    seen = b""
    try:
        while text.encode() not in seen:
            ready, _, _ = select.select([master], [], [], 900)
            chunk = os.read(master, 4096) if ready else b""
            if not chunk:
                raise RuntimeError(f"no {text!r} seen: {seen.decode()[-300:]!r}")
            seen += chunk
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def cached_outputs(home: Path, uid: str) -> int:
    path = home / "workspaces" / "workflows" / f"{uid}.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM outputs").fetchone()[0])


def resume(library: Library, home: Path, env: dict[str, str], flow: Path, paths: list[Path]
           ) -> dict[str, Any]:  # fmt: skip
    ingest(library, "R", paths)
    uid = library.workspace("R").uid
    count, total = len(paths), 2 * len(paths)
    call = total // 2 + 1  # the progress reads this call when killed: just past 50%
    step, index = ("mood", call) if call <= count else ("fields", call - count)
    where = f"document {index} of {count} · {step}"
    command = [sys.executable, "-m", "anyllm_desktop.cli", "run", str(flow), "-w", "R", "--json"]
    kill_when_seen(command, env, where)
    finished = cached_outputs(home, uid)
    started = time.perf_counter()
    again = cli(env, "run", str(flow), "-w", "R", "--json")
    seconds = time.perf_counter() - started
    if again.returncode != 0:
        raise RuntimeError(f"the second run failed: {again.stderr[-500:]}")
    result = json.loads(again.stdout)
    return {"killed_at": where, "committed_before_kill": finished, "outputs": total,
            "asked_again": result["model_calls"], "from_cache": result["cached"],
            "redone": result["model_calls"] - (total - finished),
            "rows_done": sum(r["status"] == "done" for r in result["rows"]),
            "second_run_s": round(seconds, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200, help="documents (default 200)")
    parser.add_argument("--ask-sample", type=int, default=10, help="anyllm ask calls timed")
    parser.add_argument("--resume-docs", type=int, default=20, help="documents of the kill run")
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="llama.cpp threads, saved in the home's settings (0: all cores)",
    )
    args = parser.parse_args()
    apply_offline_environment()
    documents = generate(args.limit)
    truth = {name: t for name, _, t in documents}
    words = [len(text.split()) for _, text, _ in documents]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f} at start; {len(documents)} documents of "
          f"{min(words)}-{max(words)} words (seed 16), llama.cpp threads "
          f"{args.threads or 'all'}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-workflows-") as tmp:
        home, env = Path(tmp) / "home", {**os.environ, "ANYLLM_HOME": str(Path(tmp) / "home")}
        paths = write(Path(tmp) / "docs", documents)
        flow = Path(tmp) / "bench-map.yaml"
        flow.write_text(FLOW, encoding="utf-8")
        runtime = Runtime.open(home)
        settings = replace(runtime.settings, threads=args.threads)
        SettingsStore(runtime.paths.settings_file).save(settings)  # the subprocesses read it
        runtime.settings = settings
        library = Library(runtime)
        try:
            ingest_s = ingest(library, "W", paths)
            library.update_chat("W", temperature=0.0, max_answer_tokens=ASK_TOKENS)
            print(f"ingest: {ingest_s:.1f} s", flush=True)
            started = time.perf_counter()
            events = list(run_workflow(library, "W", parse_text(FLOW, "bench-map.yaml"),
                                       CancelToken()))  # fmt: skip
            workflow_s = time.perf_counter() - started
            if not isinstance(events[-1], Done):
                raise RuntimeError(events[-1].message if isinstance(events[-1], Error) else "?")
            result: WorkflowResult = events[-1].result
            print(f"workflow: {workflow_s:.1f} s, {result.model_calls} calls, "
                  f"{result.prompt_tokens} prompt tokens, {result.evaluated_tokens} evaluated "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
            library.close()  # the subprocesses open the same home
            asks = ask_baseline(env, documents[: args.ask_sample])
            print(f"anyllm ask: {len(asks)} calls, {sum(asks) / len(asks):.1f} s each", flush=True)
            library = Library(Runtime.open(home))
            resumed = resume(library, home, env, flow, paths[: args.resume_docs])
        finally:
            library.close()
    n = len(documents)
    moods, fields = parse_shares(result, n)
    per_ask = sum(asks) / len(asks)
    numbers = {
        "documents": n,
        "workflow_s": round(workflow_s, 1),
        "workflow_docs_per_min": round(n / workflow_s * 60, 1),
        "ask_sample": len(asks),
        "ask_s_each": round(per_ask, 2),
        "ask_docs_per_min_extrapolated": round(60 / per_ask, 1),
        "speed_up": round((n / workflow_s) / (1 / per_ask), 2),
        "classify_parsed": f"{moods}/{n}",
        "extract_parsed": f"{fields}/{n}",
        "right": accuracy(result, truth),
        "skipped": [f"{r.document}: {r.reason}" for r in result.rows if r.status != "done"],
        "resume": resumed,
        "load_at_end": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(numbers, indent=2))
    print(f"\n{numbers['workflow_docs_per_min']} documents/min by the workflow vs "
          f"{numbers['ask_docs_per_min_extrapolated']} by one anyllm ask each (measured on "
          f"{len(asks)} documents, extrapolated to {n}): {numbers['speed_up']}x; parsed: "
          f"classify {moods}/{n}, extract {fields}/{n}; resume after kill -9 at "
          f"{resumed['killed_at']}: {resumed['redone']} redone")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
