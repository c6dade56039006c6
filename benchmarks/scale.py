"""Scale-out simulation: batches of agent runs against DeepInfra's per-model concurrency cap.

The emulator (its own process) admits `cap` requests per model at once, each taking `service`
seconds, and answers the rest at once with DeepInfra's 429 and `Retry-After`. The best any client
can do is keep exactly `cap` requests in flight: the ideal makespan is `runs * service / cap`.

- (a) one process, `runs` concurrent `arun`: ours with `max_concurrency` None, `cap` and "auto",
  and agno's built-in class and the raw SDK (its own retries) as references;
- (b) `workers` processes sharing the cap, `runs / workers` concurrent `arun` each, ours with None
  and "auto", retry jitter off and on.

Every batch runs in fresh worker processes (spawned, started together once all are ready), so
all modes pay the same and none inherits another's connections. 429s and the in-flight timeline
come from the emulator.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from benchmarks.contenders import AGNO, OURS, RAW, Target, agno_model, ours_model, reply, run_content, sdk_client
from benchmarks.measure import percentile, timed
from benchmarks.report import Check, Metric, Row, Section
from benchmarks.server import API_KEY, CHAT_MODEL, SHORT_REPLY, EmulatorProcess

Timeline = list[tuple[float, int]]


@dataclass(frozen=True)
class ScaleSizes:
    """The simulated server and the batch."""

    cap: int = 40  # C: requests per model in flight at once
    service: float = 0.5  # S: seconds every admitted request takes
    retry_after: float = 1.0  # the 429's Retry-After
    runs: int = 1000  # agent runs per batch
    workers: int = 4  # processes in (b)
    retries: int = 3  # per run, every contender
    delay: float = 1.0  # seconds before the first retry, doubled after each (exponential backoff)
    jitter: float = 0.5  # retry jitter when "on": up to +50% of each wait

    @property
    def ideal(self) -> float:
        """Makespan with exactly `cap` requests in flight from start to end."""
        return self.runs * self.service / self.cap


@dataclass(frozen=True)
class Mode:
    """One batch: who sends it, from how many processes, with what limit and jitter, and its targets.

    `target` names the mode in the Targets table (the references have none); `bounds` (makespan
    over the ideal, 429s in % of the runs) add two limits to "every run completes".
    """

    key: str
    label: str
    contender: str
    processes: int = 1
    max_concurrency: int | str | None = None
    jitter: bool = False
    target: str = ""
    bounds: tuple[float, float] | None = None


def modes(sizes: ScaleSizes) -> tuple[list[Mode], list[Mode]]:
    """The (a) and (b) batches."""
    cap, n = sizes.cap, sizes.workers
    one = [
        Mode("a_none", "ours, max_concurrency=None", OURS, target="(a) max_concurrency=None"),
        Mode("a_fixed", f"ours, max_concurrency={cap}", OURS, 1, cap, False, f"(a) max_concurrency={cap}", (1.10, 0)),
        Mode("a_auto", 'ours, max_concurrency="auto"', OURS, 1, "auto", False, '(a) max_concurrency="auto"', (1.25, 5)),
        Mode("a_agno", f"agno built-in, retries={sizes.retries}", AGNO),
        Mode("a_raw", f"raw openai SDK, max_retries={sizes.retries}", RAW),
    ]
    many = []
    for limit, name, bounds in ((None, "None", None), ("auto", '"auto"', (1.25, 5.0))):
        for jitter in (False, True):
            setting = f"{name}, {'jitter' if jitter else 'no jitter'}"
            key = f"b_{str(limit).lower()}{'_jitter' if jitter else ''}"
            many.append(
                Mode(key, f"{n} x ours, {setting}", OURS, n, limit, jitter, f"(b) {n} processes, {setting}", bounds)
            )
    return one, many


# ------------------------------------------------------------------------ worker processes


@dataclass
class BatchResult:
    """What one worker process saw: per-run latencies, failures, its batch's start and end."""

    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    last_error: str = ""
    started: float = 0.0
    ended: float = 0.0


def _client(mode: Mode, sizes: ScaleSizes, base_url: str) -> Any:
    """What one run calls: the raw SDK's client, or an agno `Agent` on the mode's model."""
    target = Target(base_url, API_KEY, CHAT_MODEL)
    if mode.contender == RAW:
        return sdk_client(target, asynchronous=True, max_retries=sizes.retries)
    from agno.agent import Agent

    retry = {"retries": sizes.retries, "exponential_backoff": True}
    if mode.contender == AGNO:
        return Agent(model=agno_model(target, delay_between_retries=int(sizes.delay), **retry), telemetry=False)
    jitter = sizes.jitter if mode.jitter else 0.0
    limit = {"max_concurrency": mode.max_concurrency, "retry_jitter": jitter}
    return Agent(model=ours_model(target, delay_between_retries=sizes.delay, **limit, **retry), telemetry=False)


