"""`max_concurrency`: the limiter (threads, loops, order, cancellation, AIMD, the Retry-After cap), injected clocks."""

from __future__ import annotations

import asyncio
import copy
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import zip_longest

import pytest
from agno.agent import Agent
from agno.exceptions import AgnoError, ModelRateLimitError
from agno.run.agent import RunOutput
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra, DeepInfraEmbedder
from agno_deepinfra._shared.adaptive_limit import AUTO_START, AdaptiveLimit, Ticket
from agno_deepinfra._shared.errors import DeepInfraRateLimitError
from agno_deepinfra._shared.http import batch_fanout
from agno_deepinfra._shared.limiter import Limiter, check_max_concurrency
from agno_deepinfra.testing import DeepInfraEmulator, Fault


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rate_limited(retry_after: float | None = None) -> DeepInfraRateLimitError:
    error = DeepInfraRateLimitError(message="HTTP 429", status_code=429, model_name="DeepInfra")
    error.retry_after = retry_after
    return error


class Gauge:
    """Counts holders of a slot and remembers the most at once."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "fast", True])
def test_a_bad_setting_is_refused_with_the_choices(bad: object) -> None:
    with pytest.raises(ValueError, match=r'None \(no limit\), a positive int or "auto"'):
        check_max_concurrency(bad)


def test_a_fixed_limit_holds_across_threads_and_event_loops() -> None:
    limiter, gauge = Limiter(3), Gauge()

    async def one() -> None:
        async with limiter.aslot():
            gauge.enter()
            for _ in range(3):
                await asyncio.sleep(0)
            gauge.leave()

    def loop_of_tasks() -> None:
        async def main() -> None:
            await asyncio.gather(*(one() for _ in range(20)))

        asyncio.run(main())

    def blocking_caller() -> None:
        for _ in range(5):
            with limiter.slot():
                gauge.enter()
                gauge.leave()

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(loop_of_tasks) for _ in range(3)] + [pool.submit(blocking_caller) for _ in range(3)]
        for future in futures:
            future.result()
    assert 1 <= gauge.peak <= 3
    assert limiter.in_flight == 0 and limiter.waiting == 0


async def test_waiters_are_served_in_arrival_order() -> None:
    limiter = Limiter(1)
    first = await limiter.aacquire()
    order: list[int] = []

    async def waiter(number: int) -> None:
        sent_at = await limiter.aacquire()
        order.append(number)
        limiter.release(sent_at)

    tasks = [asyncio.create_task(waiter(number)) for number in range(10)]
    await asyncio.sleep(0)  # one turn of the loop: every task runs to its wait, in creation order
    assert limiter.waiting == 10
    limiter.release(first)
    await asyncio.gather(*tasks)
    assert order == list(range(10))


async def test_a_cancelled_waiter_leaves_the_queue_and_loses_no_slot() -> None:
    limiter = Limiter(1)
    held = await limiter.aacquire()
    cancelled = asyncio.create_task(limiter.aacquire())
    patient = asyncio.create_task(limiter.aacquire())
    await asyncio.sleep(0)
    assert limiter.waiting == 2
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    limiter.release(held)
    limiter.release(await patient)  # the slot went to the next in line
    assert (limiter.in_flight, limiter.waiting) == (0, 0)


async def test_a_slot_granted_to_a_task_cancelled_meanwhile_passes_to_the_next() -> None:
    limiter = Limiter(1)
    held = await limiter.aacquire()
    unlucky = asyncio.create_task(limiter.aacquire())
    patient = asyncio.create_task(limiter.aacquire())
    await asyncio.sleep(0)
    assert limiter.waiting == 2
    limiter.release(held)  # granted to `unlucky`, whose wake-up is still queued on the loop...
    unlucky.cancel()  # ...when it is cancelled
    with pytest.raises(asyncio.CancelledError):
        await unlucky
    limiter.release(await patient)
    assert (limiter.in_flight, limiter.waiting) == (0, 0)


def test_a_waiting_thread_never_fails_for_waiting() -> None:
    limiter = Limiter(1)
    held = limiter.acquire()
    got: list[float] = []
    thread = threading.Thread(target=lambda: got.append(limiter.acquire()))
    thread.start()
    while limiter.waiting < 1:
        threading.Event().wait(0.001)
    assert not got  # still waiting, not failed
    limiter.release(held)
    thread.join()
    limiter.release(got[0])
    assert limiter.in_flight == 0


def test_auto_starts_at_10_and_doubles_per_round_trip_one_request_at_a_time() -> None:
    """Slow start is paced: the growth a bunch of successes earns goes out a round trip / limit apart."""
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    assert limit.current(in_flight=0) == AUTO_START == 10
    for _ in range(AUTO_START):  # one round trip of successes, back together
        limit.on_success(in_flight=AUTO_START, sent_at=clock.now - 0.5)
    assert limit.current(in_flight=0) == 11  # one more now ...
    assert limit.current(in_flight=0) == 11  # ... not the whole bunch
    assert limit.step_in() == pytest.approx(0.5 / 11)
    for _ in range(9):
        clock.now += limit.step_in() or 0.0
        limit.current(in_flight=0)
    assert limit.current(in_flight=0) == 20 and limit.step_in() is None  # doubled, within the round trip


def test_a_429_drops_the_growth_not_yet_sent() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    for _ in range(AUTO_START):
        limit.on_success(in_flight=AUTO_START, sent_at=clock.now - 0.5)
    assert limit.current(in_flight=0) == 11
    limit.on_overload(Ticket(clock.now), retry_after=1.0, in_flight=11)
    clock.now += 5
    limit.on_success(in_flight=10, sent_at=clock.now - 0.5)
    assert limit.current(in_flight=0) == 10 and limit.step_in() is None


def test_a_burst_of_429s_ends_at_what_the_server_holds_of_ours() -> None:
    """Slow start overshot a cap of 40 with 60 in flight: the 429s come back one by one."""
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    limit.limit = 60.0
    sent = clock.now
    clock.now += 0.01
    limit.on_overload(Ticket(sent), retry_after=1.0, in_flight=59)  # the first: a twentieth below what was out
    assert int(limit.limit) == 56
    for in_flight in range(58, 39, -1):  # the rest of the same overshoot
        limit.on_overload(Ticket(sent), retry_after=1.0, in_flight=in_flight)
    assert limit.limit == 40


def test_a_burst_of_429s_never_takes_the_limit_below_half() -> None:
    """A process that drew every 429 of a burst (none of its requests was admitted) keeps half its limit."""
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    limit.limit = 20.0
    sent = clock.now
    for in_flight in range(19, -1, -1):
        clock.now += 0.001
        limit.on_overload(Ticket(sent), retry_after=1.0, in_flight=in_flight)
    assert limit.limit == 10


def test_later_429s_cut_a_twentieth_once_per_round_then_it_probes_slowly() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    limit.limit = limit.threshold = 50.0  # out of slow start
    sent_before_cut = clock.now
    clock.now += 1
    limit.on_overload(Ticket(clock.now), retry_after=0.5, in_flight=50)
    assert limit.limit == 47.5
    limit.on_overload(Ticket(sent_before_cut), retry_after=0.5, in_flight=50)  # the same overshoot: no second cut
    assert limit.limit == 47.5
    clock.now += 1  # past Retry-After
    for _ in range(90):  # two round trips of successes, less one: +0.5 per round trip
        limit.on_success(in_flight=47, sent_at=clock.now - 0.5)
    assert limit.current(in_flight=47) == 48


def test_slow_start_resumes_after_two_round_trips_without_a_429() -> None:
    """Capacity came free (another process's batch ended): the limit grows fast again."""
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    limit.limit = limit.threshold = 20.0
    limit.on_overload(Ticket(clock.now + 1), retry_after=0.5, in_flight=20)
    clock.now += 1
    assert limit.limit == 19
    for _ in range(2 * 19 - 1):  # just under two round trips: probing, +0.5 per round trip
        limit.on_success(in_flight=19, sent_at=clock.now - 0.5)
    assert 19 < limit.limit < 20.5 and limit.step_in() is None
    for _ in range(19):  # the third: slow start again
        limit.on_success(in_flight=19, sent_at=clock.now - 0.5)
    assert limit.step_in() is not None and limit.pending >= 15  # +1 per success, sent paced


def test_after_a_429_nothing_is_sent_until_a_request_succeeds_or_retry_after_passes() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    limit.on_overload(Ticket(clock.now), retry_after=2.0, in_flight=10)
    assert limit.current(in_flight=10) == 9  # of the 10 still in flight, none is replaced until one succeeds
    assert limit.current(in_flight=0) == 0  # the server is full: no probe before Retry-After
    assert limit.probe_in() == 2.0
    clock.now += 2.0
    assert limit.current(in_flight=0) == 1  # one probe
    limit.on_success(in_flight=0, sent_at=clock.now - 0.5)
    assert limit.current(in_flight=0) == int(limit.limit) and limit.probe_in() is None


def test_auto_does_not_grow_before_retry_after_has_passed() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    limit.on_overload(Ticket(clock.now), retry_after=2.0, in_flight=10)
    before = limit.limit
    limit.on_success(in_flight=100, sent_at=clock.now - 0.5)
    assert limit.limit == before
    clock.now += 2.0
    limit.on_success(in_flight=100, sent_at=clock.now - 0.5)
    assert limit.limit > before


def test_auto_does_not_grow_a_limit_it_does_not_use() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(clock)
    for _ in range(100):
        limit.on_success(in_flight=1, sent_at=clock.now - 0.5)
        clock.now += 1
    assert limit.current(in_flight=1) == AUTO_START


def test_a_blocked_limiter_with_nothing_in_flight_probes_when_retry_after_ends() -> None:
    """The probe needs no caller to come along: a timer grants it (here after 50 ms of real time)."""
    limiter = Limiter("auto")
    limiter.release(limiter.acquire(), rate_limited(retry_after=0.05))
    got: list[Ticket] = []
    thread = threading.Thread(target=lambda: got.append(limiter.acquire()))
    thread.start()
    thread.join(30)
    assert got and limiter.in_flight == 1  # granted, never failed
    limiter.release(got[0])


def test_the_limiter_learns_from_429s_and_ignores_other_failures() -> None:
    limiter = Limiter("auto", clock=FakeClock())
    assert limiter.adaptive is not None
    limiter.adaptive.limit = limiter.adaptive.threshold = 20.0
    limiter.release(limiter.acquire(), ValueError("a bug, not the cap"))
    assert limiter.limit == 20
    assert isinstance(rate_limited(), ModelRateLimitError)
    held = [limiter.acquire() for _ in range(16)]
    limiter.release(held.pop(), rate_limited())  # 15 still in flight: a twentieth below them
    assert limiter.adaptive.limit == pytest.approx(14.25)
    for ticket in held:
        limiter.release(ticket)


def test_independent_auto_limiters_converge_to_share_the_server_cap() -> None:
    """Four processes' limiters, each seeing only its own 429s, against one cap of 100 (simulated rounds)."""
    cap, clock = 100, FakeClock()
    limiters = [Limiter("auto", clock=clock) for _ in range(4)]
    totals: list[int] = []
    for _round in range(300):
        clock.now += 1
        batches = [[(limiter, limiter.acquire()) for _ in range(limiter.limit)] for limiter in limiters]
        arrivals = [request for wave in zip_longest(*batches) for request in wave if request is not None]
        for limiter, ticket in arrivals[cap:]:  # interleaved; the surplus is refused at once ...
            limiter.release(ticket, rate_limited(retry_after=None))
        for limiter, ticket in arrivals[:cap]:  # ... the admitted ones finish a service time later
            limiter.release(ticket)
        totals.append(len(arrivals))
    settled = totals[100:]
    assert 0.85 * cap <= sum(settled) / len(settled) <= 1.10 * cap
    assert all(limiter.limit >= cap // 8 for limiter in limiters), [limiter.limit for limiter in limiters]


def test_copies_share_the_limit_and_pickles_carry_only_the_setting() -> None:
    limiter = Limiter(2)
    held = limiter.acquire()
    assert copy.deepcopy(limiter) is limiter
    travelled = pickle.loads(pickle.dumps(limiter))
    assert (travelled.setting, travelled.in_flight, travelled.limit) == (2, 0, 2)
    limiter.release(held)


def test_batch_fanout_keeps_the_old_default_without_a_limit() -> None:
    assert batch_fanout(None, 100) == 4
    assert batch_fanout(8, 100) == 8
    assert batch_fanout("auto", 100) == 100


# ------------------------------------------------- Retry-After capped at max_retry_delay


@pytest.mark.parametrize("asked", [100_000.0, float("inf")])
async def test_auto_holds_back_no_longer_than_max_wait_sync_and_async(asked: float) -> None:
    """A 429 asking for a day (or forever) blocks "auto" for `max_wait` only, as every retry wait is capped."""
    clock = FakeClock()
    limiter = Limiter("auto", clock=clock)
    limiter.release(limiter.acquire(), rate_limited(retry_after=asked), max_wait=5.0)
    assert limiter.limit == 0  # blocked: the server is full, nothing of ours in flight to wait for
    clock.now += 5.0
    assert limiter.limit == 1  # the probe may go at the cap, not after the server's ask
    limiter.release(limiter.acquire())  # a thread's turn comes at once ...
    assert limiter.limit >= 1
    limiter.release(await limiter.aacquire())  # ... and a task's


@pytest.mark.parametrize("asked", ["100000", "inf"])
async def test_a_models_max_retry_delay_caps_what_a_429_holds_its_auto_limit(
    emu: DeepInfraEmulator, asked: str
) -> None:
    """Through agno's Agent, sync and async: after one 429 asking for ages, the next run goes once the cap passed."""
    clock = FakeClock()
    model = DeepInfra(
        id="meta-llama/Meta-Llama-3.1-8B-Instruct",
        base_url=emu.base_url,
        api_key=emu.api_key,
        max_concurrency="auto",
        max_retry_delay=5.0,
    )
    model._limiter = Limiter("auto", clock=clock)  # the model's own limiter, on a clock the test moves
    agent = Agent(model=model)
    for run in (agent.run, agent.arun):
        emu.queue(Fault.status(429, headers={"Retry-After": asked}))
        output = run("hi")
        output = await output if not isinstance(output, RunOutput) else output
        assert output.status == RunStatus.error and "HTTP 429" in str(output.content)
        assert model._limiter.limit == 0
        clock.now += 5.0
        assert model._limiter.limit == 1
        output = run("hi")
        output = await output if not isinstance(output, RunOutput) else output
        assert output.status == RunStatus.completed


@pytest.mark.parametrize("path", ["sync", "async"])
def test_an_embedders_max_retry_delay_caps_what_a_429_holds_its_auto_limit(emu: DeepInfraEmulator, path: str) -> None:
    clock = FakeClock()
    embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key, max_concurrency="auto", max_retry_delay=3)
    embedder._limiter = Limiter("auto", clock=clock)

    def embed() -> list[float]:
        return embedder.get_embedding("hi") if path == "sync" else asyncio.run(embedder.async_get_embedding("hi"))

    emu.queue(Fault.status(429, headers={"Retry-After": "inf"}), route="embeddings")
    with pytest.raises(AgnoError, match="HTTP 429"):
        embed()
    clock.now += 3.0
    assert embedder._limiter.limit == 1
    assert len(embed()) == embedder.dimensions
    embedder.close()
