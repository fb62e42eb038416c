"""`anyllm doctor`: versions, model files and their checksums, a real generation and a real
embedding, as text or JSON (exit code 1 when a check failed)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_commands(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="check the installation: versions, models, a real generation and embedding"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.doctor import run_doctor
    from anyllm_desktop.services.runtime import Runtime

    report = run_doctor(Runtime.open(args.home))  # settings warnings are in the report
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    return 0 if report["ok"] else 1


def _mark(ok: bool) -> str:
    return "ok  " if ok else "FAIL"


def _print_report(report: dict[str, Any]) -> None:
    out = sys.stdout
    out.write(
        f"anyllm-desktop {report['anyllm_desktop']} on Python {report['python']}, "
        f"{report['platform']}\n"
    )
    out.write(f"home: {report['home']}\n")
    for warning in report["settings"]["warnings"]:
        out.write(f"warning: {warning}\n")
    out.write(
        "packages: "
        + ", ".join(
            f"{name} {version or 'MISSING'}" for name, version in report["packages"].items()
        )
        + "\n"
    )
    for model in report["models"]:
        out.write(
            f"[{_mark(model['ok'])}] {model['kind']} model {model['name']} "
            f"({model['size'] / 1e6:.1f} MB, {model['license']})\n"
        )
        for file in model["files"]:
            state = "checksum ok" if file["checksum_ok"] else file["problem"]
            out.write(f"         {file['path']}: {state}\n")
    llama = report["llama_cpp"]
    if llama["ok"]:
        features = " ".join(f"{k}={int(v)}" for k, v in llama["cpu_features"].items())
        out.write(f"[ok  ] llama.cpp {llama['version']}: {features}\n")
    generation = report["generation"]
    if generation["ok"]:
        out.write(
            f"[ok  ] generation: {generation['text']!r} (load {generation['load_s']} s, "
            f"first token {generation['ttft_s']} s, {generation['tokens_per_s']} tok/s, "
            f"{generation['threads']} threads)\n"
        )
    embedding = report["embedding"]
    if embedding["ok"]:
        out.write(
            f"[ok  ] embedding: {embedding['dim']} dims, norm {embedding['norm']}, "
            f"{embedding['seconds']} s\n"
        )
    for problem in report["problems"]:
        out.write(f"[FAIL] {problem}\n")
    out.write("all checks passed\n" if report["ok"] else "some checks failed\n")
