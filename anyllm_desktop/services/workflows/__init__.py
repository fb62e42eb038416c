"""Workflows: LLM tasks over whole documents, as files, run as jobs (issue 16).

Format (``core/workflow_spec.py``, version 1, YAML or JSON): ``id``, ``name``,
``description``, ``inputs`` (``documents: all`` | a list of file names | ``{glob: "*.md"}``, or
``text: ...``) and ``steps``, each with a unique ``name``, a ``kind`` and, for the kinds that
ask a model, its own ``model`` (``local`` = the app's chat model, ``embedded``, a ``.gguf``
path, ``cloud:PROVIDER:MODEL``; resolved through ``Runtime.create_chat_provider``), plus
``max_tokens``, ``temperature`` and ``on_error`` (``stop`` | ``skip`` the document with the
reason | ``retry`` up to ``retries`` more times, then stop | ``fallback`` to the step's
``fallback`` model, whose answer is used but not cached as the step's). Templates are ``{{name}}`` /
``{{name.field}}`` over ``document.*`` (text, name, title, path, kind, pages), earlier steps
and extract fields; every reference is checked before anything runs, and every problem names
its line and field (``loading.py`` keeps the YAML nodes' marks).

Kinds: ``map`` (its sub-steps for each document, or with ``over: sections`` for each
section-sized piece of each document: consecutive passages in document order up to
``max_document_tokens``, each piece citing its pages and sections; each sub-step goes over every
item before the next one, so consecutive calls share their instruction's KV-cache prefix),
``reduce`` (``over: MAP``: the map's outputs, each opening with its citation tag ``[p. 12–14,
§3.2]``, combined in groups that fit the reduce model's context by its own token count, level by
level until one remains; the result cites the tags it kept, see ``summaries.py``), ``prompt``,
``classify`` (labels: a local model chooses the label under which the text is most likely,
``providers/llama_scoring.py``, since generating under a grammar answered the first label
listed; a cloud model answers an enum by its structured output), ``extract`` (a JSON schema: a
llama.cpp grammar made from it locally, the provider's structured output in the cloud, so it
parses), ``output`` (a table from a map: one row per document, columns from labels/schema, each
cell citing file + pages/sections; and/or a Markdown report). The seam: ``steps.STEP_KINDS``
holds the model-asking kinds (``request`` + ``parse``); the runner does cache, model call,
retries and error policy alike for all; fields of a new kind go to
``core/workflow_spec.KIND_RULES``.

Models (``models.py``): each step's model and fallback resolved before anything runs; a cloud
step obeys what chat obeys — refused before anything is sent when the workspace is local-only,
offline mode is on or the provider is not agreed to (``cloud_sends`` lists which step sends
what to which host, for the agreement), personal data removed when the workspace asks, a line
in the outbound log per request.

Runs (``runner.py``; the "workflow" job is ``job.py``, which keeps every run in the workspace's
run log, ``runs.py``: ``anyllm runs``, the Workflows panel): Progress "document 3 of 12 ·
classify" or "section 12 of 40 · gist", then "summary · level 2, part 1 of 3", Done with a
``WorkflowResult`` (``results.py``: exports CSV, JSON, Markdown, XLSX). Every output is cached
in ``workspaces/workflows/UID.sqlite3`` by the hash of the step's definition, the model
file/cloud model it resolved to and the exact messages; committed as it comes, so a re-run asks
only for changed or new documents and a killed run resumes without redoing finished ones.

``anyllm summarize -w WS DOCUMENT`` runs the built-in ``document-summary`` (map over sections,
reduce, report) as that job.

Quick actions and the prompt library (``services/quick_actions.py``,
``core/prompt_library.py``) build one-document workflows of these kinds.

``retrieve`` (top level: the workspace's best ``k`` passages for its ``query`` template, each
opening with its source ``[guide.pdf, p. 12]``, cited by the result) gives later steps
``{{name}}``. An output with ``summary: true`` keeps its report as the summary passage of the one
document the run covered (``services/summary_passages.py``): chat and search find it.

Left for later: the benchmarks (the 261-page summary, a map over 200 documents) in
``tests/benchmarks/``.
"""
