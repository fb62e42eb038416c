"""A task the embedded model cannot do before training: 40 facts from one real document (the
Debian FAQ's chapter on the archives: codenames, their Toy Story characters, a few more; see
finetune_facts.py) as question/answer pairs. The app's own training job (the "training" job
through JobService, as `anyllm finetune` runs it) trains a LoRA on all 40; then the base and the
base with the adapter answer, greedily through llama.cpp and without retrieval, the training
questions and a paraphrase of each. An answer states the fact when it holds the fact's key
("1.1", "piggy bank"). Printed: the time to train, the steps' losses, peak RSS, and the share of
facts stated before and after, on both question sets (the base is the baseline, measured in the
same run).

    .venv/bin/python tests/benchmarks/bench_finetune.py [--epochs 8] [--learning-rate 2e-3]
        [--limit 40] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.finetune_facts import FACTS, Fact

MODEL = "embedded:smollm2-135m-instruct-q4_1"


def states(answer: str, fact: Fact) -> bool:
    """The answer holds every key of the fact as a word ("8" not inside "1.8" or "18")."""
    return all(re.search(rf"(?<![\w.]){re.escape(k)}(?![\w]|\.\d)", answer, re.IGNORECASE)
               for k in fact.keys)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--limit", type=int, default=len(FACTS), help="facts used")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-finetune-"))
    os.environ["ANYLLM_HOME"] = str(home)

    from anyllm_desktop.core.datasets import Example, Turn
    from anyllm_desktop.core.events import Done, Error, TrainingStep
    from anyllm_desktop.models.adapters import AdapterStore
    from anyllm_desktop.services.adapter_models import base_model
    from anyllm_desktop.services.jobs import JobService
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.services.training import evaluation

    facts = FACTS[: args.limit]
    data = home / "facts.jsonl"
    rows = [{"messages": [{"role": "user", "content": f.question},
                          {"role": "assistant", "content": f.answer}]} for f in facts]  # fmt: skip
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    runtime = Runtime.open(home)
    library = Library(runtime)
    service = JobService(library)
    settings = {"epochs": args.epochs, "learning_rate": args.learning_rate, "rank": args.rank,
                "max_length": 128}  # fmt: skip
    started, losses, card = time.perf_counter(), [], None
    try:
        for event in service.run("training", base=MODEL, data=str(data), held_out=0.0,
                                 name="debian-facts", settings=settings):  # fmt: skip
            if isinstance(event, TrainingStep):
                losses.append(event.loss)
                print(f"step {event.step}/{event.total} loss {event.loss:.3f} "
                      f"({event.tokens_per_s:.0f} tok/s)", flush=True)  # fmt: skip
            elif isinstance(event, Error):
                print("error:", event.message)
                return 1
            elif isinstance(event, Done):
                card = event.result
    finally:
        service.close()
    job_s = time.perf_counter() - started
    assert card is not None
    base = base_model(runtime, MODEL)
    adapter = AdapterStore(runtime.paths).file(card.id)

    def ask(lora: Path | None, questions: list[str]) -> list[str]:
        llm = evaluation.open_llama(base.path, lora=lora, context=512, threads=args.threads,
                                    logits=False)  # fmt: skip
        try:
            examples = [Example((Turn("user", q), Turn("assistant", "?"))) for q in questions]
            return evaluation.answers(llm, examples)
        finally:
            llm.close()

    results = {}
    for name, questions in (("training questions", [f.question for f in facts]),
                            ("paraphrases", [f.paraphrase for f in facts])):  # fmt: skip
        before, after = ask(None, questions), ask(adapter, questions)
        shown = list(zip(questions, before, after, strict=True))[:3]
        results[name] = {"before": sum(states(a, f) for a, f in zip(before, facts, strict=True)),
                         "after": sum(states(a, f) for a, f in zip(after, facts, strict=True)),
                         "examples": [{"question": q, "before": b, "after": a}
                                      for q, b, a in shown]}  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{len(facts)} facts, {len(losses)} steps (epochs {args.epochs}, lr "
          f"{args.learning_rate}, rank {args.rank}); training job {job_s:.0f} s (target < 900 s); "
          f"loss {losses[0]:.3f} -> {losses[-1]:.3f}; peak RSS {peak_mb:.0f} MB")  # fmt: skip
    print(
        f"card: train loss {card.results['train_loss_before']:.3f} -> "
        f"{card.results['train_loss_after']:.3f} (llama.cpp, with and without the adapter)"
    )
    for name, r in results.items():
        print(
            f"{name}: facts stated by the base {r['before']}/{len(facts)}, with the adapter "
            f"{r['after']}/{len(facts)}" + (" (target >= 80%)" if name.startswith("train") else "")
        )
        for e in r["examples"]:
            print(f"  {e['question']!r}: base {e['before'][:70]!r} | adapter {e['after'][:70]!r}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "facts": len(facts),
                    "job_s": job_s,
                    "losses": losses,
                    "peak_rss_mb": peak_mb,
                    "results": results,
                    "card": card.results,
                    "settings": settings,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
