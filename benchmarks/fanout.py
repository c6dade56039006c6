"""Async load: the emulator's own capacity, and N concurrent calls per contender (fan-out)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.config import Sizes
from benchmarks.contenders import AGNO, OURS, OURS_AIOHTTP, RAW, RAW_AIOHTTP, AsyncCall, Target, async_calls
from benchmarks.measure import Job, Resolve, Samples, event_loop, interleaved, keep, median, timed
from benchmarks.report import Check, Metric, Section, contender_rows
from benchmarks.server import SHORT_REPLY

CpuClock = Callable[[], float]


def _values(record: Samples, level: int) -> dict[str, float | None]:
    """Median throughput and its range over rounds (calls/s), p50/p99 latency (ms), errors, CPU per call (µs)."""
    walls = record.values("wall")
    return {
        "throughput_rps": level / median(walls) if walls else None,  # type: ignore[operator]
        "throughput_min_rps": level / max(walls) if walls else None,
        "throughput_max_rps": level / min(walls) if walls else None,
        "p50_ms": record.stat("latency", 50, 1e3),
        "p99_ms": record.stat("latency", 99, 1e3),
        "errors": float(record.errors),
        "client_cpu_us": record.stat("cpu", scale=1e6 / level),
        "emulator_cpu_us": record.stat("emulator_cpu", scale=1e6),
    }


def fanout_job(call: AsyncCall, level: int, run: Resolve, server_cpu: CpuClock | None) -> Job:
    """One round: start `level` calls at once, wait for all; their latencies, failures and emulator CPU."""

    async def together() -> list[tuple[float, str | None]]:
        return await asyncio.gather(*(timed(call, SHORT_REPLY) for _ in range(level)))

    def job() -> dict[str, Any]:
        server0 = server_cpu() if server_cpu else 0.0
        results = run(together())
        measured = {"latency": [latency for latency, _ in results], "errors": [e for _, e in results if e]}
        return measured | ({"emulator_cpu": (server_cpu() - server0) / level} if server_cpu else {})

    return job


@dataclass(frozen=True)
class Capacity:
    """What the emulator sustained under the raw SDK at high concurrency.

    `emulator_ceiling_rps`: what the emulator could serve with a whole core to itself (requests / its
    CPU seconds). `bottleneck`: the busier process, the one near a full core limits the setup.
    """

    requests_per_second: float
    concurrency: int
    seconds: float
    requests: int
    errors: int
    client_cpu_share: float
    emulator_cpu_share: float
    emulator_ceiling_rps: float | None
    bottleneck: str
    last_error: str = ""


async def capacity(call: AsyncCall, *, concurrency: int, seconds: float, server_cpu: CpuClock | None) -> Capacity:
    """Keep `concurrency` raw-SDK requests in flight for `seconds`; count what completes.

    On a loaded machine the deadline can pass before much completes, so the probe also waits for
    `concurrency` completions (or as many failures): the rate is then measured over real requests,
    never over an empty window. A probe where every request failed raises with the last error
    instead of reporting 0 requests/s.
    """
    await asyncio.gather(*(call() for _ in range(min(concurrency, 50))))
    deadline = time.perf_counter() + seconds
    done, failed = 0, Samples()  # `failed` counts the failures and keeps the last one's text

    async def worker() -> None:
        nonlocal done
        while True:
            with failed.attempt():
                await call()
                done += 1
            if time.perf_counter() >= deadline and max(done, failed.errors) >= concurrency:
                return

    gc.collect()
    server0 = server_cpu() if server_cpu else 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    server = (server_cpu() - server0) if server_cpu else 0.0
    if done == 0:
        raise RuntimeError(f"capacity probe: all {failed.errors} requests failed; last error: {failed.last_error}")
    ceiling = done / server if server else None
    bottleneck = "emulator" if server >= cpu else "client (raw SDK)"
    counts = (done / wall, concurrency, wall, done, failed.errors)
    return Capacity(*counts, cpu / wall, server / wall, ceiling, bottleneck, failed.last_error)


@dataclass
class LoadResults:
    """The capacity probe, one section per fan-out level, and every latency (ms) for the plot."""

    capacity: Capacity
    probes: list[Capacity]
    sections: list[Section]
    latencies_ms: dict[int, dict[str, list[float]]]


def load_sections(target: Target, sizes: Sizes, server_cpu: CpuClock | None) -> LoadResults:
    """Measure the emulator's capacity, then fan out at each level of `sizes.fanout_levels`."""

    closers: list[Callable[[], Any]] = []
    with event_loop(closers) as run:
        calls, close = run(async_calls(target))
        closers.append(close)
        probes = [
            run(capacity(calls[RAW], concurrency=level, seconds=sizes.capacity_seconds, server_cpu=server_cpu))
            for level in sizes.capacity_concurrency
        ]
        levels = {}
        for level in sizes.fanout_levels:
            jobs = {name: fanout_job(call, level, run, server_cpu) for name, call in calls.items()}
            warmups = {name: fanout_job(call, min(20, level), run, None) for name, call in calls.items()}
            levels[level] = keep(f"fanout_{level}", interleaved(jobs, sizes.fanout_rounds, warmups=warmups))
    sections = [_fanout_section(level, samples, sizes.fanout_rounds) for level, samples in levels.items()]
    latencies = {
        level: {name: [latency * 1e3 for latency in record.values("latency")] for name, record in samples.items()}
        for level, samples in levels.items()
    }
    best = max(probes, key=lambda probe: probe.requests_per_second)
    return LoadResults(best, probes, sections, latencies)


