"""One batch job on the wire: write the JSONL, upload, create, poll with backoff, hand out the answers.

Runs in a thread of its own (started by `batch._Collector`). Upload, create and every status
check go through the package's retry policy (`_retry.call_with_retries`) and error mapping
(`_errors.map_error`). Creating a batch is made idempotent: each submission carries a random
token in the batch's `metadata`, and a retried create first looks for a batch with that token,
so a create whose answer was lost is never repeated. With a journal, requests already submitted
by an earlier process are collected from that batch instead of being submitted again.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from agno.exceptions import AgnoError
from openai import OpenAI

from agno_deepinfra import catalog
from agno_deepinfra._errors import MAPPED_EXCEPTIONS, DeepInfraError, error_class, map_error, text_of
from agno_deepinfra._journal import Journal, Submission, open_journal
from agno_deepinfra._retry import call_with_retries
from agno_deepinfra.batch import (
    BATCH_PRICE_FACTOR,
    BatchOptions,
    BatchProgress,
    Target,
    Waiting,
    batch_error,
    show_progress,
)

T = TypeVar("T")
# Status checks are free and idempotent, and a batch runs for hours: a passing 503 must not end
# every run waiting on it. They get at least this many retries, whatever the owner's `retries`.
MIN_POLL_RETRIES = 5
TOKEN_KEY = "agno_deepinfra_submission"  # the batch metadata key that makes create idempotent
ENDED_BADLY = ("failed", "expired", "cancelled")


@dataclass
class _Tracked:
    """A batch being waited on, and the calls that wait for its lines."""

    token: str
    batch_id: str
    by_custom_id: dict[str, Waiting]
    last: tuple[str, int, int] | None = None
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class BatchJob:
    """Submit (or resume) and wait for the batches answering one set of collected calls."""

    def __init__(self, options: BatchOptions, target: Target, model_id: str, waiting: list[Waiting]) -> None:
        self.options = options
        self.target = target
        self.model_id = model_id
        self.waiting = waiting
        self._client: OpenAI | None = None
        self._journal: Journal | None = None
        self._claims: dict[str, list[str]] = {}  # token -> custom_ids this job took from the journal
        self._prices: tuple[float, float] | bool | None = False  # False: not looked up yet

    def run(self) -> None:
        """Do the job; any failure ends every call still waiting, never silently."""
        try:
            self._run()
        except BaseException as exc:
            error = exc if isinstance(exc, DeepInfraError) else self._wire_failure(exc)
            if isinstance(error, DeepInfraError):
                error.retryable = False  # a retry by agno's loop would submit the calls again
            for call in self.waiting:
                _settle(call.future, error=error)
            if self._journal is not None:  # unanswered requests stay collectable by a later job
                for token, custom_ids in self._claims.items():
                    self._journal.release(token, custom_ids)
        finally:
            if self._client is not None:
                self._client.close()

    def _wire_failure(self, exc: BaseException) -> BaseException:
        if isinstance(exc, MAPPED_EXCEPTIONS):
            return map_error(exc, model_id=self.model_id, model_name=self.target.model_name, secret=self._secret)
        return exc

    @property
    def _secret(self) -> str | None:
        """The key of this job's client, kept out of its errors' text (None before the client exists)."""
        return None if self._client is None else self._client.api_key

    @property
    def client(self) -> OpenAI:
        if self._client is None:
            self._client = self.target.client()
        return self._client

    # -------------------------------------------------------------------------- submit or resume

    def _run(self) -> None:
        journal = open_journal(self.options.journal) if self.options.journal is not None else None
        self._journal = journal
        fresh: list[Waiting] = list(self.waiting)
        resumed: dict[str, tuple[Submission, dict[str, Waiting]]] = {}
        if journal is not None:
            claims = journal.claim(self.target.endpoint, [call.fingerprint for call in self.waiting])
            fresh = []
            for call, claim in zip(self.waiting, claims, strict=True):
                if claim is None:
                    fresh.append(call)
                else:
                    submission, custom_id = claim
                    self._claims.setdefault(submission.token, []).append(custom_id)
                    resumed.setdefault(submission.token, (submission, {}))[1][custom_id] = call
        tracked = [self._resume(submission, calls, journal) for submission, calls in resumed.values()]
        if fresh:
            tracked.append(self._submit(fresh, journal))
        self._wait(tracked, journal)

    def _submit(self, calls: list[Waiting], journal: Journal | None) -> _Tracked:
        by_custom_id = {f"req-{index}": call for index, call in enumerate(calls)}
        lines = [
            {"custom_id": custom_id, "method": "POST", "url": self.target.endpoint, "body": call.body}
            for custom_id, call in by_custom_id.items()
        ]
        payload = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        uploaded = self._call(lambda: self.client.files.create(file=("batch.jsonl", payload), purpose="batch"))
        token = uuid.uuid4().hex
        if journal is not None:
            requests = [(call.fingerprint, custom_id) for custom_id, call in by_custom_id.items()]
            journal.submitting(Submission(token, self.target.endpoint, self.model_id, uploaded.id, requests))
            self._claims[token] = list(by_custom_id)
        batch_id = self._create(uploaded.id, token)
        if journal is not None:
            journal.submitted(token, batch_id)
        return _Tracked(token, batch_id, by_custom_id)

    def _resume(self, submission: Submission, calls: dict[str, Waiting], journal: Journal | None) -> _Tracked:
        """Collect from a batch an earlier process submitted (or finish submitting its uploaded file)."""
        batch_id = (
            submission.batch_id or self._find(submission.token) or self._create(submission.file_id, submission.token)
        )
        if journal is not None and submission.batch_id is None:
            journal.submitted(submission.token, batch_id)
        return _Tracked(submission.token, batch_id, calls)

    def _create(self, file_id: str, token: str) -> str:
        """Create the batch once: a retried create first looks for the batch an earlier attempt made."""
        attempts = 0

        def attempt() -> str:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and (found := self._find_unmapped(token)) is not None:
                return found
            batch = self.client.batches.create(
                input_file_id=file_id,
                endpoint=self.target.endpoint,  # type: ignore[arg-type]  # the SDK's Literal of endpoints
                completion_window="24h",
                metadata={TOKEN_KEY: token},
            )
            return batch.id

        return self._call(attempt)

    def _find(self, token: str) -> str | None:
        return self._call(lambda: self._find_unmapped(token))

    def _find_unmapped(self, token: str) -> str | None:
        for batch in self.client.batches.list(limit=100):
            if (batch.metadata or {}).get(TOKEN_KEY) == token:
                return batch.id
        return None

    def _call(self, attempt: Callable[[], T], min_retries: int = 0) -> T:
        """One wire call with the owner's retries (at least `min_retries`), failures mapped to agno's errors."""

        def mapped() -> T:
            try:
                return attempt()
            except MAPPED_EXCEPTIONS as exc:
                raise map_error(
                    exc, model_id=self.model_id, model_name=self.target.model_name, secret=self._secret
                ) from exc

        policy = self.target.policy
        if policy.retries < min_retries:
            policy = replace(policy, retries=min_retries)
        return call_with_retries(mapped, policy)

    # ------------------------------------------------------------------------------- waiting

    def _wait(self, tracked: list[_Tracked], journal: Journal | None) -> None:
        interval = self.options.poll_interval
        sleep = self.options.sleep or time.sleep
        while True:
            for item in tracked:
                if not item.done:
                    self._check(item, journal)
            if all(item.done for item in tracked):
                return
            sleep(interval)
            interval = min(max(interval * 2, interval), self.options.max_poll_interval)

    def _check(self, item: _Tracked, journal: Journal | None) -> None:
        batch = self._call(lambda: self.client.batches.retrieve(item.batch_id), MIN_POLL_RETRIES)
        counts = batch.request_counts
        completed, failed, total = (counts.completed, counts.failed, counts.total) if counts else (0, 0, 0)
        if item.last != (batch.status, completed, failed):
            item.last = (batch.status, completed, failed)
            progress = BatchProgress(
                batch.id, batch.status, completed, failed, total, self.target.endpoint, self.model_id
            )
            show_progress(self.options, progress)
        if batch.status not in ("completed", *ENDED_BADLY):
            return
        self._deliver(item, batch.status, batch.output_file_id, batch.error_file_id, _batch_errors(batch))
        item.done = True
        if journal is not None:
            journal.finished(item.token, batch.status)

    def _deliver(self, item: _Tracked, status: str, output: str | None, errors: str | None, why: str) -> None:
        """Answer each call from its line; calls without a line end with the batch's status."""
        for file_id in (output, errors):
            if file_id is None:
                continue
            text = self._call(lambda file_id=file_id: self.client.files.content(file_id).text, MIN_POLL_RETRIES)  # type: ignore[misc]
            for raw in text.splitlines():
                if raw.strip():
                    self._answer(item, json.loads(raw))
        for custom_id, call in item.by_custom_id.items():
            if not call.future.done():
                ending = f"ended '{status}'" + (f" ({why})" if why else "")
                if status == "completed":
                    ending = "completed without a result for this request"
                message = f"DeepInfra batch {item.batch_id} {ending} (request {custom_id})"
                error = batch_error(message, model_id=self.model_id, model_name=self.target.model_name, status=502)
                _settle(call.future, error=error)

    def _answer(self, item: _Tracked, line: dict[str, Any]) -> None:
        call = item.by_custom_id.get(str(line.get("custom_id")))
        if call is None or call.future.done():
            return
        response = line.get("response") or {}
        status = int(response.get("status_code") or 0)
        body = response.get("body")
        if 200 <= status < 300 and isinstance(body, dict) and line.get("error") is None:
            _settle(call.future, value=self._priced(body))
            return
        problem = line.get("error") or body
        text = text_of(problem) if problem is not None else "no response"
        kind, _ = error_class(status or 500, text)
        error = kind(
            message=f"DeepInfra batch {item.batch_id}, request {line.get('custom_id')}: HTTP {status}: {text[:200]}",
            status_code=status or 500,
            model_name=self.target.model_name,
            model_id=self.model_id,
        )
        error.retryable, error.detail = False, text
        _settle(call.future, error=error)

    # ------------------------------------------------------------------------------- pricing

    def _priced(self, body: dict[str, Any]) -> dict[str, Any]:
        """The line's body with `usage.estimated_cost` at the batch price (see `batch`'s docstring)."""
        usage = body.get("usage")
        if not isinstance(usage, dict):
            return body
        prices = self._catalog_prices()
        priced = dict(usage)
        if prices is None:
            priced.pop("estimated_cost", None)  # unknown, not free
        else:
            input_price, output_price = prices
            tokens_in = int(usage.get("prompt_tokens") or 0)
            tokens_out = int(usage.get("completion_tokens") or 0)
            cost = (tokens_in * input_price + tokens_out * output_price) / 1_000_000 * BATCH_PRICE_FACTOR
            priced["estimated_cost"] = round(cost, 12)
        return {**body, "usage": priced}

    def _catalog_prices(self) -> tuple[float, float] | None:
        if self._prices is False:
            self._prices = None
            try:
                models = catalog.list_models(api_key=self.client.api_key, base_url=self.target.base_url)
            except AgnoError as error:
                catalog.logger.warning("DeepInfra batch: no catalog prices (%s); costs are left unknown", error)
                return None
            for info in models:
                if info.id == self.model_id and info.pricing.input_per_million is not None:
                    self._prices = (info.pricing.input_per_million, info.pricing.output_per_million or 0.0)
        return self._prices if self._prices is not False else None  # type: ignore[return-value]


def _settle(
    future: Future[dict[str, Any]], value: dict[str, Any] | None = None, error: BaseException | None = None
) -> None:
    """Resolve a call's future, unless its run gave up waiting (an async run cancelled meanwhile)."""
    with contextlib.suppress(InvalidStateError):
        if error is not None:
            future.set_exception(error)
        elif value is not None:
            future.set_result(value)


def _batch_errors(batch: Any) -> str:
    errors = getattr(batch, "errors", None)
    data = getattr(errors, "data", None) or []
    return "; ".join(f"line {item.line}: {item.message}" if item.line else str(item.message) for item in data[:3])
