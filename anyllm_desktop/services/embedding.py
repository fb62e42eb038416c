"""Texts to vectors for ingestion and re-embedding: from the embedding cache where they are
there, the rest in length-sorted batches bounded by tokens (padding is what costs time and
memory), as many batches at once as the embedder takes."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Event
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.providers.cloud_http import ProviderError

if TYPE_CHECKING:
    from anyllm_desktop.ingest.tokens import TokenCounter
    from anyllm_desktop.providers.base import Embedder
    from anyllm_desktop.services.library import Library


def plan_batches(
    token_counts: Sequence[int],
    *,
    max_tokens: int,
    max_texts: int,
    quadratic_from: int | None = None,
) -> list[list[int]]:
    """Indices grouped into batches of similar length: sorted by length, each batch's
    (size x longest) within ``max_tokens`` (bounds memory and padding waste). With
    ``quadratic_from``, a text longer than that counts for more, in proportion to its length:
    attention memory grows with the square of the length."""
    order = sorted(range(len(token_counts)), key=lambda i: token_counts[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = max(token_counts[index], 1)
        if quadratic_from:
            longest = longest * max(longest, quadratic_from) / quadratic_from
        if (current and (len(current) + 1) * longest > max_tokens) or len(current) == max_texts:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def free_bulk_session(embedder: Embedder) -> None:
    """Unload the embedder's session for ingestion, if it has one of its own."""
    bulk = embedder.for_bulk()
    if bulk is not embedder:
        bulk.unload()


def embed_texts(
    library: Library,
    workspace: Workspace,
    model: str,
    texts: list[str],
    cancel: CancelToken,
    progress: Callable[[int], Event],
    counter: TokenCounter | None = None,
) -> Generator[Event, None, list[Any] | None]:
    """Vectors for ``texts`` (for ``workspace``, by ``model``) from the embedding cache, or
    computed in length-sorted batches bounded by the embedder's limits, as many at once as the
    embedder takes. Yields ``progress(done)`` after each batch; returns the vectors in order,
    or None if cancelled. A cloud embedder's failure raises ProviderError."""
    embedder = library.embedder(model, workspace).for_bulk()
    # Vectors of redacted text are not those of the text: cached apart.
    redacted = workspace.chat.redact_personal_data and not embedder.local
    cache_key = model + ("+redacted" if redacted else "")
    cached = library.cache.get_many(cache_key, texts)
    vectors: list[Any] = list(cached)
    missing = [i for i, v in enumerate(cached) if v is None]
    if counter is not None:
        lengths = counter.count_many([texts[i] for i in missing]) if missing else []
    else:  # characters / 4 estimate tokens well enough to group and bound batches
        lengths = [len(texts[i]) // 4 + 2 for i in missing]
    done = len(texts) - len(missing)
    batches = plan_batches(
        lengths,
        max_tokens=embedder.batch_tokens,
        max_texts=embedder.batch_texts,
        quadratic_from=embedder.batch_quadratic_from,
    )
    in_flight: deque[tuple[list[int], list[str], Future[Any]]] = deque()

    def finish_one() -> bool:
        """Store the oldest batch's vectors; False if it failed because of a cancel."""
        nonlocal done
        indices, batch_texts, future = in_flight.popleft()
        try:
            computed = future.result()
        except ProviderError:
            if cancel.cancelled:
                return False
            raise
        library.cache.put_many(cache_key, batch_texts, computed)
        for index, vector in zip(indices, computed, strict=True):
            vectors[index] = vector
        done += len(indices)
        return True

    with ThreadPoolExecutor(embedder.concurrent_batches, thread_name_prefix="embed") as pool:
        for batch in batches:
            library.priority.wait_for_foreground(cancel)
            if cancel.cancelled:
                return None
            indices = [missing[i] for i in batch]
            batch_texts = [texts[i] for i in indices]
            future = pool.submit(embedder.embed, batch_texts, len(batch_texts), cancel)
            in_flight.append((indices, batch_texts, future))
            if len(in_flight) == embedder.concurrent_batches:
                if not finish_one():
                    return None
                yield progress(done)
        while in_flight:
            if not finish_one():
                return None
            yield progress(done)
    return vectors
