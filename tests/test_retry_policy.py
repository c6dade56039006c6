"""The embedder's and reranker's retry runner and the wait schedule, at the function boundary.

These pin what `make mutation` found unguarded in `_shared/retry.py`: how attempts are numbered, what
each wait is made of, what the retry log line and the span event say. The waits are injected
(`_shared.retry.sleep` / `_shared.retry.async_sleep`), never slept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from agno.exceptions import ModelProviderError

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraReranker
from agno_deepinfra._shared import retry as _retry
from agno_deepinfra._shared.errors import DeepInfraError, retry_after_seconds
from agno_deepinfra._shared.retry import RetryPolicy, acall_with_retries, call_with_retries, retry_delay


def failure(status: int = 503, retry_after: float | None = None) -> DeepInfraError:
    error = DeepInfraError(message=f"DeepInfra HTTP {status}", status_code=status, model_name="m", model_id="x")
    error.retryable, error.retry_after = True, retry_after
    return error


def failing(times: int, error: ModelProviderError) -> tuple[Callable[[], str], list[int]]:
    """An attempt that raises `error` `times` times, then answers "ok"; and its call log."""
    calls: list[int] = []

    def attempt() -> str:
        calls.append(len(calls))
        if len(calls) <= times:
            raise error
        return "ok"

    return attempt, calls


@pytest.fixture
def retry_events() -> list[tuple[Any, ...]]:
    """What a policy's `on_retry` callback was told (the embedder and reranker pass `note_retry`)."""
    return []


def run_with_retries(run: str, attempt: Callable[[], str], policy: RetryPolicy) -> str:
    """`call_with_retries`, or `acall_with_retries` on an async wrapper of the same attempt."""
    if run == "sync":
        return call_with_retries(attempt, policy)

    async def async_attempt() -> str:
        return attempt()

    return asyncio.run(acall_with_retries(async_attempt, policy))


@pytest.mark.parametrize("run", ["sync", "async"])
def test_the_runner_numbers_attempts_from_zero_and_doubles_each_wait(run: str, slept: list[float]) -> None:
    attempt, calls = failing(3, failure())
    assert run_with_retries(run, attempt, RetryPolicy(retries=3, delay=1.0, exponential=True)) == "ok"
    assert len(calls) == 4
    assert slept == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("run", ["sync", "async"])
def test_the_runner_gives_up_after_retries_plus_one_attempts(run: str, slept: list[float]) -> None:
    error = failure()
    attempt, calls = failing(10, error)
    with pytest.raises(DeepInfraError) as raised:
        run_with_retries(run, attempt, RetryPolicy(retries=2, delay=0.5))
    assert raised.value is error
    assert len(calls) == 3
    assert slept == [0.5, 0.5]


def test_the_wait_is_the_policys_schedule_raised_to_the_servers_capped_ask() -> None:
    policy = RetryPolicy(retries=5, delay=1.0, exponential=True, cap=10.0)
    assert policy.wait_before_retry(failure(retry_after=3.0), 0) == 3.0
    assert policy.wait_before_retry(failure(retry_after=3.0), 2) == 4.0
    assert policy.wait_before_retry(failure(retry_after=500.0), 0) == 10.0
    assert policy.wait_before_retry(failure(), 5) is None


def test_an_agno_error_without_our_fields_is_waited_for_on_schedule() -> None:
    """agno's own `ModelProviderError` has no `retry_after`: the schedule alone decides."""
    error = ModelProviderError(message="upstream failed", status_code=500, model_name="m", model_id="x")
    assert RetryPolicy(retries=1, delay=2.0).wait_before_retry(error, 0) == 2.0


def test_the_policy_reads_every_retry_field_of_its_owner() -> None:
    @dataclass
    class Owner:
        retries: int = 4
        delay_between_retries: float = 0.25
        exponential_backoff: bool = True
        max_retry_delay: float = 7.0
        retry_jitter: float = 0.5

    assert RetryPolicy.of(Owner()) == RetryPolicy(retries=4, delay=0.25, exponential=True, cap=7.0, jitter=0.5)
    assert RetryPolicy.of(Owner(retries=-3)).retries == 0
    events: list[tuple[Any, ...]] = []
    RetryPolicy.of(Owner(retry_jitter=0.0), on_retry=lambda *event: events.append(event)).wait_before_retry(
        failure(), 0
    )
    assert len(events) == 1 and events[0][1:] == (1, 0.25)  # the span hook is passed on


OWNERS = {"model": DeepInfra, "embedder": DeepInfraEmbedder, "reranker": DeepInfraReranker}


