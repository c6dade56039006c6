"""`max_concurrency`: how many HTTP requests one model, embedder or reranker keeps in flight.

DeepInfra admits a fixed number of concurrent requests per model and account (200 by default)
and answers 429 beyond it. A `Limiter` keeps one object's requests under a limit in this process,
across threads and event loops alike:

- an int is a fixed limit: the caller who knows the cap (or its share of it) sets it;
- `"auto"` learns the limit, the way TCP congestion control does (AIMD with slow start): it grows
  while requests succeed, shrinks on a 429, sends nothing more until one of its requests succeeds
  and does not grow again before the server's `Retry-After` (capped at the owner's
  `max_retry_delay`) has passed. Processes that know nothing of each other each shrink on the
  429s they draw, so together they settle under the server's cap (see `AdaptiveLimit`).

Callers beyond the limit wait in a first-come, first-served queue; waiting never fails. Requests
are counted per HTTP attempt: a retry waits its turn again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from typing import Any, Literal, NamedTuple

from agno_deepinfra._shared.portable import reset_after_fork
from agno_deepinfra._shared.retry import server_wait

MaxConcurrency = int | Literal["auto"] | None
Clock = Callable[[], float]

# "auto": where the limit starts, its bounds, and how it moves.
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
DEFAULT_MAX_WAIT = 60.0


def check_max_concurrency(value: object) -> None:
    """Refuse a setting that is not None, a positive int or "auto", when the object is built."""
    if value is None or value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'max_concurrency must be None (no limit), a positive int or "auto" (adaptive), not {value!r}')


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


class _Waiter:
    """One caller waiting for a slot: a thread (an Event) or a task (a future on its loop)."""

    __slots__ = ("event", "future", "granted", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.granted = False
        self.loop = loop
        self.event = threading.Event() if loop is None else None
        self.future: asyncio.Future[None] | None = None if loop is None else loop.create_future()

    def wake(self) -> bool:
        """Tell the waiter its slot is ready; False when its event loop is gone."""
        if self.event is not None:
            self.event.set()
            return True
        assert self.loop is not None and self.future is not None
        try:
            self.loop.call_soon_threadsafe(_resolve, self.future)
        except RuntimeError:  # the loop was closed while its task waited
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Limiter:
    """At most `limit` requests in flight (fixed, or learned with `"auto"`), waiters served in order.

    Pickles as its setting alone (a copy in another process starts empty); `copy.deepcopy` returns
    the limiter itself, so agno's copies of a model share its limit; a forked child starts empty.
    """

    def __init__(self, setting: int | Literal["auto"], clock: Clock = time.monotonic) -> None:
        check_max_concurrency(setting)
        self.setting = setting
        self.clock = clock
        self.adaptive = AdaptiveLimit(clock) if setting == "auto" else None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiters: deque[_Waiter] = deque()
        self._timer: threading.Timer | None = None  # a pending probe or paced step (see `_grant_later`)
        reset_after_fork(self)

    # ---------------------------------------------------------------------------- inspection

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        with self._lock:
            return self._allowed()

    @property
    def in_flight(self) -> int:
        """Requests holding a slot now."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Callers queued for a slot now."""
        return len(self._waiters)

    # ------------------------------------------------------------------------------- slots

    def acquire(self) -> Ticket:
        """Wait in this thread for a slot; returns its ticket (pass it to `release`)."""
        waiter = self._enter(None)
        if waiter is not None:
            assert waiter.event is not None
            waiter.event.wait()
        return Ticket(self.clock())

    async def aacquire(self) -> Ticket:
        """Async twin of `acquire`: waits without blocking the event loop."""
        waiter = self._enter(asyncio.get_running_loop())
        if waiter is not None:
            await self._await_turn(waiter)
        return Ticket(self.clock())

    def release(self, ticket: Ticket, error: BaseException | None = None, max_wait: float = DEFAULT_MAX_WAIT) -> None:
        """Give a slot back, saying how its request went (a 429 is an `error` whose `status_code` is 429).

        `max_wait`: the owner's `max_retry_delay`; a 429's `Retry-After` holds "auto" back no longer.
        """
        with self._lock:
            self._in_flight -= 1
            if self.adaptive is not None:
                self._learn(ticket, error, max_wait)
            woken = self._grant()
        self._wake(woken)

    @contextmanager
    def slot(self, max_wait: float = DEFAULT_MAX_WAIT) -> Iterator[None]:
        """Hold one slot around a blocking request (`max_wait`: see `release`)."""
        ticket = self.acquire()
        try:
            yield
        except BaseException as error:
            self.release(ticket, error, max_wait)
            raise
        self.release(ticket)

    @asynccontextmanager
    async def aslot(self, max_wait: float = DEFAULT_MAX_WAIT) -> AsyncIterator[None]:
        """Hold one slot around an awaited request (`max_wait`: see `release`)."""
        ticket = await self.aacquire()
        try:
            yield
        except BaseException as error:
            self.release(ticket, error, max_wait)
            raise
        self.release(ticket)

    async def _await_turn(self, waiter: _Waiter) -> None:
        assert waiter.future is not None
        try:
            await waiter.future
        except asyncio.CancelledError:
            with self._lock:
                if waiter.granted:  # the slot came with the cancellation: hand it on
                    self._in_flight -= 1
                    woken = self._grant()
                else:
                    self._waiters.remove(waiter)
                    woken = []
            self._wake(woken)
            raise

    def _enter(self, loop: asyncio.AbstractEventLoop | None) -> _Waiter | None:
        """Take a slot now (None), or join the queue (the waiter to wait on)."""
        with self._lock:
            if not self._waiters and self._in_flight < self._allowed():
                self._in_flight += 1
                return None
            waiter = _Waiter(loop)
            self._waiters.append(waiter)
            self._grant_later()
            return waiter

    def _allowed(self) -> int:
        """Under the lock: requests allowed in flight now ("auto" may take a paced step of growth here)."""
        return self.adaptive.current(self._in_flight) if self.adaptive is not None else int(self.setting)

    def _learn(self, ticket: Ticket, error: BaseException | None, max_wait: float) -> None:
        assert self.adaptive is not None
        if error is None:
            self.adaptive.on_success(self._in_flight, ticket.sent_at)
        elif getattr(error, "status_code", None) == 429:
            asked = server_wait(getattr(error, "retry_after", None), max_wait)  # capped as every retry wait is
            self.adaptive.on_overload(ticket, asked, self._in_flight)
        # Anything else (a 5xx, a timeout, a cancelled stream) says nothing about the cap.

    def _grant(self) -> list[_Waiter]:
        """Under the lock: hand free slots to the queue's head, in order."""
        woken = []
        while self._waiters and self._in_flight < self._allowed():
            waiter = self._waiters.popleft()
            waiter.granted = True
            self._in_flight += 1
            woken.append(waiter)
        if self._waiters:
            self._grant_later()
        return woken

    def _grant_later(self) -> None:
        """Under the lock, callers waiting: when no release may come in time, grant again when "auto" may send.

        That is after a 429's `Retry-After` with nothing in flight (the probe), or at the next
        paced step of slow start.
        """
        if self.adaptive is None or self._timer is not None:
            return
        delay = self.adaptive.probe_in() if self._in_flight == 0 else None
        delay = self.adaptive.step_in() if delay is None else delay
        if delay is None:
            return
        self._timer = threading.Timer(delay, self._grant_now)
        self._timer.daemon = True
        self._timer.start()

    def _grant_now(self) -> None:
        with self._lock:
            self._timer = None
            woken = self._grant()
        self._wake(woken)

    def _wake(self, waiters: list[_Waiter]) -> None:
        """Wake the granted waiters; a slot granted to a task whose loop is gone goes to the next in line."""
        while waiters:
            lost = sum(not waiter.wake() for waiter in waiters)
            if not lost:
                return
            with self._lock:
                self._in_flight -= lost
                waiters = self._grant()

    # ----------------------------------------------------------------- copies, pickles, forks

    def __deepcopy__(self, memo: dict[int, Any]) -> Limiter:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Limiter, (self.setting,))

    def _after_fork(self) -> None:
        """In a forked child: nothing is in flight here, nobody waits, and the lock is new."""
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiters = deque()
        self._timer = None  # the parent's timer thread did not come along


