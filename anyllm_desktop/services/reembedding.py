"""Switching a workspace to another embedding model: every passage embedded again into a new
table, which replaces the old one only when complete.

Runs as the workspace's one writer (``store/writer_lock.py``): an ingest started meanwhile (in
this process or another) waits, and then writes to the new table — before, a file ingested
during a re-embed went into the table about to be dropped and was "indexed" with no passages.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, cast

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import CONSENT_REQUIRED, Done, Error, Event, Progress
from anyllm_desktop.core.workspace import Workspace
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.providers.registry import model_kind
from anyllm_desktop.services.embedding import embed_texts, free_bulk_session
from anyllm_desktop.services.outbound import Sender, embedding_consent_text
from anyllm_desktop.store.records import table_name, table_version
from anyllm_desktop.store.vectors import PassageRow

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library


def cloud_embedding_terms(library: Library, name: str, model_id: str) -> str | None:
    """What embedding workspace ``name`` with ``model_id`` sends, and where, for the user to
    agree to; None for a local model (nothing leaves). Raises ProviderError when a cloud model
    is refused (offline, the workspace's lock, an unknown provider or key)."""
    if _runs_here(library, model_id):
        return None
    workspace = library.records.workspace(name)
    vectors = library.vectors_for(workspace)
    passages = 0
    if vectors.has_table(workspace.vector_table):
        passages = vectors.count(library.table(workspace))
    return _cloud_terms(library, workspace, model_id, passages)


def _cloud_terms(
    library: Library, workspace: Workspace, model_id: str, passages: int
) -> str | None:
    if _runs_here(library, model_id):
        return None
    embedder = library.embedder(model_id, workspace)
    return embedding_consent_text(workspace, cast(Sender, embedder), passages)


def _runs_here(library: Library, model_id: str) -> bool:
    """Nothing leaves the computer (an unknown id too: the re-embed itself then says so)."""
    try:
        return model_kind(model_id).recipient(model_id, library.runtime) is None
    except KeyError:
        return True


def reembed(
    library: Library, name: str, model_id: str, cancel: CancelToken, *, agreed: bool = False
) -> Iterator[Event]:
    """Cancelling, a failing provider or a crash leaves the workspace on its old model, intact.

    A cloud model (``cloud:PROVIDER:MODEL``) sends every passage, and later every added document
    and every question, to the provider: it needs ``agreed`` (else an Error with code
    CONSENT_REQUIRED says what would go where).

    Passages keep their size; a model that reads fewer tokens than the old one would truncate
    them, so such a switch should re-ingest the files instead.
    """
    workspace = library.records.workspace(name)
    if model_id == workspace.embedding_model:
        yield Done({"workspace": name, "model": model_id, "passages": 0})
        return
    if library.shared.is_shared(workspace):  # every home searches its table with its model
        yield Error(f"{name!r} is shared through {library.shared.location(workspace).uri}, and "
                    "every computer using it embeds questions with its model, so it keeps "
                    f"{workspace.embedding_model}. Create a new shared workspace with the other "
                    "model instead.")  # fmt: skip
        return
    held = yield from library.writer(workspace, "reembed", cancel)
    if held is None:
        yield Error("Re-embedding was cancelled; the workspace keeps its old model.")
        return
    with held:
        current = library.records.workspace_by_uid(workspace.uid)
        if current is None:
            yield Error(f"The workspace {name!r} was deleted.")
            return
        workspace = current  # as the writer before this one left it
        old_table = library.table(workspace)
        vectors = library.vectors
        total = vectors.count(old_table)
        try:
            terms = _cloud_terms(library, workspace, model_id, total)
            if terms is not None and not agreed:
                yield Error(terms, CONSENT_REQUIRED)
                return
            dim = library.model_dim(model_id, workspace)
            embedder = library.embedder(model_id, workspace)
        except (ProviderError, KeyError) as exc:  # refused, failing, or an unknown model
            yield Error(str(exc.args[0]) if isinstance(exc, KeyError) else str(exc))
            return
        new_name = table_name(workspace.uid, table_version(workspace.vector_table) + 1)
        vectors.drop_table(new_name)  # left over from an interrupted switch
        new_table = vectors.table(new_name, model=model_id, dim=dim)
        try:
            done = yield from _embed_into(library, workspace, model_id, old_table, new_table,
                                          total, cancel)  # fmt: skip
            failure = "Re-embedding was cancelled; the workspace keeps its old model."
        except ProviderError as exc:
            done, failure = None, f"Re-embedding stopped: {exc} The workspace keeps its old model."
        finally:  # the sibling session is for this job only
            free_bulk_session(embedder)
        if done is None:
            vectors.drop_table(new_name)
            yield Error(failure)
            return
        vectors.finish_writes(new_table)
        library.records.set_vector_table(workspace.id, model_id, new_name)
        vectors.drop_table(workspace.vector_table)
    yield Done({"workspace": name, "model": model_id, "passages": done})


def _embed_into(
    library: Library, workspace: Workspace, model_id: str, old_table: Any, new_table: Any,
    total: int, cancel: CancelToken,
) -> Generator[Event, None, int | None]:  # fmt: skip
    """Every passage of ``old_table`` (``total`` of them) written to ``new_table`` with
    ``model_id``'s vectors, with progress: how many, or None when cancelled. A failing provider
    raises ProviderError."""
    done = 0
    for rows in library.vectors.iter_passages(old_table):
        texts = [f"{r['context']}\n{r['text']}" if r["context"] else r["text"] for r in rows]
        vectors = yield from embed_texts(
            library,
            workspace,
            model_id,
            texts,
            cancel,
            lambda n, before=done: Progress(
                "re-embed", before + n, total, f"Re-embedding {before + n}/{total} passages"
            ),
        )
        if vectors is None:
            return None
        passages = [
            PassageRow(r["doc_id"], r["chunk"], r["text"], r["context"], r["section"], r["page"],
                       r["sheet"], r["tokens"], vector)
            for r, vector in zip(rows, vectors, strict=True)
        ]  # fmt: skip
        library.vectors.add(new_table, passages)
        done += len(rows)
    return done
