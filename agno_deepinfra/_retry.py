"""The retry policy, in one place: what is worth another attempt, and how long to wait first.

agno's invocation loop (`Model._invoke_with_retry` and its three twins) does the looping and the
sleeping; the model's `_is_retryable_error` and `_get_retry_delay` hooks call into this module.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from agno.exceptions import ContextWindowExceededError, ModelProviderError

# Transient by nature: timeouts, too-early, rate limits and server-side failures.
RETRYABLE_STATUS_CODES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Fail the same way on every attempt. 402 (out of funds) is DeepInfra's addition to agno's list.
NON_RETRYABLE_STATUS_CODES = frozenset({400, 401, 402, 403, 404, 413, 422})


def is_retryable(error: ModelProviderError) -> bool:
    """Whether another attempt could succeed.

    Errors raised by the plugin carry an explicit verdict (`retryable`); any other
    `ModelProviderError` follows agno's contract: client errors and context overflows are final,
    everything else is worth another try.
    """
    if isinstance(error, ContextWindowExceededError):
        return False
    verdict = getattr(error, "retryable", None)
    if verdict is not None:
        return bool(verdict)
    if error.status_code in NON_RETRYABLE_STATUS_CODES:
        return False
    message = str(error.message).lower()
    return not any(pattern in message for pattern in ModelProviderError.CONTEXT_WINDOW_PATTERNS)


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
) -> float:
    """Seconds to wait before retry number `attempt` (0-based).

    The schedule is raised to what the server asked for (`Retry-After`), the server's ask being
    capped at `cap` so a misbehaving proxy cannot park the caller for an hour. `jitter` adds up to
    that fraction of the wait at random, to spread retries from many clients.
    """
    wait = scheduled_delay(attempt, base, exponential)
    if server_hint is not None:
        wait = max(wait, min(server_hint, cap))
    if jitter > 0:
        wait += wait * jitter * (rng or random).random()
    return wait


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds asked for by `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = _number(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 and value == value else None  # reject negatives and NaN