async def _batch(mode: Mode, sizes: ScaleSizes, base_url: str, runs: int) -> BatchResult:
    client = _client(mode, sizes, base_url)

    async def one(number: int) -> str:
        if hasattr(client, "arun"):
            return run_content(await client.arun(f"run {number}"))
        messages = [{"role": "user", "content": f"run {number}"}]
        return reply(await client.chat.completions.create(model=CHAT_MODEL, messages=messages))

    result = BatchResult(started=time.monotonic())
    outcomes = await asyncio.gather(*(timed(partial(one, number), SHORT_REPLY) for number in range(runs)))
    result.ended = time.monotonic()
    for latency, error in outcomes:
        result.latencies.append(latency)
        if error is not None:
            result.failed, result.last_error = result.failed + 1, error
    return result


def worker(mode: Mode, sizes: ScaleSizes, base_url: str, runs: int, ready: Any, go: Any, results: Any) -> None:
    """A worker process: import and build everything, say ready, wait for the start, run, report."""
    from benchmarks.environment import apply_quiet_env, forbid_remote_hosts, silence_logging

    apply_quiet_env()
    forbid_remote_hosts()
    import agno.agent  # noqa: F401  (imports before the start signal: they are not part of the batch)
    import openai  # noqa: F401

    import agno_deepinfra.chat  # noqa: F401

    silence_logging()
    logging.disable(logging.ERROR)  # a 429 storm logs a warning or error per request; the emulator counts them
    ready.put(True)
    go.wait()
    results.put(asdict(asyncio.run(_batch(mode, sizes, base_url, runs))))


def run_mode(mode: Mode, sizes: ScaleSizes, emulator: EmulatorProcess, base_url: str) -> tuple[Row, Timeline]:
    """One batch in `mode.processes` fresh processes started together: its row and in-flight timeline."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    share = sizes.runs // mode.processes
    processes = [
        context.Process(target=worker, args=(mode, sizes, base_url, share, ready, go, results))
        for _ in range(mode.processes)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    emulator.stats()  # forget anything before the start (warm-up, stragglers)
    started = time.monotonic()
    go.set()
    batches = [BatchResult(**results.get(timeout=600)) for _ in processes]
    for process in processes:
        process.join(60)
    served = emulator.stats()
    latencies = [latency for batch in batches for latency in batch.latencies]
    makespan = max(batch.ended for batch in batches) - started
    failed = sum(batch.failed for batch in batches)
    values = {
        "completed": float(len(latencies) - failed),
        "failed": float(failed),
        "rejected": float(served["rejected"]),
        "rejected_pct": 100.0 * served["rejected"] / sizes.runs,
        "makespan_s": makespan,
        "vs_ideal": makespan / sizes.ideal,
        "p50_s": percentile(latencies, 50),
        "p99_s": percentile(latencies, 99),
        "peak": float(served["peak"]),
    }
    last_error = next((batch.last_error for batch in batches if batch.last_error), "")
    row = Row(mode.key, mode.contender, mode.label, values, f"last error: {last_error}" if last_error else "")
    return row, [(round(t - started, 4), n) for t, n in served["timeline"]]


# ------------------------------------------------------------------------------- sections


@dataclass
class ScaleResults:
    """Both sections and every mode's in-flight timeline (seconds since the start, requests) for the plot."""

    sections: list[Section]
    timelines: dict[str, Timeline]
    labels: dict[str, str]
    sizes: ScaleSizes


METRICS = [
    Metric("completed", "runs completed"),
    Metric("rejected", "429s"),
    Metric("rejected_pct", "429s / runs (%)", digits=1),
    Metric("makespan_s", "makespan (s)", digits=1),
    Metric("vs_ideal", "x ideal", digits=2),
    Metric("p50_s", "p50 (s)", digits=2),
    Metric("p99_s", "p99 (s)", digits=2),
    Metric("peak", "peak in flight"),
]


