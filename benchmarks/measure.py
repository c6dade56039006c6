"""Interleaved rounds with rotating order; pyperf keeps every timing and computes its statistics.

Client CPU is `time.process_time()` (every thread of this process; the emulator runs in another
process and is excluded). Every round runs every contender once, and the order rotates each round,
so drift on a shared 2-core machine (other load, CPU frequency, cache state) hits every contender
alike, and ratios taken within a round (paired) cancel what hits a whole round.

Why not pyperf's `Runner` or pytest-benchmark's `pedantic`: both time one benchmark to its end before
the next one starts (pyperf in worker processes it spawns, pytest-benchmark one function per test,
with one timer), so a burst of load lands on whichever contender runs then, and neither can clock
CPU and wall of the same call. What pyperf does well stays pyperf's: each contender's timings are a
`pyperf.Benchmark` (one `pyperf.Run` per round) whose median and percentiles the tables quote, and
`dump()` writes them all to a pyperf JSON file, so `python -m pyperf stats|hist|compare_to` can
examine any row, and test whether a difference is significant.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import operator
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyperf

# pyperf accepts only positive values: a reading below the clock's resolution counts as 1 ns.
_TINY = 1e-9
_KEPT: list[pyperf.Benchmark] = []
# A timed job: one call, request, stream or round; it may return further metrics of the same run.
Job = Callable[[], Any]
# What `event_loop` yields: resolve a value, awaiting it on the stage's loop when it is awaitable.
Resolve = Callable[[Any], Any]


def rotated(names: Sequence[str], shift: int) -> list[str]:
    """`names` rotated left by `shift`: round r starts with a different contender each time."""
    shift = shift % len(names) if names else 0
    return [*names[shift:], *names[:shift]]


def interleaved(
    jobs: Mapping[str, Job],
    rounds: int,
    *,
    batch: int = 1,
    warmups: Mapping[str, Job] | None = None,
    warmup_runs: int = 1,
    frozen: bool = False,
) -> dict[str, Samples]:
    """The shared driver: `rounds` rounds of `batch` runs of every job, in an order that rotates each round.

    Each run records its client CPU (`cpu`: every thread of this process; the emulator runs in
    another) and `wall` seconds, plus the metrics a job returns as a dict (seconds, or lists of
    them; under "errors", the failures of a run that went on). First `warmup_runs` of each warm-up
    (or job): their failure ends the stage. In the rounds, an exception counts as the contender's
    failure, and `gc.collect()` runs before each job's batch. `frozen` moves what survived the
    warm-ups out of the collector's view for the rounds (`gc.freeze()`, every contender alike).
    """
    for warmup in (warmups or jobs).values():
        for _ in range(warmup_runs):
            warmup()
    samples = {name: Samples() for name in jobs}
    process_time, perf_counter = time.process_time, time.perf_counter
    gc.collect()
    if frozen:
        gc.freeze()
    try:
        for round_index in range(rounds):
            for name in rotated(list(jobs), round_index):
                record, job = samples[name], jobs[name]
                record.current = round_index  # rounds stay aligned across contenders for pairing
                gc.collect()
                for _ in range(batch):
                    with record.attempt():
                        cpu0, wall0 = process_time(), perf_counter()
                        result = job()
                        wall1, cpu1 = perf_counter(), process_time()
                        extra = dict(result) if isinstance(result, dict) else {}
                        for error in extra.pop("errors", ()):
                            record.fail(error)
                        record.add(cpu=cpu1 - cpu0, wall=wall1 - wall0, **extra)
    finally:
        gc.unfreeze()
    return samples


@contextmanager
def event_loop(closers: list[Callable[[], Any]]) -> Iterator[Resolve]:
    """One event loop for a whole stage (async clients bind to theirs), driven from synchronous code.

    Yields a function that resolves a value, awaiting it on that loop when it is awaitable; at the
    end every closer in `closers` (a list the stage may still add to) runs there.
    """
    loop = asyncio.new_event_loop()

    def run(value: Any) -> Any:
        return loop.run_until_complete(value) if inspect.isawaitable(value) else value

    try:
        yield run
    finally:
        for close in closers:
            run(close())
        loop.close()


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


@dataclass
class Samples:
    """One contender's timings (seconds, one list per round and metric) and its failures."""

    rounds: dict[str, list[list[float]]] = field(default_factory=dict)
    errors: int = 0
    last_error: str = ""
    current: int = 0  # the round `add` records into

    def add(self, **seconds: float | Sequence[float]) -> None:
        """Record one measurement (or a list of them) of each named metric in the current round."""
        for metric, value in seconds.items():
            per_round = self.rounds.setdefault(metric, [])
            per_round.extend([] for _ in range(self.current + 1 - len(per_round)))
            values = value if isinstance(value, Sequence) else [value]
            per_round[self.current].extend(max(item, _TINY) for item in values)

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Count an exception raised in the block as this contender's failure (the run goes on)."""
        try:
            yield
        except Exception as error:
            self.fail(error)

    def fail(self, error: BaseException | str) -> None:
        """Count a failure, keeping its text."""
        self.errors += 1
        self.last_error = (error if isinstance(error, str) else f"{type(error).__name__}: {error}")[:300]

    def values(self, metric: str) -> list[float]:
        """Every value of `metric`, rounds pooled."""
        return [value for values in self.rounds.get(metric, []) for value in values]

    def benchmark(self, name: str, metric: str) -> pyperf.Benchmark | None:
        """`metric` as a pyperf benchmark, one run per round; None when nothing was measured."""
        runs = [
            pyperf.Run(values, metadata={"name": name, "unit": "second"}, collect_metadata=False)
            for values in self.rounds.get(metric, [])
            if values
        ]
        return pyperf.Benchmark(runs) if runs else None

    def stat(self, metric: str, q: float = 50, scale: float = 1.0) -> float | None:
        """The `q`-th percentile of `metric` (pyperf's, interpolated) times `scale`; None when unmeasured."""
        benchmark = self.benchmark(metric, metric)
        return None if benchmark is None else benchmark.percentile(q) * scale

    def round_medians(self, metric: str) -> list[float | None]:
        """The median of `metric` within each round (None for a round without values)."""
        return [median(values) for values in self.rounds.get(metric, [])]


