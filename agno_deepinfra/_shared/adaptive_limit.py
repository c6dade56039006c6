"""`max_concurrency="auto"`: the limit learnt from the server, as TCP congestion control does (AIMD).

It starts at 10 (TCP's initial window, RFC 6928) and doubles every round trip while requests
succeed (slow start, paced one request at a time); a 429 cuts it once per round to a twentieth
below what is still in flight (never below half the limit the round began with); slow start
resumes after two quiet round trips. The `Limiter` (`_shared.limiter`) holds the slots; this
module holds only the arithmetic of the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

Clock = Callable[[], float]

# Where the limit starts, its bounds, and how it moves.
AUTO_START = 10  # TCP's initial window (RFC 6928): several processes starting together come in gently
AUTO_FLOOR = 1
AUTO_CEILING = 1000  # above DeepInfra's default cap of 200, for accounts with a raised one
AUTO_SLOW_START_STEP = 1.0  # + this per success: the limit doubles every round trip, as TCP
AUTO_PROBE_STEP = 0.5  # + this per round trip once the cap was met
AUTO_BACKOFF = 0.95  # paced growth overshoots by about one request: a twentieth off leaves room for it
AUTO_QUIET_ROUNDS = 2  # round trips without a 429 before slow start resumes (capacity came free)
AUTO_PAUSE = 1.0  # seconds before a probe after a 429 that carries no Retry-After
# The longest a 429's Retry-After holds "auto" back when the owner names no `max_retry_delay`
# (every owner's own default is the same 60 s).


class Ticket(NamedTuple):
    """A granted slot: when its request went out (its round trip; a 429 for one sent before the last cut is no news)."""

    sent_at: float


class AdaptiveLimit:
    """AIMD with slow start, as TCP congestion control and Netflix's concurrency-limits do.

    DeepInfra admits or refuses each request at once and queues nothing, so a 429 is the only
    signal, and it is exact: the server was full when the refused request arrived.

    - Slow start: +1 per success (the limit doubles every round trip) until the first 429, added
      one request at a time, a smoothed round trip / limit apart (TCP pacing): successes come back
      in bunches, and growth sent in a bunch would be refused in a bunch before the first 429 is
      back. Paced, an overshoot costs about one 429 per process.
    - Then: +0.5 per round trip, and slow start again after 2 round trips without a 429, so that
      capacity freed by another process (its batch ended) is taken in a few round trips.
    - A 429 cuts the limit to a twentieth below what we had in flight, once per round: a 429 for a
      request sent before the last cut belongs to the same overshoot (TCP's one-decrease-per-
      window rule). Within that round the limit follows what is still in flight, so a burst of
      429s ends at what the server actually holds of ours, but never below half the limit the
      round began with: a process that drew every 429 of a burst is not starved by it.
    - After a 429 the server is full: nothing more is sent until a request of ours succeeds (a
      slot of ours came free; TCP's ack clocking), or, with nothing in flight, until the
      server's `Retry-After` has passed, when one request probes. The limit does not grow
      before `Retry-After` has passed either.

    `benchmarks/SCALE.md` measures it: one process, and four sharing one cap.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.limit = float(AUTO_START)
        self.threshold = float("inf")  # slow start below it
        self.last_cut = float("-inf")
        self.round_floor = float(AUTO_FLOOR)  # the lowest this round's 429s may take the limit
        self.calm = 0.0  # round trips since the last 429 (successes / limit)
        self.hold_until = float("-inf")  # no growth, and no probe, before this (the server's Retry-After)
        self.blocked = False  # after a 429, until a request of ours succeeds
        self.srtt: float | None = None  # smoothed round trip of our successes (TCP's SRTT, RFC 6298)
        self.pending = 0.0  # slow-start growth earned, not yet added (see `_step`)
        self.next_step = float("-inf")

    def on_success(self, in_flight: int, sent_at: float) -> None:
        """A request sent at `sent_at` finished well; grow unless the limit is unused or the server said wait."""
        now = self.clock()
        self.blocked = False
        self.srtt = now - sent_at if self.srtt is None else 0.875 * self.srtt + 0.125 * (now - sent_at)
        if now < self.hold_until or 2 * (in_flight + 1) < self.limit:
            return
        self.calm += 1.0 / self.limit
        if self.limit < self.threshold or self.calm >= AUTO_QUIET_ROUNDS:  # slow start
            self.pending += AUTO_SLOW_START_STEP
        else:
            self.limit = min(self.limit + AUTO_PROBE_STEP / self.limit, AUTO_CEILING)

    def on_overload(self, ticket: Ticket, retry_after: float | None, in_flight: int) -> None:
        """The server said 429 to the request of `ticket`; `in_flight` of ours are still out."""
        now = self.clock()
        self.blocked = True
        self.calm = self.pending = 0.0
        self.hold_until = max(self.hold_until, now + (retry_after or AUTO_PAUSE))
        if ticket.sent_at <= self.last_cut:  # the same overshoot: follow what is still in flight
            self.limit = self.threshold = max(self.round_floor, min(self.limit, in_flight))
            return
        self.round_floor = max(AUTO_FLOOR, self.limit / 2)
        self.limit = self.threshold = max(self.round_floor, min(self.limit, in_flight) * AUTO_BACKOFF)
        self.last_cut = now

    def current(self, in_flight: int) -> int:
        """Requests allowed in flight now (see the class notes on what a 429 blocks)."""
        if not self.blocked:
            self._step()
            return max(AUTO_FLOOR, int(self.limit))
        if in_flight == 0 and self.clock() >= self.hold_until:
            return 1  # the probe
        return min(int(self.limit), in_flight)

    def probe_in(self) -> float | None:
        """Seconds until a probe may go, when blocked (None when not blocked)."""
        return max(0.0, self.hold_until - self.clock()) if self.blocked else None

    def step_in(self) -> float | None:
        """Seconds until the next paced step of slow start (None when no growth is pending)."""
        return max(0.0, self.next_step - self.clock()) if self.pending >= 1 and not self.blocked else None

    def _step(self) -> None:
        """Add one request of the growth earned, if a paced interval has passed since the last."""
        now = self.clock()
        if self.pending >= 1 and now >= self.next_step and self.srtt is not None:
            self.pending -= 1
            self.limit = min(self.limit + 1, AUTO_CEILING)
            self.next_step = now + self.srtt / self.limit
