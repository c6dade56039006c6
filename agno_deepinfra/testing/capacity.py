"""DeepInfra's per-model concurrency cap: requests in flight per model, 429 beyond the limit.

DeepInfra admits 200 concurrent requests per model and account by default and answers the rest
with 429 at once. The emulator does the same, so batches that ignore the cap can be seen
failing offline. A request holds its slot from admission until its response is fully written
(or its connection dies), service time included.
"""

from __future__ import annotations

import math
import time
from collections import Counter

from agno_deepinfra.testing.errors import detail_error, status_message
from agno_deepinfra.testing.outcome import Outcome, json_response

DEFAULT_CONCURRENCY_LIMIT = 200  # DeepInfra's default per model and account
DEFAULT_RETRY_AFTER = 1.0


class ConcurrencyCap:
    """Counts requests in flight per model; `admit` says no beyond `limit` (None: no cap).

    Runs on the server's event loop only, so it needs no lock. `timeline` is every change of the
    total in flight as `(time.monotonic(), in_flight)`, for plots of a batch's shape.
    """

    def __init__(self, limit: int | None = DEFAULT_CONCURRENCY_LIMIT, retry_after: float = DEFAULT_RETRY_AFTER) -> None:
        if limit is not None and (isinstance(limit, bool) or limit < 1):
            raise ValueError(f"concurrency_limit must be None (no cap) or a positive int, not {limit!r}")
        if retry_after < 0:
            raise ValueError(f"retry_after must be >= 0 seconds, not {retry_after!r}")
        self.limit = limit
        self.retry_after = retry_after
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.timeline: list[tuple[float, int]] = []
        self.rejections: list[float] = []  # time.monotonic() of every 429 the cap answered
        self._total = 0

    def admit(self, model: str) -> Outcome | None:
        """Take a slot for `model` (None), or the 429 to answer when the model is at its cap."""
        if self.limit is not None and self.in_flight[model] >= self.limit:
            self.rejected[model] += 1
            self.rejections.append(time.monotonic())
            return self.rejection()
        self.in_flight[model] += 1
        self.peak[model] = max(self.peak[model], self.in_flight[model])
        self._moved(+1)
        return None

    def release(self, model: str) -> None:
        """Give back the slot `admit` took."""
        self.in_flight[model] -= 1
        self._moved(-1)

    def rejection(self) -> Outcome:
        """DeepInfra's 429: its body, and `Retry-After` in whole seconds (at least 1, as HTTP allows)."""
        seconds = str(max(1, math.ceil(self.retry_after))) if self.retry_after >= 1 else None
        headers = {"Retry-After": seconds} if seconds else {"retry-after-ms": str(round(self.retry_after * 1000))}
        return Outcome(json_response(429, detail_error(status_message(429)), headers))

    def reset(self) -> None:
        """Forget peaks, rejections and the timeline (requests in flight stay counted)."""
        self.peak = Counter(self.in_flight)
        self.rejected = Counter()
        self.timeline = []
        self.rejections = []

    def _moved(self, step: int) -> None:
        self._total += step
        self.timeline.append((time.monotonic(), self._total))
