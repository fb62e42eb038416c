"""The "training" job: a LoRA adapter trained on this computer from a dataset, measured before
and after through llama.cpp, and kept with its card in the adapter store.

Parameters: ``base`` (a model id: ``embedded:…`` or a .gguf path), ``dataset`` (a kept
dataset's name) or ``data`` (a file in any import format, split here), ``name`` (the adapter's)
and ``settings`` (``LoraSettings`` fields). The run checkpoints every few steps under
``HOME/adapters/.training/KEY`` (KEY: the base, the data's hash and the settings), so a
cancelled or interrupted job resumed with the same parameters continues at its last
checkpoint. It yields the cores to a streaming answer between steps, as ingestion does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.datasets import Example
from anyllm_desktop.core.events import Done, Error, Event, Progress, TrainingStep
from anyllm_desktop.models.adapters import AdapterCard, AdapterStore, BaseModel
from anyllm_desktop.models.catalog import sha256_of
from anyllm_desktop.services.adapter_models import base_model
from anyllm_desktop.services.datasets import TrainingData, training_data
from anyllm_desktop.services.training import checkpoint, evaluation
from anyllm_desktop.services.training.adapter_gguf import write_adapter
from anyllm_desktop.services.training.examples import (
    TokenizedExample,
    open_vocabulary,
    tokenize_chat,
)
from anyllm_desktop.services.training.lora import LoraSettings, fresh_state, training_steps
from anyllm_desktop.services.training.weights import load_weights

if TYPE_CHECKING:
    from anyllm_desktop.services.jobs import JobService

#: A checkpoint at least this often (seconds) and at the end of each epoch.
CHECKPOINT_EVERY_S = 60.0
#: Examples the losses are measured on (each is one llama.cpp pass), per split.
MEASURED = 32


def _settings(raw: dict[str, Any]) -> LoraSettings:
    known = {f.name for f in dataclasses.fields(LoraSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"unknown training settings {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")  # fmt: skip
    values = dict(raw)
    if "targets" in values:
        values["targets"] = tuple(values["targets"])
    return LoraSettings(**values)


def _tokenized(vocab: Any, examples: Sequence[Example], settings: LoraSettings, what: str,
               notes: list[str]) -> tuple[list[Example], list[TokenizedExample]]:  # fmt: skip
    kept, tokens = [], []
    for number, example in enumerate(examples, start=1):
        messages = [{"role": t.role, "content": t.content} for t in example.messages]
        done = tokenize_chat(vocab, messages)
        if len(done.tokens) > settings.max_length:
            notes.append(f"{what} example {number} ({example.source or 'no source'}): "
                         f"{len(done.tokens)} tokens, more than the maximum length "
                         f"{settings.max_length}: skipped")  # fmt: skip
            continue
        kept.append(example)
        tokens.append(done)
    return kept, tokens


def _key(base: BaseModel, data: TrainingData, settings: LoraSettings) -> str:
    settings_ = dataclasses.asdict(settings)
    identity = {"base": str(base.path), "data": data.sha256, "settings": settings_}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def _measure(path: Path, lora: Path | None, train: Sequence[TokenizedExample],
             held: Sequence[TokenizedExample], shown: Sequence[Example], context: int,
             threads: int) -> dict[str, Any]:  # fmt: skip
    llm = evaluation.open_llama(path, lora=lora, context=context, threads=threads)
    try:
        return {"train_loss": evaluation.answer_loss(llm, train[:MEASURED]),
                "held_out_loss": evaluation.answer_loss(llm, held[:MEASURED]),
                "answers": evaluation.answers(llm, shown)}  # fmt: skip
    finally:
        llm.close()


def training_job(jobs: JobService, params: dict[str, Any], cancel: CancelToken
                 ) -> Iterator[Event]:  # fmt: skip
    runtime = jobs.runtime
    try:
        base = base_model(runtime, params["base"])
        settings = _settings(dict(params.get("settings") or {}))
        data = training_data(runtime.paths, params)
    except (KeyError, ValueError, OSError) as exc:
        yield Error(f"Training cannot start: {exc.args[0] if isinstance(exc, KeyError) else exc}")
        return
    yield Progress("prepare", message=f"reading {base.name} and {data.name}")
    notes = list(data.notes)
    vocab = open_vocabulary(base.path)  # the tokenizer only: the weights are not needed
    try:
        train_examples, train = _tokenized(vocab, data.train, settings, "training", notes)
        held_examples, held = _tokenized(vocab, data.held_out, settings, "held-out", notes)
    finally:
        vocab.close()
    if not train:
        yield Error(f"No training example of {data.name} fits the maximum length "
                    f"{settings.max_length}: {'; '.join(notes[:3])}")  # fmt: skip
        return
    folder = runtime.paths.adapters_dir / ".training" / _key(base, data, settings)
    context = max(len(e.tokens) for e in [*train, *held]) + evaluation.ANSWER_TOKENS + 8
    shown = [*held_examples, *train_examples][: evaluation.SIDE_BY_SIDE]
    threads = runtime.settings.threads or 1
    before = checkpoint.read_json(folder, "before.json")
    if before is None:
        yield Progress("measure", message=f"measuring {base.name} before training")
        before = _measure(base.path, None, train, held, shown, context, threads)
        checkpoint.keep_json(folder, "before.json", before)
    try:
        weights = load_weights(base.path)
        state = checkpoint.load(folder, fresh_state(weights.config, settings))
        if state is not None:
            notes.append(f"resumed at step {state.step}")
        saved = time.monotonic()
        started, first = time.monotonic(), state.step if state else 0
        for progress in training_steps(weights, train, settings, resume=state):
            state = progress.state
            done = progress.step - first
            eta = (time.monotonic() - started) / done * (progress.total_steps - progress.step)
            yield TrainingStep(progress.step, progress.total_steps, progress.epoch, progress.loss,
                               progress.tokens / max(progress.seconds, 1e-9))  # fmt: skip
            yield Progress("train", progress.step, progress.total_steps,
                           f"step {progress.step} of {progress.total_steps} · epoch "
                           f"{progress.epoch} · loss {progress.loss:.3f}", eta)  # fmt: skip
            if cancel.cancelled or time.monotonic() - saved >= CHECKPOINT_EVERY_S:
                checkpoint.save(folder, state)
                saved = time.monotonic()
            if cancel.cancelled:  # kept: the same job resumed continues from here
                return
            jobs.library.priority.wait_for_foreground(cancel)  # an answer has the cores
    except ValueError as exc:  # the examples or the memory estimate: said with the numbers
        yield Error(f"Training cannot run: {exc}")
        return
    assert state is not None
    name = params.get("name") or data.name
    adapter = write_adapter(folder / "adapter.gguf", state.lora, weights.config, settings.alpha,
                            name)  # fmt: skip
    architecture = weights.config.architecture
    del weights  # the float32 copy of the base: not needed to measure through llama.cpp
    yield Progress("measure", message="measuring the adapter")
    after = _measure(base.path, adapter, train, held, shown, context, threads)
    card = AdapterCard(
        name=name, architecture=architecture, base_model=base.model_id, base_name=base.name,
        base_sha256=base.sha256 or sha256_of(base.path),
        dataset={"name": data.name, "sha256": data.sha256, "train": len(train),
                 "held_out": len(held)},
        settings={**dataclasses.asdict(settings), "targets": list(settings.targets)},
        results=_results(before, after, shown, state.step, notes),
    )  # fmt: skip
    kept = AdapterStore(runtime.paths).add(adapter, card)
    shutil.rmtree(folder, ignore_errors=True)  # the run is over: its checkpoint goes
    yield Done(kept)


def _results(before: dict[str, Any], after: dict[str, Any], shown: Sequence[Example],
             steps: int, notes: list[str]) -> dict[str, Any]:  # fmt: skip
    """The card's numbers: each loss before and after, and the answers side by side."""
    pairs = zip(shown, before["answers"], after["answers"], strict=True)
    side = [{"question": e.prompt, "expected": e.answer, "before": b, "after": a}
            for e, b, a in pairs]  # fmt: skip
    return {
        "steps": steps,
        "train_loss_before": before["train_loss"], "train_loss_after": after["train_loss"],
        "held_out_loss_before": before["held_out_loss"],
        "held_out_loss_after": after["held_out_loss"],
        "side_by_side": side, "notes": notes,
    }  # fmt: skip
