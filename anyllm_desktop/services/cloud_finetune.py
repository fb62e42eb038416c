"""The "cloud-finetune" job: a dataset fine-tunes a model of a cloud provider through the
OpenAI fine-tuning API (``/files``, ``/fine_tuning/jobs``, its events), for people who choose
that over training on this computer.

Parameters: ``provider`` (an OpenAI or OpenAI-compatible provider's name), ``model`` (the base
model), ``dataset`` (a kept dataset's name) or ``data`` (a file in any import format, split
here with ``held_out``), ``suffix`` and ``agreed``. The training data leaves the machine, so the
job is refused offline and until the person agrees (``Error.detail`` is ``CONSENT_REQUIRED``,
its message names the host and how many examples). The held-out split goes as the validation
file. On success the fine-tuned model joins the provider's ``extra_models`` (comma-separated
text: a provider entry's values are text), so it can be chosen as ``cloud:PROVIDER:MODEL``.

The remote job's id and status are kept (``store/cloud_finetunes.py``): with ``resume`` (a
remote job id, or "" for the provider's newest unfinished one) instead of the data parameters,
the job follows a fine-tuning started earlier, by a process since closed, to its end.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.dataset_formats import write_dataset
from anyllm_desktop.core.datasets import DatasetError, Example
from anyllm_desktop.core.events import CONSENT_REQUIRED, Done, Error, Event, Progress, ResumeFrom
from anyllm_desktop.providers.cloud_formats import OpenAICompatibleProvider
from anyllm_desktop.providers.cloud_http import CloudChatProvider
from anyllm_desktop.providers.cloud_presets import KINDS, build_provider
from anyllm_desktop.providers.cloud_requests import (
    ProviderError,
    bearer_headers,
    connection_errors,
    explain,
    read_json,
    unreadable,
)
from anyllm_desktop.providers.cloud_wire import MAX_ERROR_BYTES, read_at_most
from anyllm_desktop.providers.registry import OfflineModeError, UnknownProviderError
from anyllm_desktop.services.cloud_providers import EXTRA_MODELS, extra_models
from anyllm_desktop.services.datasets import training_data
from anyllm_desktop.services.outbound import OutboundLog
from anyllm_desktop.store.cloud_finetunes import CloudFinetune, CloudFinetunes

if TYPE_CHECKING:
    from anyllm_desktop.services.jobs import JobService
    from anyllm_desktop.services.runtime import Runtime

#: Seconds between two looks at the job's state (fine-tuning takes minutes to hours).
POLL_S = 2.0
#: Looks in a row that may fail (a dropped connection, a server error) before giving up.
POLL_TRIES = 3


def cloud_finetune_job(jobs: JobService, params: dict[str, Any], cancel: CancelToken
                       ) -> Iterator[Event]:  # fmt: skip
    return finetune_events(jobs.runtime, params, cancel)


def agreement(runtime: Runtime, params: dict[str, Any]) -> Error:
    """What a new fine-tuning (not a resume) says without ``agreed``: CONSENT_REQUIRED with the
    host and how many examples would leave the machine, or the reason it cannot start at all
    (offline, an unknown provider, unusable data). No request is made."""
    events = list(finetune_events(runtime, {**params, "agreed": False}, CancelToken()))
    last = events[-1] if events else None
    return last if isinstance(last, Error) else Error("The fine-tuning cannot be started.")


def finetune_events(runtime: Runtime, params: dict[str, Any], cancel: CancelToken
                    ) -> Iterator[Event]:  # fmt: skip
    name, resume = params["provider"], params.get("resume")
    try:
        config = runtime.cloud_config(name)
        data = None if resume is not None else training_data(runtime.paths, params)
    except (OfflineModeError, UnknownProviderError, DatasetError, OSError) as exc:
        yield Error(str(exc))
        return
    kind = KINDS[config["kind"]]
    if kind.provider is not OpenAICompatibleProvider:
        yield Error(f"{name} is a {kind.label} provider, which has no fine-tuning API this app "
                    "can use. Fine-tune with an OpenAI or OpenAI-compatible provider, or on "
                    "this computer (anyllm finetune --base MODEL).")  # fmt: skip
        return
    records = CloudFinetunes(runtime.paths.home / "library.sqlite3")
    try:
        if data is None:
            remote = _resumed(records, name, str(resume))
            if isinstance(remote, str):
                yield Error(remote)
                return
            model = remote.model
        else:
            model = params["model"]
            base = config.get("base_url") or kind.base_url
            host = urlsplit(base).hostname or base
            if not params.get("agreed"):
                held = f" and {len(data.held_out)} validation examples" if data.held_out else ""
                yield Error(f"Fine-tuning {model} on {name} sends {len(data.train)} training "
                            f"examples{held} to {host}: the training data leaves this "
                            "computer. Agree to send it first (--send-to-cloud).",
                            CONSENT_REQUIRED)  # fmt: skip
                return
        try:
            provider = build_provider({**config, "model": model}, runtime.api_key(name))
        except ValueError as exc:
            yield Error(str(exc))
            return
        api = _Api(provider, OutboundLog(runtime.paths.logs_dir))
        try:
            if data is None:
                job_id = remote.remote_id
                yield Progress(
                    "cloud-finetune",
                    message=f"Following {name}'s fine-tuning job "
                    f"{job_id} of {model} (started {_when(remote.created_at)})",
                )
            else:
                job_id = yield from _start(api, records, params, data.train, data.held_out)
            yield from _poll(api, runtime, records, job_id, cancel)
        except ProviderError as exc:
            yield Error(str(exc))
        finally:
            api.close()
    finally:
        records.close()


def _resumed(records: CloudFinetunes, name: str, remote_id: str) -> CloudFinetune | str:
    """The kept job ``remote_id`` of ``name`` ("": its newest unfinished one), or why none."""
    if remote_id:
        found = records.get(name, remote_id)
        if found is None:
            known = ", ".join(j.remote_id for j in records.of_provider(name)) or "none"
            return (f"No fine-tuning job {remote_id!r} was started on {name} from this "
                    f"computer (jobs kept: {known}).")  # fmt: skip
        return found
    left = records.unfinished(name)
    if not left:
        last = records.of_provider(name)[:1]
        ended = f" (the last one, {last[0].remote_id}, {last[0].status})" if last else ""
        return (f"No fine-tuning job on {name} is left to follow{ended}. Start one with "
                "anyllm finetune --cloud PROVIDER --base MODEL --data FILE.")  # fmt: skip
    return left[0]


def _start(api: _Api, records: CloudFinetunes, params: dict[str, Any], train: list[Example],
           held: list[Example]) -> Iterator[Event]:  # fmt: skip
    """Uploads the examples and starts the job (kept in ``records``); returns its id."""
    name = api.provider.name
    body: dict[str, Any] = {"model": params["model"]}
    with tempfile.TemporaryDirectory(prefix="anyllm-finetune-") as folder:
        for field, examples in (("training_file", train), ("validation_file", held)):
            if not examples:
                continue
            yield Progress("upload", message=f"Uploading {len(examples)} examples to {name}")
            body[field] = api.upload(Path(folder) / f"{field}.jsonl", examples)
    if params.get("suffix"):
        body["suffix"] = params["suffix"]
    job = api.call("POST", "/fine_tuning/jobs", json=body)
    job_id = _text(job, "id", api)
    records.started(name, job_id, params["model"], str(job.get("status") or "queued"))
    yield ResumeFrom({"resume": job_id})  # `anyllm jobs resume` follows it from here
    yield Progress("cloud-finetune", message=f"{name} started the fine-tuning job {job_id}")
    return job_id


def _poll(api: _Api, runtime: Runtime, records: CloudFinetunes, job_id: str,
          cancel: CancelToken) -> Iterator[Event]:  # fmt: skip
    """Looks at the job until it ends (its status kept in ``records``), its new events as
    progress; a cancel cancels it there."""
    name = api.provider.name
    seen: set[str] = set()
    failures = 0
    while True:
        try:
            job = api.call("GET", f"/fine_tuning/jobs/{job_id}")
            yield from _new_events(api, job_id, seen)
            failures = 0
        except ProviderError as exc:  # the job runs on there: a failed look is tried again
            failures += 1
            if failures > POLL_TRIES:
                yield Error(f"{exc} The fine-tuning job {job_id} may still be running on "
                            f"{name}: follow it again later with anyllm finetune --cloud "
                            f"{name} --resume {job_id}.")  # fmt: skip
                return
            yield Progress("cloud-finetune", message=f"{exc} Trying again.")
            job = {}
        status = str(job.get("status") or "")
        if status == "succeeded":
            model = _text(job, "fine_tuned_model", api)
            records.update(name, job_id, status, fine_tuned_model=model)
            _add_model(runtime, name, model)
            yield Done({"provider": name, "job": job_id, "fine_tuned_model": model,
                        "trained_tokens": job.get("trained_tokens")})  # fmt: skip
            return
        if status in ("failed", "cancelled"):
            error = job.get("error") if isinstance(job.get("error"), dict) else {}
            reason = str(error.get("message") or "no reason given")[:300]
            records.update(name, job_id, status, error=reason)
            yield Error(f"The fine-tuning job {job_id} on {name} ended {status}: {reason}")
            return
        if status:
            records.update(name, job_id, status)
        if cancel.wait(POLL_S):
            api.call("POST", f"/fine_tuning/jobs/{job_id}/cancel", json={})
            records.update(name, job_id, "cancelled", error="cancelled from this computer")
            return


def _when(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))


def _new_events(api: _Api, job_id: str, seen: set[str]) -> Iterator[Progress]:
    """The job's events not shown yet, oldest first (the API lists newest first)."""
    listed = api.call("GET", f"/fine_tuning/jobs/{job_id}/events").get("data")
    for event in reversed(listed if isinstance(listed, list) else []):
        if not isinstance(event, dict) or str(event.get("id")) in seen:
            continue
        seen.add(str(event.get("id")))
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        step, total = data.get("step"), data.get("total_steps")
        counted = isinstance(step, int) and isinstance(total, int)
        text = str(event.get("message", ""))[:300]
        yield Progress("cloud-finetune", done=step if counted else 0,
                       total=total if counted else 0,
                       message=f"{api.provider.name}: {text}")  # fmt: skip


