"""The retry policy, in one place: what is worth another attempt, and how long to wait first.

agno's invocation loop (`Model._invoke_with_retry` and its three twins) does the looping and the
sleeping; the model's `_is_retryable_error` and `_get_retry_delay` hooks call into this module.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from agno.exceptions import ModelProviderError

from agno_deepinfra._shared.config import logger
from agno_deepinfra._shared.errors import is_retryable


def scheduled_delay(attempt: int, base: float, exponential: bool) -> float:
    """The documented schedule: `base * 2**attempt` with exponential backoff, else `base`."""
    return base * (2**attempt) if exponential else base


def retry_delay(
    attempt: int,
    *,
    base: float,
    exponential: bool,
    server_hint: float | None = None,
    cap: float = 60.0,
    jitter: float = 0.0,
    rng: random.Random | None = None,
    paced: bool = False,
) -> float:
    """Seconds to wait before retry number `attempt` (0-based).

    The schedule is raised to what the server asked for (`Retry-After`), the server's ask being
    capped at `cap` so a misbehaving proxy cannot park the caller for an hour. `jitter` adds up to
    that fraction of the wait at random, to spread retries from many clients. `paced` (an
    adaptive limit, `max_concurrency="auto"`, keeps the requests under the server's cap): the
    server's ask is the whole wait, because the limiter already holds the retry back until a slot
    comes free, and a growing schedule on top would leave freed slots idle.
    """
    wait = scheduled_delay(attempt, base, exponential)
    asked = server_wait(server_hint, cap)
    if asked is not None:
        wait = asked if paced else max(wait, asked)
    if jitter > 0:
        wait += wait * jitter * (rng or random).random()
    return wait


def server_wait(server_hint: float | None, cap: float) -> float | None:
    """The wait the server asked for (`Retry-After`), capped at `cap` (`max_retry_delay`); None if it asked none.

    The one cap on a server's ask, for the retry waits and for the `"auto"` limiter's hold alike:
    a misbehaving proxy (`Retry-After: 100000`, or `inf`) cannot park a caller for longer.
    """
    return None if server_hint is None else min(server_hint, cap)


# ---------------------------------------------------------------------------------------------
# The embedder's and the reranker's retry loop. The chat model retries through agno's invocation
# loop; the embedder and reranker own their HTTP calls, so they share this runner instead. Both
# loops classify with `is_retryable` and wait `retry_delay`, so every class retries alike.

T = TypeVar("T")

# Looked up at every wait (never bound at import), so tests replace these two names
# (`monkeypatch.setattr(agno_deepinfra._shared.retry, "sleep", ...)`) instead of sleeping, without
# touching `time.sleep` or `asyncio.sleep` for the rest of the process.
sleep: Callable[[float], None] = time.sleep


async def async_sleep(seconds: float) -> None:
    """The async runner's wait: `asyncio.sleep`, behind a name of this module's own."""
    await asyncio.sleep(seconds)


# The one list of the retry settings and their defaults. `DeepInfra`, `DeepInfraEmbedder`,
# `DeepInfraReranker` and `DeepInfraTools` sit on four different agno bases (a dataclass model, a
# dataclass embedder, a pydantic reranker, a toolkit's `__init__`), so each declares them its
# base's way; tests/test_retry_settings.py checks the four declare exactly these, alike.
RETRY_DEFAULTS: dict[str, object] = {
    "retries": 0,
    "delay_between_retries": 1.0,
    "exponential_backoff": False,
    "max_retry_delay": 60.0,
    "retry_jitter": 0.0,
}


class RetrySettings(Protocol):
    """The retry fields shared by `DeepInfra`, `DeepInfraEmbedder`, `DeepInfraReranker` and the media tools."""

    retries: int
    delay_between_retries: float
    exponential_backoff: bool
    max_retry_delay: float
    retry_jitter: float


def check_retry_settings(owner: RetrySettings) -> None:
    """Refuse retry settings that cannot work, naming the field, when the object is built.

    `retries` is a whole number >= 0; `delay_between_retries`, `max_retry_delay` and `retry_jitter`
    are finite numbers >= 0 (a negative, NaN or infinite wait would raise mid-run or hang).

    Raises:
        ValueError: the first setting that is wrong, its value and what it must be.
    """
    retries = owner.retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")
    for name, what in _WAIT_SETTINGS.items():
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ValueError(f"{name} must be a finite number >= 0 ({what}), got {value!r}")


_WAIT_SETTINGS = {
    "delay_between_retries": "seconds before a retry",
    "max_retry_delay": "the most seconds a server's Retry-After may make a retry wait",
    "retry_jitter": "the fraction of each wait added at random",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How many retries, and how long to wait before each (see `retry_delay`)."""

    retries: int = 0
    delay: float = 1.0
    exponential: bool = False
    cap: float = 60.0
    jitter: float = 0.0
    paced: bool = False  # see `retry_delay`
    # Told of every retry (the error, the attempt it follows, the wait): the embedder's and
    # reranker's spans record retries as events through it (`tracing.note_retry`).
    on_retry: Callable[[Exception, int, float], None] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, owner: RetrySettings, on_retry: Callable[[Exception, int, float], None] | None = None) -> RetryPolicy:
        """The policy configured on a model, embedder or reranker."""
        return cls(
            on_retry=on_retry,
            retries=max(0, owner.retries),
            delay=owner.delay_between_retries,
            exponential=owner.exponential_backoff,
            cap=owner.max_retry_delay,
            jitter=owner.retry_jitter,
            paced=getattr(owner, "max_concurrency", None) == "auto",  # the tools and batch jobs have no limiter
        )

    def delay_before(self, attempt: int, server_hint: float | None) -> float:
        """Seconds before retry `attempt` (0-based), given the server's `Retry-After` (see `retry_delay`)."""
        return retry_delay(
            attempt,
            base=self.delay,
            exponential=self.exponential,
            server_hint=server_hint,
            cap=self.cap,
            jitter=self.jitter,
            paced=self.paced,
        )

    def wait_before_retry(self, error: ModelProviderError, attempt: int) -> float | None:
        """Seconds to wait after failed attempt `attempt` (0-based), or None when that failure is final."""
        if attempt >= self.retries or not is_retryable(error):
            return None
        wait = self.delay_before(attempt, getattr(error, "retry_after", None))
        logger.warning("%s (attempt %d of %d); retrying in %.2fs", error, attempt + 1, self.retries + 1, wait)
        if self.on_retry is not None:
            self.on_retry(error, attempt + 1, wait)
        return wait


def call_with_retries(attempt: Callable[[], T], policy: RetryPolicy) -> T:
    """Call `attempt` until it succeeds, at most `policy.retries + 1` times.

    Only `ModelProviderError`s that `is_retryable` accepts are retried; anything else (an
    authentication error, a bug) propagates at once, as does the last failure.
    """
    number = 0
    while True:
        try:
            return attempt()
        except ModelProviderError as error:
            wait = policy.wait_before_retry(error, number)
            if wait is None:
                raise
        sleep(wait)
        number += 1


async def acall_with_retries(attempt: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """Async twin of `call_with_retries`: same classification, same waits, awaited."""
    number = 0
    while True:
        try:
            return await attempt()
        except ModelProviderError as error:
            wait = policy.wait_before_retry(error, number)
            if wait is None:
                raise
        await async_sleep(wait)
        number += 1
