"""`anyllm finetune --base MODEL --data FILE`: train a LoRA adapter on this computer (a job:
`anyllm jobs` lists it, and `anyllm jobs resume ID` continues a stopped one from its last
checkpoint), then keep it with its card (`anyllm adapters list`). With `--cloud PROVIDER`
(and `--send-to-cloud` to agree that the examples leave the machine) the provider's fine-tuning
API trains `--base` instead, and the fine-tuned model joins the provider's models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import print_json, printable, run_job, show_progress
from anyllm_desktop.cli.session import job, library_session
from anyllm_desktop.core.events import Progress

#: Flags that set a LoRA setting, with the setting's name.
_SETTINGS = {"rank": int, "alpha": float, "epochs": int, "learning_rate": float,
             "batch_size": int, "max_length": int}  # fmt: skip


def add_commands(commands: Any) -> None:
    finetune = commands.add_parser(
        "finetune", help="train a LoRA adapter for a local model on your examples"
    )
    finetune.add_argument("--base", metavar="MODEL",
                          help="embedded:smollm2-135m-instruct-q4_1 or a .gguf path; with "
                               "--cloud the provider's base model")  # fmt: skip
    data = finetune.add_mutually_exclusive_group()
    data.add_argument("--data", type=Path, metavar="FILE",
                      help="OpenAI chat .jsonl, Alpaca/ShareGPT .json, or a .csv")  # fmt: skip
    data.add_argument("--dataset", metavar="NAME", help="a kept dataset (anyllm dataset list)")
    finetune.add_argument("--name", help="the adapter's name (default: the data's)")
    finetune.add_argument("--held-out", type=float, default=0.1, metavar="SHARE",
                          help="with --data: share kept out to measure on")  # fmt: skip
    finetune.add_argument(
        "--cloud",
        metavar="PROVIDER",
        help="fine-tune with this OpenAI(-compatible) provider's API instead",
    )
    finetune.add_argument(
        "--send-to-cloud",
        action="store_true",
        help="with --cloud: agree that the examples are sent to the provider",
    )
    finetune.add_argument("--suffix", help="with --cloud: a name part for the fine-tuned model")
    finetune.add_argument("--resume", nargs="?", const="", metavar="JOB",
                          help="with --cloud: follow a fine-tuning job started before (default: "
                               "the provider's newest unfinished one) to its end")  # fmt: skip
    for name, kind in _SETTINGS.items():
        finetune.add_argument(f"--{name.replace('_', '-')}", type=kind, dest=name)
    finetune.add_argument("--json", action="store_true", help="print the adapter's card as JSON")
    finetune.set_defaults(handler=_finetune)


def _finetune(args: argparse.Namespace) -> int:
    if args.resume is not None:
        if not args.cloud:
            raise CommandError("--resume follows a cloud fine-tuning job: give its provider "
                               "with --cloud PROVIDER (a stopped local training resumes with "
                               "`anyllm jobs resume ID`)")  # fmt: skip
        return _cloud(args, {"provider": args.cloud, "resume": args.resume})
    if not args.base or (args.data is None and args.dataset is None):
        raise CommandError("finetune needs --base MODEL and --data FILE (or --dataset NAME)")
    if args.cloud:
        return _cloud(args, _cloud_params(args))
    settings = {k: getattr(args, k) for k in _SETTINGS if getattr(args, k) is not None}
    params: dict[str, Any] = {"base": args.base, "name": args.name, "settings": settings}
    params.update(_data(args))
    with library_session(args) as library:
        card = run_job(job(library, "training", **params), _step_lines)
    if card is None:
        raise CommandError("the training was stopped before it finished; `anyllm jobs resume "
                           "ID` continues it from its last checkpoint")  # fmt: skip
    if args.json:
        print_json(card.to_json())
        return 0
    results = card.results
    print(printable(f"adapter {card.id} ({card.name}) for {card.base_name}: "
                    f"use it with --model {card.base_model}+{card.id}"))  # fmt: skip
    for split in ("train", "held_out"):
        before, after = results.get(f"{split}_loss_before"), results.get(f"{split}_loss_after")
        if before is not None and after is not None:
            print(f"  {split.replace('_', '-')} loss: {before:.3f} before, {after:.3f} after")
    return 0


def _line(event: Progress) -> None:
    """Every progress message as a line of its own (the cloud job's events, say)."""
    print(printable(event.message), file=sys.stderr, flush=True)


def _step_lines(event: Progress) -> None:
    """A line per training step with the time left; the other stages as the CLI shows them."""
    if event.stage != "train":
        show_progress(event)
        return
    eta = f" · about {event.eta_s / 60:.0f} min left" if event.eta_s else ""
    print(printable(event.message + eta), file=sys.stderr, flush=True)


def _data(args: argparse.Namespace) -> dict[str, Any]:
    """The job's ``data`` (a file, split here) or ``dataset`` (a kept one) parameters."""
    if args.data is None:
        return {"dataset": args.dataset}
    if not args.data.is_file():
        raise CommandError(f"{args.data}: there is no such file")
    return {"data": str(args.data.resolve()), "held_out": args.held_out}


def _cloud_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"provider": args.cloud, "model": args.base, "suffix": args.suffix,
                              "agreed": args.send_to_cloud}  # fmt: skip
    return {**params, **_data(args)}


def _cloud(args: argparse.Namespace, params: dict[str, Any]) -> int:
    """The "cloud-finetune" job: its progress on stderr, the fine-tuned model at the end."""
    with library_session(args) as library:
        result = run_job(job(library, "cloud-finetune", **params), _line)
    if result is None:
        raise CommandError(f"the cloud fine-tuning was stopped before it finished; `anyllm "
                           f"finetune --cloud {args.cloud} --resume` follows it again")  # fmt: skip
    if args.json:
        print_json(result)
        return 0
    model = result["fine_tuned_model"]
    print(printable(f"fine-tuned model {model} on {args.cloud} (job {result['job']}, "
                    f"{result['trained_tokens'] or 'unknown'} trained tokens): use it with "
                    f"--provider {args.cloud} --model {model}"))  # fmt: skip
    return 0