def _text(body: dict[str, Any], key: str, api: _Api) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise unreadable(api.provider.endpoint, json.dumps(body), f"no {key!r}")
    return value


def _add_model(runtime: Runtime, name: str, model: str) -> None:
    providers = []
    for config in runtime.settings.providers:
        if config["name"] == name and model not in extra_models(config):
            config = {**config, EXTRA_MODELS: ",".join([*extra_models(config), model])}
        providers.append(config)
    settings = replace(runtime.settings, providers=providers)
    runtime.settings_store.save(settings)
    runtime.settings = settings


class _Api:
    """JSON requests and one multipart upload to the provider, each in the outbound log."""

    def __init__(self, provider: CloudChatProvider, log: OutboundLog) -> None:
        import httpx

        self.provider, self.log = provider, log
        self.endpoint = provider.endpoint
        self.client = httpx.Client(timeout=self.endpoint.timeout_s, trust_env=False)

    def close(self) -> None:
        self.client.close()

    def upload(self, path: Path, examples: list[Example]) -> str:
        """The file id of the examples uploaded as chat JSONL."""
        write_dataset(examples, path, "openai")
        content = path.read_bytes()
        size = f"{len(examples)} examples, {len(content):,} bytes"
        sent = self.call("POST", "/files", data={"purpose": "fine-tune"}, size=size,
                         files={"file": (path.name, content, "application/jsonl")})  # fmt: skip
        return _text(sent, "id", self)

    def call(self, method: str, path: str, *, size: str = "", **request: Any) -> dict[str, Any]:
        url = self.endpoint.base_url.rstrip("/") + path
        if "json" in request:
            size = size or f"{len(json.dumps(request['json'])):,} bytes"
        error = "failed"
        try:
            with (
                connection_errors(self.endpoint, url),
                self.client.stream(
                    method, url, headers=bearer_headers(self.endpoint), **request
                ) as response,
            ):
                if response.status_code >= 400:
                    raw = read_at_most(response, MAX_ERROR_BYTES)[0]
                    text = raw.decode("utf-8", "replace")
                    raise ProviderError(explain(self.endpoint, response.status_code, text, 0))
                body, text = read_json(self.endpoint, response)
            if not isinstance(body, dict):
                raise unreadable(self.endpoint, text)
            error = ""
            return body
        finally:
            what = f"{method} {path}" + (f" ({size})" if size else "")
            self.log.record(self.provider, "", kind="finetune", step=what, error=error)
