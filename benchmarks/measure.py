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

import gc
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyperf

# pyperf accepts only positive values: a reading below the clock's resolution counts as 1 ns.
_TINY = 1e-9
_KEPT: list[pyperf.Benchmark] = []


def rotated(names: Sequence[str], shift: int) -> list[str]:
    """`names` rotated left by `shift`: round r starts with a different contender each time."""
    if not names:
        return []
    shift %= len(names)
    return [*names[shift:], *names[:shift]]


def schedule(samples: dict[str, Samples], rounds: int) -> Iterator[tuple[str, Samples]]:
    """Each contender and its samples once per round, in an order that rotates each round.

    `gc.collect()` runs before each, and the samples record into that round.
    """
    for round_index in range(rounds):
        for name in rotated(list(samples), round_index):
            samples[name].next_round(round_index)
            gc.collect()
            yield name, samples[name]


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Collect, then move every surviving object out of the collector's view for the block (all contenders alike)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.collect()


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

    def next_round(self, index: int) -> None:
        """Record later `add`s into round `index` (rounds stay aligned across contenders for pairing)."""
        self.current = index

    def add(self, **seconds: float) -> None:
        """Record one measurement of each named metric in the current round."""
        for metric, value in seconds.items():
            per_round = self.rounds.setdefault(metric, [])
            per_round.extend([] for _ in range(self.current + 1 - len(per_round)))
            per_round[self.current].append(max(value, _TINY))

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Count an exception raised in the block as this contender's failure (the run goes on)."""
        try:
            yield
        except Exception as error:
            self.errors += 1
            self.last_error = f"{type(error).__name__}: {error}"[:300]

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


def paired_ratio(ours: Samples, reference: Samples, metric: str = "cpu") -> tuple[float, float, float] | None:
    """Median ratio of two contenders' `metric` within each round (adjacent in time), summarised over rounds.

    Returns (median, 25th, 75th percentile) of the per-round ratios: drift that hits a whole round
    cancels out, and the spread shows how much of a difference is noise.
    """
    pairs = zip(ours.round_medians(metric), reference.round_medians(metric), strict=False)
    ratios = [mine / theirs for mine, theirs in pairs if mine and theirs]
    if not ratios:
        return None
    middle, low, high = median(ratios), percentile(ratios, 25), percentile(ratios, 75)
    assert middle is not None and low is not None and high is not None
    return middle, low, high
