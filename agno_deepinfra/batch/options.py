"""Batch mode's settings and vocabulary: what a user configures, and what the wing's modules share.

The bottom of the batch wing: plain settings (`BatchOptions`), the progress reports
(`BatchProgress`), where collected calls go (`Target`), one collected call (`Waiting`), and the
batch-mode error. The collectors live in `batch._collector`, the jobs in `batch._job`.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from openai import OpenAI

from agno_deepinfra._shared.config import logger
from agno_deepinfra._shared.errors import DeepInfraError
from agno_deepinfra._shared.retry import RetryPolicy
from agno_deepinfra.batch._journal import Account

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
MAX_REQUESTS = 50_000  # requests in one batch file (DeepInfra follows OpenAI's limit)
MAX_EMBEDDING_INPUTS = 50_000  # inputs in one embeddings batch, all requests together
BATCH_PRICE_FACTOR = 0.8  # "20% below real-time pricing" (DeepInfra's Batch API docs)
# The key of a batch answer's body (so `model_extra` in agno's `provider_data`) saying where it came from.
BATCH_DATA_KEY = "deepinfra_batch"


@dataclass(frozen=True)
class BatchProgress:
    """One status report of a batch, as logged and handed to `BatchOptions.on_progress`.

    Attributes:
        batch_id: DeepInfra's id of the batch.
        status: DeepInfra's status: `validating`, `in_progress`, `finalizing`, `completed`,
            `failed`, `expired`, `cancelling` or `cancelled`.
        completed: requests of the batch answered so far.
        failed: requests of the batch that failed so far.
        total: requests in the batch.
        endpoint: the Batch API endpoint the batch runs (`/v1/chat/completions` or `/v1/embeddings`).
        model: the model every request of the batch asks for.
    """

    batch_id: str
    status: str
    completed: int
    failed: int
    total: int
    endpoint: str
    model: str


@dataclass(eq=False)
class BatchOptions:
    """How batch mode collects, submits and waits. `batch_api=True` means `BatchOptions()`.

    Attributes:
        window: seconds to collect calls after the first one arrives before submitting them
            (finite, >= 0; 0 submits each call as it comes).
        max_requests: submit as soon as this many calls wait (an int from 1 to 50,000, DeepInfra's limit).
        poll_interval: seconds before the first status check (finite, > 0); doubled after each check.
        max_poll_interval: upper bound on the wait between checks (finite, >= poll_interval).
        journal: a file path (`~` expanded). Each submitted batch is recorded there with keyed
            fingerprints of its requests (never the key or the text), so a rerun of the same
            workload after a crash collects the batch already submitted instead of paying for it
            again. Processes sharing the path take turns under a file lock. Created 0600. See
            `batch._journal` and RELIABILITY.md, "Hardening: the batch journal".
        on_progress: called with a `BatchProgress` on each status or count change (any thread).
        progress_bar: draw a progress line on stderr; None (default) draws it when stderr is a terminal.
        sleep: the wait between status checks (`time.sleep` unless given; tests inject their own).

    One `BatchOptions` object is one collector: share it between models to share batches (they
    must use the same model id: a batch runs one model). Copies of a model share it too.
    """

    window: float = 5.0
    max_requests: int = MAX_REQUESTS
    poll_interval: float = 10.0
    max_poll_interval: float = 300.0
    journal: str | os.PathLike[str] | None = None
    on_progress: Callable[[BatchProgress], None] | None = field(default=None, repr=False)
    progress_bar: bool | None = None
    sleep: Callable[[float], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_seconds("window", self.window, zero=True)
        _check_seconds("poll_interval", self.poll_interval)
        _check_seconds("max_poll_interval", self.max_poll_interval)
        if self.max_poll_interval < self.poll_interval:
            raise ValueError(
                f"BatchOptions(max_poll_interval=...) must be >= poll_interval ({self.poll_interval!r}); "
                f"got {self.max_poll_interval!r}"
            )
        if isinstance(self.max_requests, bool) or not isinstance(self.max_requests, int):
            raise ValueError(f"BatchOptions(max_requests=...) must be an int; got {self.max_requests!r}")
        if not 1 <= self.max_requests <= MAX_REQUESTS:
            raise ValueError(
                f"BatchOptions(max_requests=...) must be between 1 and {MAX_REQUESTS}; got {self.max_requests}"
            )
        if self.journal is not None and not isinstance(self.journal, (str, os.PathLike)):
            raise ValueError(f"BatchOptions(journal=...) must be a file path or None; got {self.journal!r}")
        if self.progress_bar is not None and not isinstance(self.progress_bar, bool):
            raise ValueError(f"BatchOptions(progress_bar=...) must be True, False or None; got {self.progress_bar!r}")
        for name in ("on_progress", "sleep"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ValueError(f"BatchOptions({name}=...) must be a callable or None; got {value!r}")

    def __deepcopy__(self, memo: dict[int, Any]) -> BatchOptions:
        return self  # agno copies models and agents; the copies must keep collecting together

    def __copy__(self) -> BatchOptions:
        return self


def _check_seconds(name: str, value: object, zero: bool = False) -> None:
    """A duration setting: a finite number of seconds, > 0 (or >= 0 where `zero`)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero):  # type: ignore[operator]
        bound = ">= 0" if zero else "> 0"
        raise ValueError(f"BatchOptions({name}=...) must be a finite number of seconds {bound}; got {value!r}")


