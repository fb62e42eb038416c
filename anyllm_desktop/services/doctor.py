"""``anyllm doctor``: is this installation healthy? Checks everything for real, offline.

Each check records what it found; one failing check does not stop the others, so the report
shows every problem at once.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from anyllm_desktop import __version__
from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error
from anyllm_desktop.models.catalog import check_model
from anyllm_desktop.models.embedded import embedded_models
from anyllm_desktop.providers.base import Completion, GenerationOptions
from anyllm_desktop.providers.llama_local import LocalLlamaProvider, llama_system_info
from anyllm_desktop.services.runtime import Runtime

PACKAGES = (
    "PySide6-Essentials",
    "llama-cpp-python",
    "lancedb",
    "fastembed",
    "onnxruntime",
    "unstructured",
    "pypdfium2",
    "platformdirs",
    "keyring",
    "numpy",
)

GENERATION_PROMPT = "Answer in one word: what color is the sky on a clear day?"
EMBEDDING_TEXT = "Private document chat on your own computer."

_FEATURE = re.compile(r"\b([A-Z][A-Z0-9_]*) = (\d+)")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _parse_features(system_info: str) -> dict[str, int]:
    """``"CPU : SSE3 = 1 | AVX2 = 1 | ..."`` as ``{"SSE3": 1, "AVX2": 1, ...}``."""
    return {name: int(value) for name, value in _FEATURE.findall(system_info)}


def _run_check(report: dict[str, Any], key: str, check: Callable[[], dict[str, Any]]) -> None:
    try:
        report[key] = {"ok": True, **check()}
    except Exception as exc:
        report[key] = {
            "ok": False,
            "error": str(exc) or repr(exc),
            "detail": traceback.format_exc(limit=3),
        }
    if not report[key]["ok"]:
        report["problems"].append(f"{key}: {report[key].get('error', 'failed')}")


def run_doctor(runtime: Runtime) -> dict[str, Any]:
    report: dict[str, Any] = {
        "ok": False,
        "anyllm_desktop": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "home": str(runtime.paths.home),
        "settings": {"file": str(runtime.paths.settings_file), "warnings": runtime.warnings},
        "problems": [],
    }
    report["models"] = _check_models(runtime, report["problems"])
    _run_check(report, "llama_cpp", _check_llama_build)
    for probe in PROBES:
        _run_check(report, probe, lambda probe=probe: _run_probe(probe, runtime))
    report["ok"] = not report["problems"]
    return report


def _run_probe(name: str, runtime: Runtime) -> dict[str, Any]:
    """Run one real-model check in a child process, so a crash in native code is reported
    (with its signal) instead of killing the doctor."""
    command = [
        sys.executable,
        "-m",
        "anyllm_desktop.services.doctor",
        name,
        str(runtime.paths.home),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode < 0:
        signame = signal.Signals(-done.returncode).name
        hint = ""
        if name == "generation":
            hint = (
                " If llama.cpp reports AMX_INT8 = 1, its build uses AMX kernels that crash on"
                " some CPUs: reinstall with `bash packaging/bootstrap.sh`, which builds it"
                " with GGML_NATIVE=OFF."
            )
        raise RuntimeError(f"the {name} check crashed with {signame}.{hint}")
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the {name} check failed: {tail[0]}")
    return json.loads(done.stdout)


def _check_models(runtime: Runtime, problems: list[str]) -> list[dict[str, Any]]:
    cache = runtime.verification_cache()
    models = []
    for spec in embedded_models():
        checks = check_model(spec, cache)
        ok = all(c.ok for c in checks)
        if not ok:
            problems += [
                f"model {spec.id}: {c.file.file_name} {c.problem}" for c in checks if not c.ok
            ]
        models.append(
            {
                "id": spec.id,
                "name": spec.name,
                "kind": spec.kind,
                "license": spec.license,
                "size": spec.size,
                "ok": ok,
                "files": [
                    {
                        "name": c.file.file_name,
                        "path": str(c.file.path),
                        "size": c.file.size,
                        "sha256": c.file.sha256,
                        "checksum_ok": c.ok,
                        "problem": c.problem,
                    }
                    for c in checks
                ],
            }
        )
    return models


def _check_llama_build() -> dict[str, Any]:
    info = llama_system_info()
    return {
        "version": _version("llama-cpp-python"),
        "system_info": info.strip(),
        "cpu_features": _parse_features(info),
    }


def _check_generation(runtime: Runtime) -> dict[str, Any]:
    provider = runtime.create_chat_provider(provider="local")
    assert isinstance(provider, LocalLlamaProvider)
    started = time.perf_counter()
    provider.load()
    loaded = time.perf_counter()
    result: Completion | None = None
    for event in provider.stream(
        [ChatMessage("user", GENERATION_PROMPT)],
        GenerationOptions(temperature=0.0, max_tokens=12),
        CancelToken(),
    ):
        if isinstance(event, Error):
            raise RuntimeError(event.message)
        if isinstance(event, Done):
            result = event.result
    provider.unload()
    text = result.text.strip() if result else ""
    if not text:
        raise RuntimeError("the model produced no text")
    return {
        "model": runtime.settings.chat_model,
        "prompt": GENERATION_PROMPT,
        "text": text,
        "load_s": round(loaded - started, 3),
        "ttft_s": round(result.ttft_s, 3),
        "tokens_per_s": round(result.tokens_per_s, 1),
        "threads": provider.threads,
    }


def _check_embedding(runtime: Runtime) -> dict[str, Any]:
    embedder = runtime.create_embedder()
    started = time.perf_counter()
    vector = embedder.embed([EMBEDDING_TEXT])[0]
    elapsed = time.perf_counter() - started
    norm = float((vector**2).sum() ** 0.5)
    if vector.shape[0] != embedder.dim or abs(norm - 1.0) > 1e-3:
        raise RuntimeError(f"unexpected embedding: {vector.shape[0]} dims, norm {norm:.4f}")
    return {
        "model": runtime.settings.embedding_model,
        "dim": int(vector.shape[0]),
        "norm": round(norm, 4),
        "head": [round(float(x), 5) for x in vector[:4]],
        "seconds": round(elapsed, 3),
    }


PROBES: dict[str, Callable[[Runtime], dict[str, Any]]] = {
    "generation": _check_generation,
    "embedding": _check_embedding,
}


if __name__ == "__main__":
    # Child side of _run_probe: ``python -m anyllm_desktop.services.doctor PROBE HOME``.
    print(json.dumps(PROBES[sys.argv[1]](Runtime.open(sys.argv[2]))))
