"""How much of the text the classify step's channel scoring should read (issue 16): right
labels when only the text's first K tokens are scored after each label's prompt, for several K
and for the whole text, from one evaluation per text and label (the per-token log-probabilities
summed up to K).

Data: the 200 generated messages of ``bench_workflows.py`` (seed 16, 40–120 words, the mood the
generator chose as truth) and the 36 hand-written texts of ``classify_examples.json``. The
prompts are the classify step's own (``ClassifyKind.request``); SmolLM2-135M-Instruct.

    .venv/bin/python tests/benchmarks/bench_channel_tokens.py [--limit 200] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.workflow_spec import StepSpec
from anyllm_desktop.models.embedded import smollm2_chat
from anyllm_desktop.providers.llama_local import LocalLlamaProvider
from anyllm_desktop.providers.llama_scoring import reply_token_logprobs
from anyllm_desktop.services.workflows.loading import parse_text
from anyllm_desktop.services.workflows.steps import CHANNEL_TOKENS, STEP_KINDS
from tests.benchmarks import bench_classify, bench_workflows

CAPS = (16, 32, 48, CHANNEL_TOKENS, 96, 128)


def evaluate(provider: LocalLlamaProvider, step: StepSpec, items: list[tuple[str, str]]
             ) -> dict[str, object]:  # fmt: skip
    right = {str(k): 0 for k in (*CAPS, "all")}
    lengths = []
    started = time.perf_counter()
    for text, gold in items:
        request = STEP_KINDS["classify"].request(step, {"document": {"text": text}})
        scored = [reply_token_logprobs(provider, prompt, [request.text], CancelToken())[0][0]
                  for prompt in request.channel]  # fmt: skip
        lengths.append(len(scored[0]))
        for cap in (*CAPS, None):
            sums = [sum(s[:cap]) for s in scored]
            best = step.labels[max(range(len(sums)), key=lambda i: (sums[i], -i))]
            right[str(cap or "all")] += best == gold
    return {"texts": len(items), "median_tokens": statistics.median(lengths),
            "right": right, "s": round(time.perf_counter() - started, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200, help="generated messages")
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: all)")
    args = parser.parse_args()
    provider = LocalLlamaProvider(smollm2_chat().files[0].path, threads=args.threads)
    provider.load()
    mood = parse_text(bench_workflows.FLOW, "bench").steps[0].steps[0]
    messages = [(t, truth["mood"]) for _, t, truth in bench_workflows.generate(args.limit)]
    results = {"generated messages": evaluate(provider, mood, messages)}
    examples = json.loads((Path(__file__).parent / "classify_examples.json").read_text())
    for task in examples["tasks"]:
        items = [(x["text"], x["label"]) for x in task["examples"]]
        step = bench_classify.step(task, task["labels"])
        results[task["name"]] = evaluate(provider, step, items)
    print(json.dumps(results, indent=2))
    print(f"right labels when the channel reads the first K tokens (shipped: {CHANNEL_TOKENS})")


if __name__ == "__main__":
    main()
