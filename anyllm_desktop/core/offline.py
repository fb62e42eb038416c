"""Keep third-party libraries from phoning home.

Some libraries the app uses send usage analytics (unstructured, ONNX Runtime) or try a model hub
when a file is missing (fastembed through huggingface_hub). These variables switch that off for
this process and its children. They must be set before those libraries are imported (ONNX Runtime
and huggingface_hub read them at import), so the entry points call
:func:`apply_offline_environment` first thing.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

OFFLINE_ENVIRONMENT: dict[str, str] = {
    # ONNX Runtime 1.32 (fastembed's engine) starts Microsoft's 1DS telemetry when it is
    # imported: it writes a persistent device id and an event queue under
    # ~/.cache/Microsoft/DeveloperTools/.onnxruntime and, about 9 s after the import, starts
    # uploading to mobile.events.data.microsoft.com, retrying after ~5 s, ~8 s, ~21 s (16
    # connects to the DNS server in 75 s of embedding, measured under `unshare -n strace`).
    # `disable_telemetry_events()` does not stop it (14 in 26 s); this variable, read at
    # import, does (0 connects, no files). See onnxruntime/Privacy.md.
    "ORT_DISABLE_TELEMETRY": "1",
    # unstructured's telemetry (scarf.sh and packages.unstructured.io) opt-outs, read at call.
    "SCARF_NO_ANALYTICS": "true",
    "DO_NOT_TRACK": "true",
    # ...and its "try our commercial offering" banner on stdout.
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    # huggingface_hub (used by fastembed) must never download: models ship with the app.
    "HF_HUB_OFFLINE": "1",
    # Also read by hf_xet (its transfer telemetry), with DO_NOT_TRACK.
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def apply_offline_environment(environ: MutableMapping[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    for name, value in OFFLINE_ENVIRONMENT.items():
        env[name] = value