def owner_with(kind: str, max_concurrency: Any) -> Any:
    """A real model, embedder or reranker: 3 retries, 1 s doubling, and the given `max_concurrency`."""
    return OWNERS[kind](
        api_key="k", retries=3, delay_between_retries=1, exponential_backoff=True, max_concurrency=max_concurrency
    )


@pytest.mark.parametrize("kind", OWNERS)
@pytest.mark.parametrize(
    ("max_concurrency", "expected"),
    [("auto", [0.5, 0.5, 0.5]), (3, [1.0, 2.0, 4.0]), (None, [1.0, 2.0, 4.0])],
)
def test_under_auto_a_short_retry_after_is_the_whole_wait(
    kind: str, max_concurrency: Any, expected: list[float]
) -> None:
    """Under "auto" the limiter holds a retry until a slot frees: the server's ask alone, never the schedule.

    A `Retry-After` (0.5 s) shorter than the schedule (1, 2, 4 s) tells the two apart; a fixed limit or
    none waits the longer of the two.
    """
    policy = RetryPolicy.of(owner_with(kind, max_concurrency))
    assert [policy.wait_before_retry(failure(429, retry_after=0.5), n) for n in range(3)] == expected
    assert [policy.delay_before(n, 0.5) for n in range(3)] == expected


@pytest.mark.parametrize("kind", OWNERS)
def test_under_auto_the_cap_still_bounds_the_servers_ask_and_no_ask_keeps_the_schedule(kind: str) -> None:
    policy = RetryPolicy.of(owner_with(kind, "auto"))
    assert policy.delay_before(0, 3600.0) == 60.0
    assert [policy.delay_before(n, None) for n in range(3)] == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(("max_concurrency", "expected"), [("auto", [0.5, 0.5, 0.5]), (3, [1.0, 2.0, 4.0])])
def test_the_chat_models_retry_hooks_wait_as_its_policy(max_concurrency: Any, expected: list[float]) -> None:
    """agno's loop asks `_is_retryable_error` (which reads the Retry-After), then `_get_retry_delay`."""
    model = owner_with("model", max_concurrency)
    waits = []
    for attempt in range(3):
        assert model._is_retryable_error(failure(429, retry_after=0.5))
        waits.append(model._get_retry_delay(attempt))
    assert waits == expected


def test_jitter_adds_up_to_its_fraction_of_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry.random, "random", lambda: 0.5)
    assert retry_delay(0, base=2.0, exponential=False, jitter=0.2) == pytest.approx(2.2)
    assert RetryPolicy(retries=1, delay=2.0, jitter=0.2).wait_before_retry(failure(), 0) == pytest.approx(2.2)


def test_the_servers_ask_is_capped_at_sixty_seconds_by_default() -> None:
    assert retry_delay(0, base=1.0, exponential=False, server_hint=3600.0) == 60.0


def test_a_retry_is_logged_with_the_error_and_the_attempt_numbers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="agno_deepinfra")
    RetryPolicy(retries=2, delay=1.5).wait_before_retry(failure(), 1)
    assert [record.getMessage() for record in caplog.records] == [
        "DeepInfra HTTP 503 (attempt 2 of 3); retrying in 1.50s"
    ]


def test_a_retry_is_noted_on_the_span_with_the_error_attempt_and_wait(retry_events: list[tuple[Any, ...]]) -> None:
    error = failure()
    policy = RetryPolicy(retries=3, delay=1.0, exponential=True, on_retry=lambda *event: retry_events.append(event))
    policy.wait_before_retry(error, 1)
    assert retry_events == [(error, 2, 2.0)]


def test_a_final_failure_is_neither_logged_nor_noted(
    caplog: pytest.LogCaptureFixture, retry_events: list[tuple[Any, ...]]
) -> None:
    caplog.set_level(logging.WARNING, logger="agno_deepinfra")
    policy = RetryPolicy(retries=1, on_retry=lambda *event: retry_events.append(event))
    assert policy.wait_before_retry(failure(), 1) is None
    assert caplog.records == []
    assert retry_events == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "0"}, 0.0),
        ({"retry-after-ms": "0"}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: no wait
    ],
)
def test_a_zero_or_past_retry_after_asks_for_no_wait(headers: dict[str, str], expected: float) -> None:
    assert retry_after_seconds(headers, now=1_700_000_000.0) == expected


def test_the_async_wait_is_a_real_asyncio_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(seconds: float) -> None:
        asked.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", spy)
    asyncio.run(_retry.async_sleep(0.125))
    assert asked == [0.125]
