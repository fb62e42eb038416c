"""Typed events that core generators yield and workers turn into Qt signals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """Work advanced: ``done`` of ``total`` units (``total`` 0 when unknown)."""

    stage: str
    done: int = 0
    total: int = 0
    message: str = ""
    #: Estimated seconds left, when it can be estimated.
    eta_s: float | None = None


@dataclass(frozen=True)
class Token:
    """A piece of generated text."""

    text: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class ResumeFrom:
    """The job got to a point a run again starts from: ``params`` join the job's own when it
    is resumed (a started cloud fine-tuning is followed, not uploaded again)."""

    params: dict[str, Any]


@dataclass(frozen=True)
class Done:
    """The operation finished; ``result`` carries what it produced, if anything."""

    result: Any = None


#: ``Error.detail`` codes the UI acts on.
CONSENT_REQUIRED = "consent-required"
LOCAL_ONLY = "local-only"
#: Prefix of the code of a library that cannot be opened ("library:damaged", "...:mismatch").
LIBRARY_PROBLEM = "library:"


@dataclass(frozen=True)
class Error:
    """The operation failed; ``message`` is written for the user, ``detail`` for the log."""

    message: str
    detail: str = ""


@dataclass(frozen=True)
class FileResult:
    """What happened to one file of an ingest."""

    path: str
    #: "indexed", "duplicate", "failed" or "cancelled".
    status: str
    document: str = ""
    chunks: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class Sources:
    """The passages an answer is about to be based on (sent before its first token)."""

    passages: list[Any]
    #: What did not fit into the context window, for the UI to say.
    notes: list[str]


@dataclass(frozen=True)
class TrainingStep:
    """One optimizer step of a training run: its loss (mean over the batch's answer tokens),
    for the live loss plot."""

    step: int
    total: int
    epoch: int
    loss: float
    tokens_per_s: float


Event = Progress | Token | Usage | Done | Error | FileResult | Sources | TrainingStep
