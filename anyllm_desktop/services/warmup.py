"""What the app does right after its window appears: verify the models and import the engines.

Runs on a worker thread so the window shows at once; each step is a :class:`Progress` event.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.models.catalog import ModelFileError, require_model
from anyllm_desktop.services.runtime import Runtime

_ENGINES = ("llama_cpp", "fastembed", "lancedb")


def warm_up(runtime: Runtime, cancel: CancelToken) -> Iterator[Event]:
    specs = [s for s in (runtime.chat_model(), runtime.embedding_model()) if s is not None]
    total = len(specs) + len(_ENGINES)
    step = 0
    cache = runtime.verification_cache()
    for spec in specs:
        if cancel.cancelled:
            return
        yield Progress("verify", step, total, f"Checking {spec.name}…")
        try:
            require_model(spec, cache)
        except ModelFileError as exc:
            yield Error(str(exc))
            return
        step += 1
    for module in _ENGINES:
        if cancel.cancelled:
            return
        yield Progress("import", step, total, f"Loading {module}…")
        try:
            importlib.import_module(module)
        except ImportError as exc:
            yield Error(
                f"The engine {module} could not be loaded: {exc}. "
                "Run `bash packaging/bootstrap.sh` to repair the installation."
            )
            return
        step += 1
    yield Progress("ready", total, total, "Ready")
    yield Done({"chat_model": runtime.chat_model_name(), "embedding_model": specs[-1].name})
