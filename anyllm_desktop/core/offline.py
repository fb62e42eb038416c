"""Keep third-party libraries from phoning home.

Some libraries the app uses send usage analytics (unstructured) or try a model hub when a file is
missing (fastembed through huggingface_hub). These variables switch that off for this process and
its children. They must be set before those libraries are imported, so the entry points call
:func:`apply_offline_environment` first thing.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

OFFLINE_ENVIRONMENT: dict[str, str] = {
    # unstructured's telemetry (scarf.sh) opt-outs.
    "SCARF_NO_ANALYTICS": "true",
    "DO_NOT_TRACK": "true",
    # ...and its "try our commercial offering" banner on stdout.
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    # huggingface_hub (used by fastembed) must never download: models ship with the app.
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def apply_offline_environment(environ: MutableMapping[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    for name, value in OFFLINE_ENVIRONMENT.items():
        env[name] = value