def scale_sections(sizes: ScaleSizes, only: set[str] | None = None) -> ScaleResults:
    """Run every mode (or the `only` ones) against a capped emulator process; the (a) and (b) sections."""
    one, many = modes(sizes)
    rows: dict[str, Row] = {}
    timelines: dict[str, Timeline] = {}
    emulator = EmulatorProcess(capped=(sizes.cap, sizes.service, sizes.retry_after))
    with emulator as endpoints:
        for mode in [*one, *many]:
            if not only or mode.key in only:
                rows[mode.key], timelines[mode.key] = run_mode(mode, sizes, emulator, endpoints.base_url)
    n, cap = sizes.workers, sizes.cap

    def section(key: str, title: str, description: str, part: list[Mode]) -> Section:
        measured = [rows[mode.key] for mode in part if mode.key in rows]
        return Section(key, title, description, METRICS, measured, notes=_notes(measured), checks=_checks(part))

    one_title = f"Scale-out (a): one process, {sizes.runs:,} concurrent `arun` under a cap of {cap}"
    many_title = f"Scale-out (b): {n} processes x {sizes.runs // n:,} concurrent `arun` sharing one cap of {cap}"
    jitter = f" The {n} processes know nothing of each other; jitter adds up to {sizes.jitter:.0%} to each retry wait."
    sections = [
        section("scale_one_process", one_title, _setup(sizes), one),
        section("scale_processes", many_title, _setup(sizes) + jitter, many),
    ]
    return ScaleResults(sections, timelines, {key: row.label for key, row in rows.items()}, sizes)


def _setup(sizes: ScaleSizes) -> str:
    return (
        f"Emulated DeepInfra cap C = {sizes.cap} requests in flight per model, service time S = {sizes.service:g} s, "
        f"429 with `Retry-After: {sizes.retry_after:g}`; ideal makespan = runs x S / C = "
        f"{sizes.runs:,} x {sizes.service:g} / {sizes.cap} = {sizes.ideal:.1f} s. Every contender: retries="
        f"{sizes.retries}, first retry after {sizes.delay:g} s, doubling (agno's classes; the raw SDK uses its own "
        "backoff and honours Retry-After). 429s are counted by the emulator; latency is per run, from the start of "
        "the batch's `arun` to its end."
    )


def _checks(part: list[Mode]) -> list[Check]:
    """The modes with bounds (every run completes, 429s, makespan), then every run completes for the rest."""
    checks = []
    for mode in part:
        if mode.bounds is not None:
            makespan, rejected_pct = mode.bounds
            limit = Check(f"{mode.target}: 0 429s", mode.key, "rejected", "value_max", 0)
            if rejected_pct:
                text = f"{mode.target}: 429s <= {rejected_pct:g}% of requests"
                limit = Check(text, mode.key, "rejected_pct", "value_max", rejected_pct)
            checks += [
                Check(f"{mode.target}: every run completes", mode.key, "failed", "value_max", 0),
                limit,
                Check(f"{mode.target}: makespan <= {makespan:.2f}x ideal", mode.key, "vs_ideal", "value_max", makespan),
            ]
    completes = [mode for mode in part if mode.target and mode.bounds is None]
    return checks + [Check(f"{m.target}: every run completes", m.key, "failed", "value_max", 0) for m in completes]


def _notes(rows: list[Row]) -> list[str]:
    failed = [row.label for row in rows if row.values.get("failed")]
    if not failed:
        return ["Every run of every mode completed."]
    return [f"Runs failed (out of retries) in: {', '.join(failed)}."]


def main() -> None:
    """`python -m benchmarks.scale [--quick]`: the scale-out sections alone, printed as Markdown."""
    import argparse
    from pathlib import Path

    from benchmarks.environment import apply_quiet_env, forbid_remote_hosts
    from benchmarks.plot import scale_plot
    from benchmarks.report import checks_markdown, section_markdown

    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="mode keys to run (a_none, a_fixed, ..., b_auto_jitter)")
    parser.add_argument("--plot", type=Path, default=Path("benchmarks/.cache/scale_inflight.png"))
    args = parser.parse_args()
    apply_quiet_env()
    forbid_remote_hosts()
    only = set(args.only or ()) or (QUICK_MODES if args.quick else None)
    results = scale_sections(QUICK_SCALE if args.quick else FULL_SCALE, only)
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    scale_plot(results, args.plot)
    print(checks_markdown(results.sections))
    for section in results.sections:
        print(section_markdown(section), "\n")


FULL_SCALE = ScaleSizes()
QUICK_SCALE = ScaleSizes(cap=8, service=0.1, retry_after=0.2, runs=80, workers=2, delay=0.1)
QUICK_MODES = {"a_fixed", "a_auto", "b_auto"}  # `--quick`: the machinery, one and several processes

if __name__ == "__main__":
    main()
