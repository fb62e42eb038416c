"""The local API server under load vs the same answers through the CLI, in one run.

20 questions to the workspace model "workspace:Office" (retrieval, citations, the embedded
chat model, temperature 0, 48 answer tokens):

1. through `anyllm serve` (the real server on loopback, the official `openai` client): all 20
   sent at once, then the same 20 one after another;
2. through the CLI one by one: `anyllm ask` per question (a process each, as a script would
   call it), and `anyllm chat` with the 20 questions on its standard input (one process, the
   model kept loaded).

Every answer must come back (none lost); the numbers are wall-clock seconds for all 20.

    .venv/bin/python tests/benchmarks/bench_api_server.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openai

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.services.api_server.server import ApiServer, free_port
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.runtime import Runtime

KEY = "bench-key-0123456789"
NOTES = """Office notes.

The wifi password of the Lisbon office is tangerine-42. The printer on the second floor is
called Gutenberg. Visitors sign in at the front desk, which opens at 8:30.

The Porto office closes at 18:00 on Fridays. Its meeting rooms are named after rivers: Douro,
Tejo and Mondego. Parking permits are renewed every March.
"""
QUESTIONS = [
    "What is the wifi password of the Lisbon office?",
    "What is the printer on the second floor called?",
    "When does the front desk open?",
    "When does the Porto office close on Fridays?",
    "What are the meeting rooms named after?",
] * 4
ANSWER_TOKENS = 48


def _home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="anyllm-bench-api-"))
    notes = home.parent / f"{home.name}-office-notes.txt"
    notes.write_text(NOTES, encoding="utf-8")
    library = Library(Runtime.open(home))
    library.create_workspace("Office")
    list(library.ingest("Office", [notes], CancelToken()))
    library.update_chat("Office", temperature=0.0, max_answer_tokens=ANSWER_TOKENS)
    library.close()
    return home


def _server_runs(home: Path) -> dict[str, tuple[float, list[float], int]]:
    server = ApiServer(home, KEY, port=free_port())
    server.start()
    client = openai.OpenAI(base_url=server.address, api_key=KEY, max_retries=0, timeout=600)

    def ask(question: str) -> tuple[float, str]:
        started = time.perf_counter()
        reply = client.chat.completions.create(
            model="workspace:Office", messages=[{"role": "user", "content": question}]
        )
        return time.perf_counter() - started, reply.choices[0].message.content or ""

    try:
        ask("Warm-up: what is in these notes?")  # the model loads once, as in the window
        runs = {}
        started = time.perf_counter()
        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            concurrent = list(pool.map(ask, QUESTIONS))
        runs["server, 20 at once"] = (time.perf_counter() - started,
                                      [t for t, _ in concurrent],
                                      sum(1 for _, a in concurrent if a))  # fmt: skip
        started = time.perf_counter()
        sequential = [ask(q) for q in QUESTIONS]
        runs["server, one after another"] = (time.perf_counter() - started,
                                             [t for t, _ in sequential],
                                             sum(1 for _, a in sequential if a))  # fmt: skip
        return runs
    finally:
        server.stop()


def _cli_runs(home: Path) -> dict[str, tuple[float, list[float], int]]:
    env = {**os.environ, "ANYLLM_HOME": str(home)}
    command = [sys.executable, "-m", "anyllm_desktop.cli"]
    times, answered = [], 0
    started = time.perf_counter()
    for question in QUESTIONS:
        one = time.perf_counter()
        done = subprocess.run([*command, "ask", "-w", "Office", question, "--json"], env=env,
                              capture_output=True, text=True, check=True)  # fmt: skip
        times.append(time.perf_counter() - one)
        answered += bool(json.loads(done.stdout)["answer"])
    runs = {"CLI `anyllm ask`, one process each": (time.perf_counter() - started, times,
                                                    answered)}  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run([*command, "chat", "-w", "Office", "--json"], env=env,
                          input="\n".join(QUESTIONS) + "\n", capture_output=True, text=True,
                          check=True)  # fmt: skip
    wall = time.perf_counter() - started
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    runs["CLI `anyllm chat`, 20 lines, one process"] = (
        wall,
        [wall / len(QUESTIONS)] * len(QUESTIONS),
        sum(1 for a in answers if a["answer"]),
    )
    return runs


def main() -> None:
    apply_offline_environment()
    home = _home()
    runs = {**_server_runs(home), **_cli_runs(home)}
    print(f"{len(QUESTIONS)} questions, {ANSWER_TOKENS} answer tokens, temperature 0, "
          f"{os.cpu_count()} cores\n")  # fmt: skip
    print("| path | answered | wall s | answers/min | median s per answer | max s |")
    print("|---|---|---|---|---|---|")
    for name, (wall, times, answered) in runs.items():
        print(f"| {name} | {answered}/{len(QUESTIONS)} | {wall:.1f} | "
              f"{60 * answered / wall:.1f} | {statistics.median(times):.2f} | "
              f"{max(times):.2f} |")  # fmt: skip
    baseline = runs["CLI `anyllm ask`, one process each"][0]
    print(f"\nserver (20 at once) vs CLI ask one by one: "
          f"{baseline / runs['server, 20 at once'][0]:.1f}x faster")  # fmt: skip


if __name__ == "__main__":
    main()
