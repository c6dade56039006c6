"""One batch job on the wire: write the JSONL, upload, create, poll with backoff, hand out the answers.

Runs in a thread of its own (started by `batch._Collector`). Upload, create and every status
check go through the package's retry policy (`_shared.retry.call_with_retries`) and error mapping
(`_shared.errors.map_error`). Creating a batch is made idempotent: each submission carries a random
token in the batch's `metadata`, and a retried create first looks for a batch with that token,
so a create whose answer was lost is never repeated. With a journal, requests already submitted
by an earlier process are collected from that batch instead of being submitted again: claiming,
finishing an earlier process's submission and submitting all happen under the journal's lock, so
processes sharing a journal never submit the same work. A recorded batch DeepInfra no longer knows
(404) is submitted again, once, with a warning. Each answer says in its body's `BATCH_DATA_KEY`
which batch it came from and whether it is `replayed` (an earlier run already received it, and
counted its cost: a replay's `estimated_cost` is 0).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

import openai
from agno.exceptions import AgnoError
from openai import OpenAI

from agno_deepinfra import catalog
from agno_deepinfra._shared.config import logger
from agno_deepinfra._shared.error_text import error_text
from agno_deepinfra._shared.errors import MAPPED_EXCEPTIONS, DeepInfraError, map_error
from agno_deepinfra._shared.retry import call_with_retries
from agno_deepinfra.batch._journal import Journal, Submission, open_journal, plain_url
from agno_deepinfra.batch._lines import Asker, batch_errors, outcome, priced, result_lines, settle
from agno_deepinfra.batch.options import BatchOptions, BatchProgress, Target, Waiting, batch_error, show_progress

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
                settle(call.future, error=error)
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
        if self.options.journal is None:
            self._wait([self._submit(self.waiting, None)], None)
            return
        journal = self._journal = open_journal(self.options.journal)
        with journal.locked():  # no other process claims or submits meanwhile
            tracked = self._claim_and_submit(journal)
        self._wait(tracked, journal)

    def _claim_and_submit(self, journal: Journal) -> list[_Tracked]:
        account, base_url = self.target.account.id, plain_url(self.target.base_url)
        fingerprints = [call.fingerprint for call in self.waiting]
        claims = journal.claim(account, base_url, self.target.endpoint, fingerprints)
        fresh: list[Waiting] = []
        resumed: dict[str, tuple[Submission, dict[str, Waiting]]] = {}
        for call, claim in zip(self.waiting, claims, strict=True):
            if claim is None:
                fresh.append(call)
            else:
                submission, custom_id = claim
                self._claims.setdefault(submission.token, []).append(custom_id)
                resumed.setdefault(submission.token, (submission, {}))[1][custom_id] = call
        tracked = []
        for submission, calls in resumed.values():
            item = self._resume(submission, calls, journal)
            if item is None:  # DeepInfra no longer knows it: submit its requests again, once
                fresh.extend(calls.values())
            else:
                tracked.append(item)
        if fresh:
            order = {id(call): index for index, call in enumerate(self.waiting)}
            tracked.append(self._submit(sorted(fresh, key=lambda call: order[id(call)]), journal))
        return tracked

    def _submit(self, calls: list[Waiting], journal: Journal | None) -> _Tracked:
        by_custom_id = {f"req-{index}": call for index, call in enumerate(calls)}
        lines = [
            {"custom_id": custom_id, "method": "POST", "url": self.target.endpoint, "body": call.body}
            for custom_id, call in by_custom_id.items()
        ]
        payload = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        uploaded = self._call(
            lambda: self.client.files.create(file=("batch.jsonl", payload), purpose="batch"), subject="a file upload"
        )
        token = uuid.uuid4().hex
        if journal is not None:
            requests = [(call.fingerprint, custom_id) for custom_id, call in by_custom_id.items()]
            account, base_url = self.target.account.id, plain_url(self.target.base_url)
            submission = Submission(
                token, self.target.endpoint, self.model_id, uploaded.id, requests, account, base_url
            )
            journal.submitting(submission)
            self._claims[token] = list(by_custom_id)
        batch_id = self._create(uploaded.id, token)
        if journal is not None:
            journal.submitted(token, batch_id)
        return _Tracked(token, batch_id, by_custom_id)

    def _resume(self, submission: Submission, calls: dict[str, Waiting], journal: Journal) -> _Tracked | None:
        """Collect from a batch an earlier process submitted (or finish submitting its uploaded file).

        None when DeepInfra does not know the batch (or its file) any more: the submission is marked
        lost, so no process collects it again, and its requests go into a new batch.
        """
        try:
            if submission.batch_id is not None:
                batch_id = submission.batch_id
                self._call(lambda: self.client.batches.retrieve(batch_id), subject=f"batch {batch_id}")
            else:
                batch_id = self._find(submission.token) or self._create(submission.file_id, submission.token)
                journal.submitted(submission.token, batch_id)
        except DeepInfraError as error:
            if error.status_code != 404:
                raise
            logger.warning(
                "DeepInfra batch journal %s, line %d: %s (another server or account, or a deleted batch); its %d "
                "requests of this run are submitted again",
                journal.path,
                submission.line,
                error.message,
                len(calls),
            )
            journal.finished(submission.token, "lost")
            return None
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

        return self._call(attempt, subject=f"file {file_id} (a batch's input)")

    def _find(self, token: str) -> str | None:
        return self._call(lambda: self._find_unmapped(token), subject="the list of batches")

    def _find_unmapped(self, token: str) -> str | None:
        for batch in self.client.batches.list(limit=100):
            if (batch.metadata or {}).get(TOKEN_KEY) == token:
                return batch.id
        return None

    def _call(self, attempt: Callable[[], T], min_retries: int = 0, *, subject: str) -> T:
        """One wire call with the owner's retries (at least `min_retries`), failures mapped to agno's errors.

        A 404 means DeepInfra does not know `subject` (a batch or file id from a journal, another
        server's, or deleted): said so, never with the model-id hint of a model call's 404.
        """

        def mapped() -> T:
            try:
                return attempt()
            except openai.NotFoundError as exc:
                text = error_text(exc.response)[:200]
                message = f"DeepInfra does not know {subject} (HTTP 404: {text})"
                raise batch_error(
                    message, model_id=self.model_id, model_name=self.target.model_name, status=404
                ) from exc
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
        try:
            batch = self._call(
                lambda: self.client.batches.retrieve(item.batch_id), MIN_POLL_RETRIES, subject=f"batch {item.batch_id}"
            )
        except DeepInfraError as error:
            self._note_lost(item, journal, error)
            raise
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
        try:
            lines = self._lines(item, batch.output_file_id, batch.error_file_id)
        except DeepInfraError as error:
            self._note_lost(item, journal, error)
            raise
        self._deliver(item, batch.status, lines, batch_errors(batch), journal)
        item.done = True

    def _note_lost(self, item: _Tracked, journal: Journal | None, error: DeepInfraError) -> None:
        """A 404 while waiting: DeepInfra forgot the batch or its results. Say so; a rerun submits again."""
        if error.status_code != 404:
            return
        if journal is None:
            error.message += "; its runs cannot be answered"
        else:
            journal.finished(item.token, "lost")
            error.message += f"; journal {journal.path} marks it lost, so a rerun submits its requests again"

    def _lines(self, item: _Tracked, output: str | None, errors: str | None) -> dict[str, dict[str, Any]]:
        """The result line of each custom_id this job waits for, from the output and error files."""

        def content(file_id: str) -> str:
            return self.client.files.content(file_id).text

        texts = [
            self._call(
                partial(content, file_id), MIN_POLL_RETRIES, subject=f"file {file_id} (batch {item.batch_id}'s results)"
            )
            for file_id in (output, errors)
            if file_id is not None
        ]
        return result_lines(texts, item.by_custom_id)

    def _deliver(
        self, item: _Tracked, status: str, lines: dict[str, dict[str, Any]], why: str, journal: Journal | None
    ) -> None:
        """Answer each call from its line; calls without a line end with the batch's status.

        With a journal the outcome is recorded before the runs get it: the lines answered (a later
        run replays them at no cost) and those that failed for a passing reason (a later run submits
        them again).
        """
        who = Asker(self.target.model_name, self.model_id, journal is not None)
        outcomes = {
            custom_id: outcome(who, item.batch_id, custom_id, lines.get(custom_id), status, why)
            for custom_id in item.by_custom_id
        }
        replayed: set[str] = set()
        if journal is not None:
            answered = [custom_id for custom_id, (body, _, _) in outcomes.items() if body is not None]
            retry = [custom_id for custom_id, (_, _, passing) in outcomes.items() if passing]
            with journal.locked():
                replayed = journal.delivered(item.token) & set(answered)
                journal.finished(item.token, status, answered, retry)
        for custom_id, (body, error, _) in outcomes.items():
            future = item.by_custom_id[custom_id].future
            if body is not None:
                was_replayed = custom_id in replayed
                prices = None if was_replayed else self._catalog_prices()
                settle(future, value=priced(body, prices, item.batch_id, custom_id, was_replayed))
            else:
                settle(future, error=error)

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