def _spread_notes(samples: dict[str, Samples], level: int) -> list[str]:
    """Say whether ours' and the raw SDK's round-to-round ranges overlap (then their ratio is within noise)."""
    walls = [samples[name].values("wall") if name in samples else [] for name in (OURS, RAW)]
    if not all(walls):
        return []
    ours, raw = ((level / max(rounds), level / min(rounds)) for rounds in walls)
    overlap = ours[0] <= raw[1] and raw[0] <= ours[1]
    verdict = "overlap, so the throughput ratio is within this setup's noise" if overlap else "do not overlap"
    return [
        f"Rounds ranged {ours[0]:,.0f}-{ours[1]:,.0f} calls/s for ours and {raw[0]:,.0f}-{raw[1]:,.0f} for the raw "
        f"SDK: the ranges {verdict}."
    ]


def _transport_notes(samples: dict[str, Samples]) -> list[str]:
    """The like-for-like ratio on aiohttp, where both sides share the transport."""
    ours = median(samples[OURS_AIOHTTP].values("wall")) if OURS_AIOHTTP in samples else None
    raw = median(samples[RAW_AIOHTTP].values("wall")) if RAW_AIOHTTP in samples else None
    if not ours or not raw:
        return ["The aiohttp rows are missing: install the `aiohttp` extra (`pip install -e '.[bench]'`)."]
    ratio = raw / ours  # throughput ratio: the same calls per round, so the inverse of the round times
    return [
        f"On the same transport (aiohttp on both sides) ours reaches {ratio:.2f}x the raw SDK's throughput: "
        "`Agent.arun` does more per call than a bare `create` (run bookkeeping, message assembly, metrics), "
        "which a client-bound setup shows directly. The transport, not the agent layer, is what separates "
        "httpx from aiohttp here."
    ]


def _checks(level: int) -> list[Check]:
    """Zero errors, and throughput >= 0.95x the raw SDK's, for ours on each transport."""
    checks = []
    for row, variant, transport, suffix in (
        (OURS, "", "default httpx", ""),
        (OURS_AIOHTTP, ", aiohttp", "async_transport='aiohttp'", " (its default)"),
    ):
        throughput = f"fan-out {level:,}: throughput of ours ({transport}) >= 0.95x raw SDK{suffix}"
        checks.append(Check(f"fan-out {level:,}: zero errors (ours{variant})", row, "errors", "value_max", 0))
        checks.append(Check(throughput, row, "throughput_rps", "ratio_min", 0.95, RAW))
    return checks


def _fanout_section(level: int, samples: dict[str, Samples], rounds: int) -> Section:
    return Section(
        key=f"fanout_{level}",
        title=f"Async fan-out: {level:,} concurrent calls",
        description=(
            f"{level:,} calls started at once and awaited together, {rounds} interleaved round(s) per contender: "
            "`AsyncOpenAI` calls for the raw SDK, `Agent.arun` for the agno classes, `litellm.acompletion` for "
            "LiteLLM. Throughput = calls / wall time of the round (median of rounds); latencies pooled over rounds."
        ),
        metrics=[
            Metric("throughput_rps", "throughput (calls/s)", digits=0, ratio=True),
            Metric("throughput_min_rps", "min round", digits=0),
            Metric("throughput_max_rps", "max round", digits=0),
            Metric("p50_ms", "p50 (ms)", digits=0),
            Metric("p99_ms", "p99 (ms)", digits=0),
            Metric("errors", "errors"),
            Metric("client_cpu_us", "client CPU / call (µs)", digits=0),
            Metric("emulator_cpu_us", "emulator CPU / call (µs)", digits=0),
        ],
        rows=contender_rows(samples, lambda record: _values(record, level)),
        raw_ref=RAW,
        agno_ref=AGNO,
        notes=_spread_notes(samples, level) + _transport_notes(samples),
        checks=_checks(level),
    )