def keep(section: str, samples: dict[str, Samples]) -> dict[str, Samples]:
    """Keep every timing of a section for `dump()` (as `section/contender/metric`); returns `samples`."""
    for contender, record in samples.items():
        for metric in record.rounds:
            benchmark = record.benchmark(f"{section}/{contender}/{metric}", metric)
            if benchmark is not None:
                _KEPT.append(benchmark)
    return samples


def dump(path: Path) -> None:
    """Write every kept timing as a pyperf suite (gzip-compressed when `path` ends in `.gz`)."""
    if _KEPT:
        path.parent.mkdir(parents=True, exist_ok=True)
        pyperf.BenchmarkSuite(_KEPT).dump(str(path), replace=True)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (0-100, nearest rank) of plain values (counts, rates), or None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-q * len(ordered) // 100))
    return ordered[min(int(rank), len(ordered)) - 1]


def check_reply(name: str, reply: str, expected: str) -> None:
    """Fail fast when a contender did not get the emulator's scripted answer."""
    if expected not in reply:
        raise RuntimeError(f"{name}: unexpected reply {reply[:200]!r} (expected {expected!r})")


async def timed(call: Callable[[], Awaitable[str]], expected: str) -> tuple[float, str | None]:
    """Seconds one async call took, and the text of its failure (None when its reply held `expected`)."""
    start = time.perf_counter()
    try:
        check_reply("async call", await call(), expected)
    except Exception as error:
        return time.perf_counter() - start, f"{type(error).__name__}: {error}"[:300]
    return time.perf_counter() - start, None


def paired(
    ours: Samples, reference: Samples, metric: str = "cpu", compare: Callable[[float, float], float] = operator.truediv
) -> tuple[float, float, float, int] | None:
    """`compare` (ratio by default) of two contenders' medians of `metric` within each round (adjacent in time).

    Returns the median, 25th and 75th percentile of the per-round figures, and how many rounds:
    drift that hits a whole round cancels out, and the spread shows how much of a difference is noise.
    """
    pairs = zip(ours.round_medians(metric), reference.round_medians(metric), strict=False)
    figures = [compare(mine, theirs) for mine, theirs in pairs if mine and theirs]
    middle, low, high = median(figures), percentile(figures, 25), percentile(figures, 75)
    if middle is None or low is None or high is None:
        return None
    return middle, low, high, len(figures)
