"""The local OpenAI-compatible API server (`anyllm serve`, Settings → API server), without Qt.

``auth`` keeps its key, ``validation`` checks request bodies, ``model_queue`` runs every
request on one thread that owns the library and the loaded model (``engine`` is what a request
does there), ``routes`` is the Starlette app and ``server`` runs it with uvicorn in a thread.
"""
