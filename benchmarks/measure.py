"""Timing primitives: order-rotating interleaved rounds, per-call CPU and wall clocks, and summary statistics.

Client CPU is `time.process_time()` (every thread of this process; the emulator runs in another
process and is excluded). Contenders run in rounds and the order rotates every round, so drift
(other load on the machine, CPU frequency, cache state) hits every contender alike.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (0-100, nearest rank), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def rotated(names: Sequence[str], shift: int) -> list[str]:
    """`names` rotated left by `shift`: round r starts with a different contender each time."""
    if not names:
        return []
    shift %= len(names)
    return [*names[shift:], *names[:shift]]


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


@dataclass
class CallSamples:
    """Per-call CPU and wall seconds of one contender, plus the failures."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu_by_round: list[list[float]] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""

    def summary(self) -> dict[str, float | None]:
        """Medians (and wall p90) in microseconds, and the error count."""
        return {
            "cpu_us": _micro(median(self.cpu)),
            "wall_us": _micro(median(self.wall)),
            "wall_p90_us": _micro(percentile(self.wall, 90)),
            "calls": float(len(self.cpu)),
            "errors": float(self.errors),
        }


def _micro(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e6


def _milli(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def check_reply(name: str, reply: str, expected: str) -> None:
    """Fail fast when a contender did not get the emulator's scripted answer."""
    if expected not in reply:
        raise RuntimeError(f"{name}: unexpected reply {reply[:200]!r} (expected {expected!r})")


def interleaved_calls(
    calls: dict[str, Callable[[], str]], *, warmup: int, rounds: int, batch: int, expected: str
) -> dict[str, CallSamples]:
    """Time `rounds` x `batch` calls of every contender, in rotating order, after `warmup` checked calls each."""
    for name, call in calls.items():
        for _ in range(warmup):
            check_reply(name, call(), expected)
    samples = {name: CallSamples() for name in calls}
    names = list(calls)
    process_time, perf_counter = time.process_time, time.perf_counter
    with frozen_heap():
        for round_index in range(rounds):
            for name in rotated(names, round_index):
                call, record = calls[name], samples[name]
                record.cpu_by_round.append([])
                gc.collect()
                for _ in range(batch):
                    cpu0, wall0 = process_time(), perf_counter()
                    try:
                        call()
                    except Exception as error:
                        record.errors += 1
                        record.last_error = f"{type(error).__name__}: {error}"[:300]
                        continue
                    wall1, cpu1 = perf_counter(), process_time()
                    record.cpu.append(cpu1 - cpu0)
                    record.cpu_by_round[-1].append(cpu1 - cpu0)
                    record.wall.append(wall1 - wall0)
    return samples


def paired_ratio(ours: CallSamples, reference: CallSamples) -> tuple[float, float, float] | None:
    """Median CPU ratio of two contenders within each round (adjacent in time), summarised over rounds.

    Returns (median, 25th, 75th percentile) of the per-round ratios: drift that hits a whole round
    cancels out, and the spread shows how much of a difference is noise.
    """
    ratios = []
    for mine, theirs in zip(ours.cpu_by_round, reference.cpu_by_round, strict=False):
        mine_median, their_median = median(mine), median(theirs)
        if mine_median and their_median:
            ratios.append(mine_median / their_median)
    if not ratios:
        return None
    middle, low, high = median(ratios), percentile(ratios, 25), percentile(ratios, 75)
    assert middle is not None and low is not None and high is not None
    return middle, low, high


@dataclass
class StreamSamples:
    """Per-stream time to first token, CPU per chunk and chunk counts of one contender."""

    ttft: list[float] = field(default_factory=list)
    ttft_cpu: list[float] = field(default_factory=list)
    cpu_per_chunk: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""

    def summary(self) -> dict[str, float | None]:
        """Medians in microseconds (TTFT and total wall in milliseconds) and the error count."""
        return {
            "ttft_ms": _milli(median(self.ttft)),
            "ttft_p25_ms": _milli(percentile(self.ttft, 25)),
            "ttft_p75_ms": _milli(percentile(self.ttft, 75)),
            "ttft_cpu_ms": _milli(median(self.ttft_cpu)),
            "cpu_per_chunk_us": _micro(median(self.cpu_per_chunk)),
            "stream_wall_ms": _milli(median(self.wall)),
            "chunks": float(min(self.chunks)) if self.chunks else None,
            "streams": float(len(self.ttft)),
            "errors": float(self.errors),
        }


def interleaved_streams(
    streams: dict[str, Callable[[], Iterator[str]]],
    *,
    warmup: int,
    rounds: int,
    expected_text: str,
    expected_chunks: int,
) -> dict[str, StreamSamples]:
    """Consume `rounds` streams per contender in rotating order; TTFT is call start to first content piece.

    Warm-up streams must carry exactly `expected_text`; measured ones exactly `expected_chunks` pieces.
    """
    for name, stream in streams.items():
        for _ in range(warmup):
            text = "".join(stream())
            if text != expected_text:
                raise RuntimeError(f"{name}: the stream carried {len(text)} characters, expected {len(expected_text)}")
    samples = {name: StreamSamples() for name in streams}
    names = list(streams)
    process_time, perf_counter = time.process_time, time.perf_counter
    with frozen_heap():
        for round_index in range(rounds):
            for name in rotated(names, round_index):
                record = samples[name]
                gc.collect()
                cpu0, wall0 = process_time(), perf_counter()
                first = first_cpu = 0.0
                count = 0
                try:
                    for _piece in streams[name]():
                        if count == 0:
                            first, first_cpu = perf_counter(), process_time()
                        count += 1
                except Exception as error:
                    record.errors += 1
                    record.last_error = f"{type(error).__name__}: {error}"[:300]
                    continue
                wall1, cpu1 = perf_counter(), process_time()
                if count != expected_chunks:
                    record.errors += 1
                    record.last_error = f"{count} content chunks instead of {expected_chunks}"
                    continue
                record.ttft.append(first - wall0)
                record.ttft_cpu.append(first_cpu - cpu0)
                record.wall.append(wall1 - wall0)
                record.chunks.append(count)
                record.cpu_per_chunk.append((cpu1 - cpu0) / max(count, 1))
    return samples
