"""Text embeddings with fastembed (ONNX Runtime), loaded from local files only."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from anyllm_desktop.core.cancel import CancelToken


class FastEmbedEmbedder:
    """Embeds texts with a local ONNX model folder (``model.onnx`` plus tokenizer files).

    ``fastembed_name`` picks fastembed's description of the architecture (pooling,
    normalisation); ``model_dir`` supplies the files, so nothing is fetched from a hub.
    """

    local = True
    #: all-MiniLM-L6-v2 reads 256 word pieces, two of them [CLS] and [SEP].
    max_input_tokens = 254
    #: Padding is what costs time and memory here: small batches of similar length.
    batch_texts = 64
    batch_tokens = 2048
    #: Batches of texts longer than this are smaller: at 256 tokens, 4 texts a batch embed as
    #: fast as 8 and hold 130 MB less in onnxruntime's arena (measured).
    batch_quadratic_from = 128
    concurrent_batches = 1
    #: Lone texts whose vectors are kept: a question is embedded by the search and again by
    #: the evidence finder (3 ms each on 2 cores), and again when its answer is regenerated.
    recent_texts = 16

    def __init__(
        self,
        model_dir: Path,
        *,
        fastembed_name: str,
        dim: int,
        cache_dir: Path,
        threads: int | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.fastembed_name = fastembed_name
        self._dim = dim
        self.cache_dir = cache_dir
        self.threads = threads
        self._model: Any = None
        self._bulk: FastEmbedEmbedder | None = None
        self._loading = threading.Lock()  # batches may arrive from two threads at once
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self._dim

    def load(self) -> None:
        with self._loading:
            if self._model is not None:
                return
            from fastembed import TextEmbedding

            self._model = TextEmbedding(
                model_name=self.fastembed_name,
                specific_model_path=str(self.model_dir),
                cache_dir=str(self.cache_dir),
                threads=self.threads,
                providers=["CPUExecutionProvider"],
            )

    def for_bulk(self) -> FastEmbedEmbedder:
        """For ingestion: a second ONNX session on half the cores that embeds two batches at
        once. ONNX Runtime splits each step of one run across threads and waits for all of
        them; two runs side by side keep the cores busier. On 2 cores: 41.6 against 35.8
        passages/s, the same vectors (measured 2026-11-23, tests/benchmarks/RESULTS.md). A
        lone question keeps the session that uses every core (2.7 ms against 5.3 ms on one).
        Its batches hold half the tokens, so two in flight use the memory of one."""
        cores = self.threads or os.cpu_count() or 1
        if cores < 2 or self.concurrent_batches > 1:
            return self
        if self._bulk is None:
            bulk = FastEmbedEmbedder(
                self.model_dir,
                fastembed_name=self.fastembed_name,
                dim=self._dim,
                cache_dir=self.cache_dir,
                threads=cores // 2,
            )
            bulk.concurrent_batches = 2
            bulk.batch_tokens = self.batch_tokens // 2
            self._bulk = bulk
        return self._bulk

    def unload(self) -> None:
        """Free the model (about 230 MB resident); the next ``embed`` loads it again (~1 s)."""
        self._model = None
        if self._bulk is not None:
            self._bulk.unload()

    def embed(
        self, texts: Sequence[str], batch_size: int = 16, cancel: CancelToken | None = None
    ) -> np.ndarray:
        """One L2-normalised float32 row per text (``cancel`` is not needed: a batch takes
        well under a second)."""
        import numpy as np

        if len(texts) == 1:
            with self._recent_lock:
                if (kept := self._recent.get(texts[0])) is not None:
                    self._recent.move_to_end(texts[0])
                    return kept.copy()
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model  # one reference for the call, even if another thread unloads
        rows = np.asarray(list(model.embed(list(texts), batch_size=batch_size)), np.float32)
        if len(texts) == 1:
            with self._recent_lock:
                self._recent[texts[0]] = rows.copy()
                while len(self._recent) > self.recent_texts:
                    self._recent.popitem(last=False)
        return rows

    def release_memory(self) -> None:
        """Shrink ONNX Runtime's CPU arena back to its first block.

        The arena keeps the high-water mark of the largest batch (about 150 MB for 8 texts of
        256 tokens); a one-token run with arena shrinkage enabled returns it. Called between
        ingest windows, so a long ingest does not hold the peak of its largest batch.
        """
        if self._bulk is not None:
            self._bulk.release_memory()
        session = getattr(getattr(self._model, "model", None), "model", None)
        if session is None or not hasattr(session, "get_inputs"):
            return  # not loaded, or fastembed's internals moved
        import numpy as np
        import onnxruntime

        options = onnxruntime.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        feed = {i.name: np.zeros((1, 1), dtype=np.int64) for i in session.get_inputs()}
        session.run(None, feed, options)