def new_limiter(setting: MaxConcurrency, clock: Clock = time.monotonic) -> Limiter | None:
    """The limiter for a `max_concurrency` setting (None: no limit, no limiter)."""
    check_max_concurrency(setting)
    return None if setting is None else Limiter(setting, clock)


def set_limit(owner: Any, setting: MaxConcurrency) -> None:
    """Give `owner` the limiter of a new `max_concurrency` (at construction or any time later).

    Refuses a bad value (ValueError) before anything changes. An unchanged setting keeps the
    limiter, and what an `"auto"` limit learnt. Requests in flight finish on the limiter they hold
    a slot of, and callers already waiting for one keep waiting there; later calls use the new one.
    """
    check_max_concurrency(setting)
    current = getattr(owner, "_limiter", None)
    if current is not None and current.setting == setting:
        return
    owner._limiter = new_limiter(setting)


# Without a limit, one call of the async batch methods keeps this many requests in flight (as before
# `max_concurrency` became object-wide); with one, the limiter bounds them.
DEFAULT_BATCH_FANOUT = 4


def batch_fanout(setting: MaxConcurrency, jobs: int) -> int:
    """How many of one batch call's `jobs` to start at once."""
    if setting is None:
        return DEFAULT_BATCH_FANOUT
    return jobs if setting == "auto" else min(int(setting), max(jobs, 1))


def slot_of(limiter: Limiter | None, max_wait: float = DEFAULT_MAX_WAIT) -> AbstractContextManager[None]:
    """`limiter.slot(max_wait)`, or nothing to wait for when there is no limit."""
    return nullcontext() if limiter is None else limiter.slot(max_wait)


def aslot_of(limiter: Limiter | None, max_wait: float = DEFAULT_MAX_WAIT) -> AbstractAsyncContextManager[None]:
    """`limiter.aslot(max_wait)`, or nothing to wait for when there is no limit."""
    return nullcontext() if limiter is None else limiter.aslot(max_wait)
