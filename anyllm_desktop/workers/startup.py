"""Start-up work that runs off the GUI thread once the window is visible."""

from __future__ import annotations

from PySide6.QtCore import QObject

from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.services.warmup import warm_up
from anyllm_desktop.workers.generator_worker import GeneratorWorker


def start_warm_up(runtime: Runtime, parent: QObject | None = None) -> GeneratorWorker:
    worker = GeneratorWorker(lambda cancel: warm_up(runtime, cancel), parent)
    worker.start()
    return worker
