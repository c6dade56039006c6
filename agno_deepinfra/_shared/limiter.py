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
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from typing import Any, Literal

from agno_deepinfra._shared.adaptive_limit import AdaptiveLimit, Clock, Ticket
from agno_deepinfra._shared.portable import reset_after_fork
from agno_deepinfra._shared.retry import server_wait

MaxConcurrency = int | Literal["auto"] | None
DEFAULT_MAX_WAIT = 60.0


def check_max_concurrency(value: object) -> None:
    """Refuse a setting that is not None, a positive int or "auto", when the object is built."""
    if value is None or value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'max_concurrency must be None (no limit), a positive int or "auto" (adaptive), not {value!r}')


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
def slot_of(limiter: Limiter | None, max_wait: float = DEFAULT_MAX_WAIT) -> AbstractContextManager[None]:
    """`limiter.slot(max_wait)`, or nothing to wait for when there is no limit."""
    return nullcontext() if limiter is None else limiter.slot(max_wait)


def aslot_of(limiter: Limiter | None, max_wait: float = DEFAULT_MAX_WAIT) -> AbstractAsyncContextManager[None]:
    """`limiter.aslot(max_wait)`, or nothing to wait for when there is no limit."""
    return nullcontext() if limiter is None else limiter.aslot(max_wait)
