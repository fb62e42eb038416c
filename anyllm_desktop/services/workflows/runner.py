"""A workflow run: a generator of events (Progress per document and step, Done with the
:class:`WorkflowResult`), every model output cached by its input's hash."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.core.cancel import Cancelled, CancelToken
from anyllm_desktop.core.conversation import ChatMessage
from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.core.workflow_spec import StepSpec, WorkflowSpec
from anyllm_desktop.core.workflow_templates import TemplateError, as_text, render
from anyllm_desktop.providers.cloud_http import ProviderError
from anyllm_desktop.services.summary_passages import keep_summary
from anyllm_desktop.services.workflows.cache import StepCache, cache_key
from anyllm_desktop.services.workflows.inputs import (
    InputProblem,
    Item,
    choose,
    file_name,
    read_document,
    read_sections,
    text_item,
)
from anyllm_desktop.services.workflows.models import ModelRefused, StepModels
from anyllm_desktop.services.workflows.results import Citation, Row, WorkflowResult
from anyllm_desktop.services.workflows.shaping import listing, table
from anyllm_desktop.services.workflows.steps import (
    PARTS,
    STEP_KINDS,
    Request,
    StepFailed,
    model_steps,
)
from anyllm_desktop.services.workflows.summaries import (
    MIN_PART_TOKENS,
    SAFETY_TOKENS,
    Part,
    Tags,
    chapters,
    combined,
)

if TYPE_CHECKING:
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.model_host import ModelHost


def run_workflow(library: Library, workspace: str, spec: WorkflowSpec, cancel: CancelToken, *,
                 documents: list[str] | None = None, host: ModelHost | None = None,
                 ) -> Iterator[Event]:  # fmt: skip
    ws = library.workspace(workspace)
    models = StepModels(library.runtime, ws, host)
    cache = StepCache(library.runtime.paths.workflow_cache(ws.uid))
    try:
        run = _Run(library, spec, models, cache, cancel)
        try:
            items = run.items(ws, documents)
            models.prepare(run.leaves, None if spec.text is not None else len(items))
        except (ModelRefused, InputProblem) as exc:
            yield Error(str(exc), getattr(exc, "code", ""))
            return
        try:
            yield from run.steps(ws, items)
        except Cancelled:
            return
        except StepFailed as exc:
            yield Error(str(exc))
            return
        run.result.model_calls = models.calls
        run.result.notes.extend(models.notes)
        if run.summary is not None:
            run.keep_summary(ws, items, run.summary)
        yield Done(run.result)
    finally:
        cache.close()
        models.close()


class _Run:
    def __init__(self, library: Library, spec: WorkflowSpec, models: StepModels,
                 cache: StepCache, cancel: CancelToken) -> None:  # fmt: skip
        self.library, self.spec, self.models, self.cache = library, spec, models, cache
        self.cancel = cancel
        self.result = WorkflowResult(spec.id, spec.name)
        self.leaves = model_steps(spec)
        self.done = self.total = 0
        #: The report of an output step with ``summary: true``.
        self.summary: str | None = None
        self.started = time.monotonic()

    def items(self, ws: Any, names: list[str] | None) -> list[Any]:
        if self.spec.text is not None:
            return [None]
        assert self.spec.documents is not None
        return choose(self.library.documents(ws.name, current=True), self.spec.documents, names)

    def _item(self, ws: Any, document: Any, budget: int) -> Item:
        if document is None:
            return text_item(self.spec)
        item = read_document(self.library, ws, document, budget)
        if item.truncated:
            self.result.notes.append(f"{item.name}: only its first ~{budget} tokens were read "
                                     "(max_document_tokens); a map with over: sections reads "
                                     "all of it, piece by piece.")  # fmt: skip
        return item

    def _progress(self, message: str) -> Progress:
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        return Progress("workflow", self.done, self.total, message, eta)

    def steps(self, ws: Any, items: list[Any]) -> Iterator[Event]:
        self.total = sum(len(s.steps) * len(items) if s.kind == "map" else s.kind in STEP_KINDS
                         for s in self.spec.steps)  # fmt: skip
        scope: dict[str, Any] = {}
        last_map: StepSpec | None = None
        rows: dict[str, list[Row]] = {}
        for step in self.spec.steps:
            if step.kind == "map":
                rows[step.name] = yield from self._map(ws, step, items, scope)
                scope[step.name] = listing(step, rows[step.name])
                last_map = step
            elif step.kind == "output":
                self._output(step, scope, rows)
            elif step.kind == "retrieve":
                yield self._progress(step.name)
                scope[step.name] = self._retrieve(ws, step, scope)
            elif step.kind == "reduce":
                scope[step.name] = yield from self._reduce(step, scope, rows[step.over])
                self.result.report = scope[step.name]
            else:
                yield self._progress(step.name)
                scope[step.name] = self._leaf_or_skip(step, scope, "")
                self.done += 1
                self.result.report = as_text(scope[step.name])
        if not self.result.columns and last_map is not None:
            self.result.columns, self.result.rows = table(last_map, rows[last_map.name])

    def _map(self, ws: Any, step: StepSpec, documents: list[Any], scope: dict[str, Any]
             ) -> Generator[Event, None, list[Row]]:  # fmt: skip
        """The map's sub-steps for each document, or for each section-sized piece of each."""
        items: list[tuple[Item, str]] = []
        if step.over != "sections":
            for i, document in enumerate(documents):
                item = self._item(ws, document, step.max_document_tokens)
                items.append((item, f"document {i + 1} of {len(documents)}"))
        else:
            pieces = [self._sections(ws, d, step) for d in documents]
            self.total += sum(len(p) - 1 for p in pieces) * len(step.steps)
            for d, sections in enumerate(pieces):
                for i, item in enumerate(sections):
                    where = f"section {i + 1} of {len(sections)}"
                    if len(pieces) > 1:
                        where = f"document {d + 1} of {len(pieces)} · {where}"
                    items.append((item, where))
        return (yield from self._map_items(step, items, scope))

    def _counter(self, step: StepSpec) -> Callable[[str], int]:
        """A text's tokens by the map's first model (its tokenizer; a cloud model's estimate)."""
        sub = next(s for s in step.steps if s.kind in STEP_KINDS)
        provider = self.models.provider(sub.model)
        base = provider.count_tokens([ChatMessage("user", "")])
        return lambda text: provider.count_tokens([ChatMessage("user", text)]) - base

    def _sections(self, ws: Any, document: Any, step: StepSpec) -> list[Item]:
        budget = step.max_document_tokens
        if document is None:
            return [text_item(self.spec)]
        items = read_sections(self.library, ws, document, budget, self._counter(step))
        cut = sum(item.truncated for item in items)
        if cut:
            self.result.notes.append(f"{items[0].name}: {cut} passages longer than the map's "
                                     f"max_document_tokens ({budget}) were cut to it.")  # fmt: skip
        return items

    def _map_items(self, step: StepSpec, items: list[tuple[Item, str]], outer: dict[str, Any]
                   ) -> Generator[Event, None, list[Row]]:  # fmt: skip
        """Each sub-step over every item before the next sub-step: consecutive calls then share
        the sub-step's fixed system prompt and instruction, which llama.cpp keeps in its KV
        cache (one classify + extract map over 3 short documents: see the commit's numbers)."""
        rows = [Row(item.name, item.citation) for item, _ in items]
        scopes = [{**outer, "document": item.scope()} for item, _ in items]
        for index, sub in enumerate(step.steps):
            for (item, where), row, scope in zip(items, rows, scopes, strict=True):
                if row.status != "done":
                    continue
                self.cancel.raise_if_cancelled()
                yield self._progress(f"{where} · {sub.name}")
                try:
                    scope[sub.name] = row.values[sub.name] = self._leaf(sub, scope, item.name)
                except StepFailed as exc:
                    if sub.on_error != "skip":
                        raise StepFailed(f"{item.name}: the step {sub.name} failed: {exc}"
                                         ) from exc  # fmt: skip
                    row.status, row.reason = "skipped", f"{sub.name}: {exc}"
                    self.done += len(step.steps) - index
                    continue
                self.done += 1
        return rows

    def _leaf_or_skip(self, step: StepSpec, scope: dict[str, Any], item: str) -> Any:
        try:
            return self._leaf(step, scope, item)
        except StepFailed as exc:
            if step.on_error != "skip":
                raise StepFailed(f"The step {step.name} failed: {exc}") from exc
            self.result.notes.append(f"The step {step.name} was skipped: {exc}")
            return ""

    def _leaf(self, step: StepSpec, scope: dict[str, Any], item: str) -> Any:
        """One model-asking step: from the cache, or asked (with its retries) and cached."""
        kind = STEP_KINDS[step.kind]
        try:
            request = kind.request(step, scope)
        except TemplateError as exc:
            raise StepFailed(str(exc)) from exc
        self.result.models[step.name] = self.models.name(step.model)
        messages = [asdict(m) for m in request.messages]
        key = cache_key(step.identity(), self.models.identity(step.model), messages,
                        request.grammar, self.models.how(step.model, request))  # fmt: skip
        cached = self.cache.get(key)
        if cached is not None:
            self.result.cached += 1
            return cached
        tries = 1 + (step.retries if step.on_error == "retry" else 0)
        for attempt in range(1, tries + 1):
            try:
                output = self._answer(step, request)
                break
            except StepFailed as exc:
                if attempt == tries:
                    raise StepFailed(f"{exc} (tried {tries} times)" if tries > 1 else str(exc)
                                     ) from exc  # fmt: skip
        answered = self.models.answered.get(step.name, step.model)
        if answered == step.model:
            self.cache.put(key, step.name, item, output)
        else:  # a fallback's answer is not the step's: the next run asks its own model again
            self.result.models[step.name] = self.models.name(answered)
        return output

    def _answer(self, step: StepSpec, request: Request) -> Any:
        """The model's parsed answer. A held answer (a grammar or a schema) cut at max_tokens
        is asked again with twice the room, up to twice, so it always closes and parses; the
        run says so, for the file's max_tokens to be raised."""
        asked, kind = step, STEP_KINDS[step.kind]
        while True:
            completion = self.models.complete(asked, request, self.cancel)
            self.result.prompt_tokens += completion.prompt_tokens
            self.result.evaluated_tokens += completion.prompt_tokens - completion.cached_tokens
            try:
                return kind.parse(asked, completion)
            except StepFailed:
                held = request.grammar is not None or request.json_schema is not None
                cut = completion.finish_reason == "length"
                if not (held and cut) or asked.max_tokens >= step.max_tokens * 4:
                    raise
            asked = replace(asked, max_tokens=asked.max_tokens * 2)
            note = (f"The step {step.name}: an answer cut at max_tokens {step.max_tokens} was "
                    "asked again with more room: raise its max_tokens")  # fmt: skip
            if note not in self.result.notes:
                self.result.notes.append(note)

    def _reduce(self, step: StepSpec, scope: dict[str, Any], rows: list[Row]
                ) -> Generator[Event, None, str]:  # fmt: skip
        """The map's outputs combined in groups that fit the model, level by level, until one
        text remains (per chapter first, with ``chapters``); the result cites the tags that
        text holds (``summaries.py``)."""
        source = next(s for s in self.spec.steps if s.name == step.over)
        template = step.input or "{{" + source.steps[-1].name + "}}"
        done = [r for r in rows if r.status == "done"]
        tags = Tags(with_document=len({r.document for r in done}) > 1)
        parts = [Part(f"{tags.add(r.citation)} {render(template, {**scope, **r.values})}",
                      (r.citation,)) for r in done]  # fmt: skip
        count, room = self._budget(step, scope)
        try:
            half = (room - count([])) // 2
            if len(parts) > 1 and half < MIN_PART_TOKENS:
                raise StepFailed(f"its instruction ({count([])} tokens) and answer (max_tokens "
                                 f"{step.max_tokens}) leave no room in the model's context "
                                 f"window ({room + step.max_tokens + SAFETY_TOKENS} tokens) for "
                                 "the outputs it combines: lower max_tokens or shorten the "
                                 "instructions")  # fmt: skip
            combine = partial(self._combine, step, scope, tags, count, room)
            outline = chapters([r.citation for r in done]) if step.chapters else []
            if len(outline) < 2:
                text = (yield from combine(parts, "")).text if parts else ""
            else:
                kept = []
                for c, (_, indexes) in enumerate(outline):
                    where = f"chapter {c + 1} of {len(outline)} · "
                    kept.append((yield from combine([parts[i] for i in indexes], where)))
                overview = yield from combine(kept, "overview · ")
                listed = [f"- **{heading}** {' '.join(part.text.split())}"
                          for (heading, _), part in zip(outline, kept, strict=True)]  # fmt: skip
                text = "\n".join([overview.text.strip(), "", *listed])
        except StepFailed as exc:
            if step.on_error != "skip":
                raise StepFailed(f"The step {step.name} failed: {exc}") from exc
            self.result.notes.append(f"The step {step.name} was skipped: {exc}")
            return ""
        self.done += 1
        self.result.citations = tags.cited(text)
        if tags.dropped:  # said, so a whole span is not read as a sentence's source
            self.result.notes.append(
                f"{step.name}: the model left out the page and section tags in {tags.dropped} "
                "of its combined texts; each of those cites the whole span it combined, not the "
                "place of each statement (a larger model keeps the tags)."
            )
        return text

    def _combine(self, step: StepSpec, scope: dict[str, Any], tags: Tags,
                 count: Callable[[Sequence[Part]], int], room: int, parts: list[Part],
                 where: str) -> Generator[Event, None, Part]:  # fmt: skip
        """``parts`` reduced, level by level, to one (``where`` opens the progress)."""

        def ask(group: Sequence[Part], level: str) -> str:
            self.cancel.raise_if_cancelled()
            return str(self._leaf(step, {**scope, PARTS: _joined(group)}, where + level))

        def say(text: str) -> Progress:
            return self._progress(f"{step.name} · {where}{text}")

        return (yield from combined(parts, count, room, tags, ask, say))

    def _budget(self, step: StepSpec, scope: dict[str, Any]
                ) -> tuple[Callable[[Sequence[Part]], int], int]:  # fmt: skip
        """How many tokens a group's prompt is, by the reduce model's own count, and how many
        it may be: the context window less the answer's max_tokens and a margin."""
        provider = self.models.provider(step.model)
        kind = STEP_KINDS[step.kind]

        def count(group: Sequence[Part]) -> int:
            messages: list[ChatMessage] = kind.request(step, {**scope, PARTS: _joined(group)}
                                                       ).messages  # fmt: skip
            return int(provider.count_tokens(messages))

        return count, provider.context_size - step.max_tokens - SAFETY_TOKENS

    def _output(self, step: StepSpec, scope: dict[str, Any], rows: dict[str, list[Row]]) -> None:
        if step.table:
            mapped = next(s for s in self.spec.steps if s.name == step.table)
            self.result.columns, self.result.rows = table(mapped, rows[step.table])
        if step.report:
            self.result.report = render(step.report, scope)
            if step.summary:
                self.summary = self.result.report

    def _retrieve(self, ws: Any, step: StepSpec, scope: dict[str, Any]) -> str:
        """The workspace's best passages for the step's query, each opening with its source
        (``[guide.pdf, p. 12]``, the tags later steps keep), cited by the result."""
        try:
            query = render(step.query, scope)
        except TemplateError as exc:
            raise StepFailed(f"The step {step.name} failed: {exc}") from exc
        found = self.library.search(ws.name, query, k=step.k)
        if not found:
            self.result.notes.append(f"The step {step.name} found no passage for {query!r}.")
        blocks = []
        for hit in found:
            citation = Citation(Path(hit.path).name or hit.document,
                                (hit.page,) if hit.page is not None else (),
                                (hit.section,) if hit.section else ())  # fmt: skip
            if citation not in self.result.citations:
                self.result.citations.append(citation)
            blocks.append(f"[{citation.describe()}] {hit.text}")
        return "\n\n".join(blocks)

    def keep_summary(self, ws: Any, items: list[Any], text: str) -> None:
        """The report as the summary passage of the one document the run covered."""
        documents = [d for d in items if d is not None]
        if len(documents) != 1:
            self.result.notes.append("The summary was not kept in the workspace's index: it "
                                     f"covers {len(documents)} documents, not one.")  # fmt: skip
            return
        name = file_name(documents[0])
        try:
            keep_summary(self.library, ws, documents[0], text)
        except ProviderError as exc:
            self.result.notes.append(f"The summary of {name} was not kept: {exc}")
            return
        self.result.notes.append(f"Kept as the summary of {name} in the workspace's index: "
                                 "chat finds it.")  # fmt: skip


def _joined(group: Sequence[Part]) -> str:
    return "\n\n".join(p.text for p in group)
