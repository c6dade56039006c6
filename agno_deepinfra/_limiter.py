"""`max_concurrency`: how many HTTP requests one model, embedder or reranker keeps in flight.

DeepInfra admits a fixed number of concurrent requests per model and account (200 by default)
and answers 429 beyond it. A `Limiter` keeps one object's requests under a limit in this process,
across threads and event loops alike:

- an int is a fixed limit: the caller who knows the cap (or its share of it) sets it;
- `"auto"` learns the limit, the way TCP congestion control does (AIMD): it grows while requests
  succeed, shrinks by a tenth on a 429 and does not grow again before the server's `Retry-After`
  has passed. Processes that know nothing of each other each shrink on the 429s they draw, so
  together they settle just under the server's cap.

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
from typing import Any, Literal

from agno_deepinfra._portable import reset_after_fork

MaxConcurrency = int | Literal["auto"] | None
Clock = Callable[[], float]

# "auto": where the limit starts, its bounds, and how much a 429 takes off it.
AUTO_START = 8
AUTO_FLOOR = 1
AUTO_CEILING = 1000  # above DeepInfra's default cap of 200, for accounts with a raised one
AUTO_BACKOFF = 0.9  # Netflix concurrency-limits' AIMD default: a gentle cut keeps utilisation high


def check_max_concurrency(value: object) -> None:
    """Refuse a setting that is not None, a positive int or "auto", when the object is built."""
    if value is None or value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'max_concurrency must be None (no limit), a positive int or "auto" (adaptive), not {value!r}')


class AdaptiveLimit:
    """AIMD with slow start: +1 per success until the first 429, then +1/limit; x0.9 on a 429.

    Only one cut per round of requests: a 429 for a request sent before the last cut was already
    answered for by that cut (TCP's one-decrease-per-window rule), so a burst of 429s from one
    overshoot does not collapse the limit.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.limit = float(AUTO_START)
        self.threshold = float("inf")  # slow start below it
        self.last_cut = float("-inf")
        self.hold_until = float("-inf")  # no growth before this (the server's Retry-After)

    def on_success(self, in_flight: int) -> None:
        """A request finished well; grow unless the limit is not in use or the server asked for a pause."""
        if self.clock() < self.hold_until or 2 * (in_flight + 1) < self.limit:
            return
        self.limit += 1.0 if self.limit < self.threshold else 1.0 / self.limit
        self.limit = min(self.limit, AUTO_CEILING)

    def on_overload(self, sent_at: float, retry_after: float | None) -> None:
        """The server said 429 to a request sent at `sent_at` (this clock)."""
        now = self.clock()
        if retry_after:
            self.hold_until = max(self.hold_until, now + retry_after)
        if sent_at <= self.last_cut:
            return
        self.limit = self.threshold = max(AUTO_FLOOR, self.limit * AUTO_BACKOFF)
        self.last_cut = now

    def current(self) -> int:
        """Requests allowed in flight now."""
        return max(AUTO_FLOOR, int(self.limit))


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
        reset_after_fork(self)

    # ---------------------------------------------------------------------------- inspection

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return self.adaptive.current() if self.adaptive is not None else int(self.setting)

    @property
    def in_flight(self) -> int:
        """Requests holding a slot now."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Callers queued for a slot now."""
        return len(self._waiters)

    # ------------------------------------------------------------------------------- slots

    def acquire(self) -> float:
        """Wait in this thread for a slot; returns the time it was granted (pass it to `release`)."""
        waiter = self._enter(None)
        if waiter is not None:
            assert waiter.event is not None
            waiter.event.wait()
        return self.clock()

    async def aacquire(self) -> float:
        """Async twin of `acquire`: waits without blocking the event loop."""
        waiter = self._enter(asyncio.get_running_loop())
        if waiter is not None:
            await self._await_turn(waiter)
        return self.clock()

    def release(self, sent_at: float, error: BaseException | None = None) -> None:
        """Give a slot back, saying how its request went (a 429 is an `error` whose `status_code` is 429)."""
        with self._lock:
            self._in_flight -= 1
            if self.adaptive is not None:
                self._learn(sent_at, error)
            woken = self._grant()
        self._wake(woken)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot around a blocking request."""
        sent_at = self.acquire()
        try:
            yield
        except BaseException as error:
            self.release(sent_at, error)
            raise
        self.release(sent_at)

    @asynccontextmanager
    async def aslot(self) -> AsyncIterator[None]:
        """Hold one slot around an awaited request."""
        sent_at = await self.aacquire()
        try:
            yield
        except BaseException as error:
            self.release(sent_at, error)
            raise
        self.release(sent_at)

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
            if not self._waiters and self._in_flight < self.limit:
                self._in_flight += 1
                return None
            waiter = _Waiter(loop)
            self._waiters.append(waiter)
            return waiter

    def _learn(self, sent_at: float, error: BaseException | None) -> None:
        assert self.adaptive is not None
        if error is None:
            self.adaptive.on_success(self._in_flight)
        elif getattr(error, "status_code", None) == 429:
            self.adaptive.on_overload(sent_at, getattr(error, "retry_after", None))
        # Anything else (a 5xx, a timeout, a cancelled stream) says nothing about the cap.

    def _grant(self) -> list[_Waiter]:
        """Under the lock: hand free slots to the queue's head, in order."""
        woken = []
        while self._waiters and self._in_flight < self.limit:
            waiter = self._waiters.popleft()
            waiter.granted = True
            self._in_flight += 1
            woken.append(waiter)
        return woken

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


def new_limiter(setting: MaxConcurrency, clock: Clock = time.monotonic) -> Limiter | None:
    """The limiter for a `max_concurrency` setting (None: no limit, no limiter)."""
    check_max_concurrency(setting)
    return None if setting is None else Limiter(setting, clock)


# Without a limit, one call of the async batch methods keeps this many requests in flight (as before
# `max_concurrency` became object-wide); with one, the limiter bounds them.
DEFAULT_BATCH_FANOUT = 4


def batch_fanout(setting: MaxConcurrency, jobs: int) -> int:
    """How many of one batch call's `jobs` to start at once."""
    if setting is None:
        return DEFAULT_BATCH_FANOUT
    return jobs if setting == "auto" else min(int(setting), max(jobs, 1))


def slot_of(limiter: Limiter | None) -> AbstractContextManager[None]:
    """`limiter.slot()`, or nothing to wait for when there is no limit."""
    return nullcontext() if limiter is None else limiter.slot()


def aslot_of(limiter: Limiter | None) -> AbstractAsyncContextManager[None]:
    """`limiter.aslot()`, or nothing to wait for when there is no limit."""
    return nullcontext() if limiter is None else limiter.aslot()
