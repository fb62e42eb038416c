"""Classify with the embedded model: which method answers the right label, not the first one?

Data: tests/benchmarks/classify_examples.json (36 hand-labelled short texts: 18 sentiment in
positive/neutral/negative, 18 support messages in billing/shipping/technical problem/account).
Every prompt is the one the workflow's classify step builds (``ClassifyKind.request``). Methods,
all in the same run on the same loaded SmolLM2-135M (temperature 0):

  grammar           generation held to a grammar of the labels (the classify step before)
  grammar-reversed  the same with the labels listed in reverse order (the order bias)
  score-sum         the log-probability of each label's tokens (and the end of the turn) as
                    the answer to that prompt
  score-mean        the same divided by the label's token count (length-normalised)
  calibrated-*      score-* less the same scores for the content-free input "N/A"
                    ("Calibrate Before Use", Zhao et al., 2021)
  defs-*            the score methods with each label's definition in the instructions
  nolist-*          the score methods with no label list in the prompt (no order to copy)
  channel           the input's log-probability after "Write a short text. {task} Answer:
                    {label}." for each label ("noisy channel" prompting, Min et al., 2022):
                    ``Request.channel``, what the local classify step does now

Reported per task and method: accuracy, the share of outputs that are a label, the spread of
the answers (how many distinct labels, the most frequent one's share), and the time per item
(the sum/mean/calibrated variants share their item's one scoring; the content-free scores
are one extra scoring per step, not per item; channel evaluates the input once per label).

    .venv/bin/python tests/benchmarks/bench_classify.py [--threads 1] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done
from anyllm_desktop.core.offline import apply_offline_environment
from anyllm_desktop.core.workflow_spec import StepSpec
from anyllm_desktop.models.embedded import smollm2_chat
from anyllm_desktop.providers.base import Completion, GenerationOptions
from anyllm_desktop.providers.llama_local import LocalLlamaProvider
from anyllm_desktop.providers.llama_scoring import CONTENT_FREE, answer_logprobs, best_label
from anyllm_desktop.services.workflows.steps import ClassifyKind, Request

EXAMPLES = Path(__file__).with_name("classify_examples.json")
KIND = ClassifyKind()


def step(task: dict[str, Any], labels: Sequence[str], definitions: bool = False) -> StepSpec:
    instructions = task["instructions"]
    if definitions:
        instructions += "\n" + "\n".join(f"{x}: {task['definitions'][x]}" for x in labels)
    return StepSpec(name="label", kind="classify", labels=tuple(labels),
                    instructions=instructions, max_tokens=8)  # fmt: skip


def request(spec: StepSpec, text: str) -> Request:
    return KIND.request(spec, {"document": {"text": text}})


def unlisted(spec: StepSpec, text: str) -> list[ChatMessage]:
    """The classify prompt without its list of labels."""
    system, user = request(spec, text).messages
    head, _, rest = user.content.partition("\nAnswer with one of these labels:")
    return [system, ChatMessage("user", head + rest.split(".", 1)[1])]


def generate(provider: LocalLlamaProvider, spec: StepSpec, text: str) -> str:
    req = request(spec, text)
    options = GenerationOptions(temperature=0.0, max_tokens=spec.max_tokens, seed=0,
                                repeat_penalty=1.0, grammar=req.grammar)  # fmt: skip
    done = [e for e in provider.stream(req.messages, options, CancelToken()) if isinstance(e, Done)]
    assert done and isinstance(done[0].result, Completion)
    return done[0].result.text.strip()


def scores(provider: LocalLlamaProvider, spec: StepSpec, messages: list[ChatMessage]
           ) -> tuple[list[float], list[float]]:  # fmt: skip
    """(sums, means) in the order of ``spec.labels``."""
    found = answer_logprobs(provider, messages, spec.labels, CancelToken()).labels
    return [s.logprob for s in found], [s.mean for s in found]


def channel(provider: LocalLlamaProvider, spec: StepSpec, text: str) -> str:
    req = request(spec, text)
    found = [answer_logprobs(provider, prompt, [req.text], CancelToken(), req.text_tokens)
             .labels[0].logprob
             for prompt in req.channel]  # fmt: skip
    return best_label(found, spec.labels)


def run_task(provider: LocalLlamaProvider, task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    labels: list[str] = task["labels"]
    out: dict[str, dict[str, Any]] = {}

    def record(method: str, answer: str, gold: str, seconds: float) -> None:
        entry = out.setdefault(method, {"answers": [], "right": 0, "parsed": 0, "seconds": 0.0})
        entry["answers"].append(answer)
        entry["right"] += answer == gold
        entry["parsed"] += answer in labels
        entry["seconds"] += seconds

    def timed(function: Callable[[], Any]) -> tuple[Any, float]:
        started = time.perf_counter()
        value = function()
        return value, time.perf_counter() - started

    plain, defs = step(task, labels), step(task, labels, definitions=True)
    prompts: dict[str, tuple[StepSpec, Callable[[StepSpec, str], list[ChatMessage]]]] = {
        "": (plain, lambda spec, text: request(spec, text).messages),
        "defs-": (defs, lambda spec, text: request(spec, text).messages),
        "nolist-": (plain, unlisted),
    }
    free = {prefix: scores(provider, spec, build(spec, CONTENT_FREE))
            for prefix, (spec, build) in prompts.items()}  # fmt: skip
    reverse = step(task, labels[::-1])
    for number, example in enumerate(task["examples"], 1):
        text, gold = example["text"], example["label"]
        answer, took = timed(lambda text=text: generate(provider, plain, text))
        record("grammar", answer, gold, took)
        answer, took = timed(lambda text=text: generate(provider, reverse, text))
        record("grammar-reversed", answer, gold, took)
        for prefix, (spec, build) in prompts.items():
            (sums, means), took = timed(
                lambda s=spec, b=build, t=text: scores(provider, s, b(s, t))
            )
            base_sums, base_means = free[prefix]
            record(prefix + "score-sum", best_label(sums, labels), gold, took)
            record(prefix + "score-mean", best_label(means, labels), gold, took)
            record(prefix + "calibrated-sum", best_label(sums, labels, base_sums), gold, took)
            record(prefix + "calibrated-mean", best_label(means, labels, base_means), gold, took)
        answer, took = timed(lambda text=text: channel(provider, plain, text))
        record("channel", answer, gold, took)
        print(f"{task['name']} {number}/{len(task['examples'])}", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every answer to this file")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    args = parser.parse_args()
    apply_offline_environment()
    data = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    model = smollm2_chat().files[0].path
    provider = LocalLlamaProvider(model, context_size=2048, threads=args.threads)
    provider.load()
    print(f"model {model.name}, {provider.threads} threads, context {provider.context_size}")
    results: dict[str, Any] = {}
    for task in data["tasks"]:
        found = results[task["name"]] = run_task(provider, task)
        n = len(task["examples"])
        print(f"\n## {task['name']} ({n} texts, labels: {', '.join(task['labels'])})")
        print("| method | accuracy | parse | distinct | top share | ms/item |")
        print("|---|---|---|---|---|---|")
        for method, entry in found.items():
            top, count = Counter(entry["answers"]).most_common(1)[0]
            print(f"| {method} | {entry['right']}/{n} ({entry['right'] / n:.0%}) | "
                  f"{entry['parsed'] / n:.0%} | {len(set(entry['answers']))} | "
                  f"{top} {count / n:.0%} | {1000 * entry['seconds'] / n:.0f} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    provider.unload()


if __name__ == "__main__":
    main()