def resolve_options(value: bool | BatchOptions | None) -> BatchOptions | None:
    """`batch_api=` as given to a model: True means default options, False or None means off."""
    if value is None or value is False:
        return None
    if value is True:
        return BatchOptions()
    if isinstance(value, BatchOptions):
        return value
    raise TypeError(f"batch_api takes True, False or agno_deepinfra.BatchOptions(...); got {value!r}")


@dataclass(frozen=True)
class Target:
    """Where collected calls go, and who is asking (for clients, retries and error messages)."""

    endpoint: str
    base_url: str
    client: Callable[[], OpenAI] = field(repr=False)
    policy: RetryPolicy
    model_name: str
    # Keyed hashes of the API key: accounts never share a batch, nor a journal record.
    account: Account = field(default_factory=lambda: Account.of(""), repr=False)


def account_of(api_key: str) -> Account:
    """Keyed hashes of the key (collectors and journal records are per account; the key is never kept here)."""
    return Account.of(api_key)


def batch_error(message: str, *, model_id: str, model_name: str, status: int = 400) -> DeepInfraError:
    """A batch-mode failure; never retried by agno's loop, since a retry would submit another batch."""
    error = DeepInfraError(message=message, status_code=status, model_name=model_name, model_id=model_id)
    error.retryable = False
    return error


@dataclass
class Waiting:
    """One collected call: its body, fingerprint, weight (inputs, for embeddings) and future."""

    body: dict[str, Any]
    fingerprint: str
    weight: int
    future: Future[dict[str, Any]]


def show_progress(options: BatchOptions, progress: BatchProgress) -> None:
    """Report a status change: the log, the callback, and a progress line on a terminal."""
    logger.info(
        "DeepInfra batch %s (%s): %s, %d of %d completed, %d failed",
        progress.batch_id,
        progress.model,
        progress.status,
        progress.completed,
        progress.total,
        progress.failed,
    )
    if options.on_progress is not None:
        try:
            options.on_progress(progress)
        except Exception:  # a broken callback must not end the runs waiting on the batch
            logger.exception("BatchOptions.on_progress raised; the batch goes on")
    bar = options.progress_bar if options.progress_bar is not None else sys.stderr.isatty()
    if bar:
        done = progress.completed + progress.failed
        filled = int(30 * done / progress.total) if progress.total else 0
        line = f"\r{progress.batch_id} [{'#' * filled}{'.' * (30 - filled)}] {done}/{progress.total} {progress.status}"
        sys.stderr.write(line + ("\n" if progress.status in ("completed", "failed", "expired", "cancelled") else ""))
        sys.stderr.flush()
