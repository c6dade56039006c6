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
from typing import Any, Literal

from benchmarks.contenders import AGNO, OURS, RAW
from benchmarks.measure import percentile
from benchmarks.report import Check, Metric, Row, Section
from benchmarks.server import API_KEY, CHAT_MODEL, SHORT_REPLY, EmulatorProcess

Contender = Literal["agno_deepinfra", "agno_builtin", "raw_sdk"]


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
    """One batch: who sends it, from how many processes, with what limit and jitter."""

    key: str
    label: str
    contender: Contender
    processes: int = 1
    max_concurrency: int | str | None = None
    jitter: bool = False


def modes(sizes: ScaleSizes) -> tuple[list[Mode], list[Mode]]:
    """The (a) and (b) batches."""
    one = [
        Mode("a_none", "ours, max_concurrency=None", OURS),
        Mode("a_fixed", f"ours, max_concurrency={sizes.cap}", OURS, max_concurrency=sizes.cap),
        Mode("a_auto", 'ours, max_concurrency="auto"', OURS, max_concurrency="auto"),
        Mode("a_agno", f"agno built-in, retries={sizes.retries}", AGNO),
        Mode("a_raw", f"raw openai SDK, max_retries={sizes.retries}", RAW),
    ]
    n = sizes.workers
    many = [
        Mode("b_none", f"{n} x ours, None, no jitter", OURS, n),
        Mode("b_none_jitter", f"{n} x ours, None, jitter", OURS, n, jitter=True),
        Mode("b_auto", f'{n} x ours, "auto", no jitter', OURS, n, "auto"),
        Mode("b_auto_jitter", f'{n} x ours, "auto", jitter', OURS, n, "auto", jitter=True),
    ]
    return one, many


# ------------------------------------------------------------------------ worker processes


@dataclass
class BatchResult:
    """What one worker process saw: per-run latencies, completions, its batch's start and end."""

    completed: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    last_error: str = ""


def _client(mode: Mode, sizes: ScaleSizes, base_url: str) -> Any:
    """The async callable one run makes, and the objects to close."""
    jitter = sizes.jitter if mode.jitter else 0.0
    if mode.contender == RAW:
        import openai

        return openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=sizes.retries)
    from agno.agent import Agent

    if mode.contender == AGNO:
        from agno.models.deepinfra import DeepInfra as AgnoDeepInfra

        model: Any = AgnoDeepInfra(
            id=CHAT_MODEL,
            base_url=base_url,
            api_key=API_KEY,
            retries=sizes.retries,
            delay_between_retries=int(sizes.delay),
            exponential_backoff=True,
        )
    else:
        from agno_deepinfra import DeepInfra

        model = DeepInfra(
            id=CHAT_MODEL,
            base_url=base_url,
            api_key=API_KEY,
            retries=sizes.retries,
            delay_between_retries=sizes.delay,
            exponential_backoff=True,
            retry_jitter=jitter,
            max_concurrency=mode.max_concurrency,  # type: ignore[arg-type]
        )
    return Agent(model=model, telemetry=False)


async def _one(client: Any, number: int) -> tuple[float, str | None]:
    start = time.monotonic()
    try:
        if hasattr(client, "arun"):
            output = await client.arun(f"run {number}")
            status = getattr(output.status, "value", output.status)
            content = str(output.content)
            if status != "COMPLETED":
                raise RuntimeError(f"status {status}: {content[:200]}")
        else:
            completion = await client.chat.completions.create(
                model=CHAT_MODEL, messages=[{"role": "user", "content": f"run {number}"}]
            )
            content = str(completion.choices[0].message.content)
        if content != SHORT_REPLY:
            raise RuntimeError(f"unexpected reply {content[:80]!r}")
    except Exception as error:
        return time.monotonic() - start, f"{type(error).__name__}: {error}"[:300]
    return time.monotonic() - start, None


async def _batch(mode: Mode, sizes: ScaleSizes, base_url: str, runs: int) -> BatchResult:
    client = _client(mode, sizes, base_url)
    result = BatchResult(started=time.monotonic())
    outcomes = await asyncio.gather(*(_one(client, number) for number in range(runs)))
    result.ended = time.monotonic()
    for latency, error in outcomes:
        result.latencies.append(latency)
        if error is None:
            result.completed += 1
        else:
            result.failed += 1
            result.last_error = error
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


def run_mode(mode: Mode, sizes: ScaleSizes, emulator: EmulatorProcess, base_url: str) -> dict[str, Any]:
    """One batch in `mode.processes` fresh processes started together; merged results and the emulator's view."""
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
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    completed = sum(batch.completed for batch in batches)
    return {
        "values": {
            "completed": float(completed),
            "failed": float(sum(batch.failed for batch in batches)),
            "rejected": float(served["rejected"]),
            "rejected_pct": 100.0 * served["rejected"] / sizes.runs,
            "makespan_s": makespan,
            "vs_ideal": makespan / sizes.ideal,
            "p50_s": p50,
            "p99_s": p99,
            "peak": float(served["peak"]),
        },
        "last_error": next((batch.last_error for batch in batches if batch.last_error), ""),
        "timeline": [(round(t - started, 4), n) for t, n in served["timeline"]],
        "rejections": [round(t - started, 4) for t in served["rejections"]],
    }


# ------------------------------------------------------------------------------- sections


@dataclass
class ScaleResults:
    """Both sections and every mode's in-flight timeline (seconds since the start, requests) for the plot."""

    sections: list[Section]
    timelines: dict[str, list[tuple[float, int]]]
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
    if only:
        one, many = [m for m in one if m.key in only], [m for m in many if m.key in only]
    rows: dict[str, Row] = {}
    timelines: dict[str, list[tuple[float, int]]] = {}
    emulator = EmulatorProcess(capped=(sizes.cap, sizes.service, sizes.retry_after))
    with emulator as endpoints:
        for mode in [*one, *many]:
            measured = run_mode(mode, sizes, emulator, endpoints.base_url)
            note = f"last error: {measured['last_error']}" if measured["last_error"] else ""
            rows[mode.key] = Row(mode.key, mode.contender, mode.label, measured["values"], note)
            timelines[mode.key] = measured["timeline"]
    labels = {key: row.label for key, row in rows.items()}
    return ScaleResults(
        [_section_a(sizes, [rows[m.key] for m in one]), _section_b(sizes, [rows[m.key] for m in many])],
        timelines,
        labels,
        sizes,
    )


def _setup(sizes: ScaleSizes) -> str:
    return (
        f"Emulated DeepInfra cap C = {sizes.cap} requests in flight per model, service time S = {sizes.service:g} s, "
        f"429 with `Retry-After: {sizes.retry_after:g}`; ideal makespan = runs x S / C = "
        f"{sizes.runs:,} x {sizes.service:g} / {sizes.cap} = {sizes.ideal:.1f} s. Every contender: retries="
        f"{sizes.retries}, first retry after {sizes.delay:g} s, doubling (agno's classes; the raw SDK uses its own "
        "backoff and honours Retry-After). 429s are counted by the emulator; latency is per run, from the start of "
        "the batch's `arun` to its end."
    )


def _targets(key: str, label: str, makespan_bound: float, max_429_pct: float) -> list[Check]:
    checks = [Check(f"{label}: every run completes", key, "failed", "value_max", 0)]
    if max_429_pct == 0:
        checks.append(Check(f"{label}: 0 429s", key, "rejected", "value_max", 0))
    else:
        checks.append(Check(f"{label}: 429s <= {max_429_pct:g}% of requests", key, "rejected_pct", "value_max", 5))
    checks.append(
        Check(f"{label}: makespan <= {makespan_bound:.2f}x ideal", key, "vs_ideal", "value_max", makespan_bound)
    )
    return checks


def _section_a(sizes: ScaleSizes, rows: list[Row]) -> Section:
    return Section(
        key="scale_one_process",
        title=f"Scale-out (a): one process, {sizes.runs:,} concurrent `arun` under a cap of {sizes.cap}",
        description=_setup(sizes),
        metrics=METRICS,
        rows=rows,
        notes=_notes(rows),
        checks=[
            *_targets("a_fixed", f"(a) max_concurrency={sizes.cap}", 1.10, 0),
            *_targets("a_auto", '(a) max_concurrency="auto"', 1.25, 5),
            Check("(a) max_concurrency=None: every run completes", "a_none", "failed", "value_max", 0),
        ],
    )


def _section_b(sizes: ScaleSizes, rows: list[Row]) -> Section:
    n = sizes.workers
    return Section(
        key="scale_processes",
        title=f"Scale-out (b): {n} processes x {sizes.runs // n:,} concurrent `arun` sharing one cap of {sizes.cap}",
        description=_setup(sizes)
        + f" The {n} processes know nothing of each other; jitter adds up to {sizes.jitter:.0%} to each retry wait.",
        metrics=METRICS,
        rows=rows,
        notes=_notes(rows),
        checks=[
            *_targets("b_auto", f'(b) {n} processes, "auto", no jitter', 1.25, 5),
            *_targets("b_auto_jitter", f'(b) {n} processes, "auto", jitter', 1.25, 5),
            Check(f"(b) {n} processes, None, no jitter: every run completes", "b_none", "failed", "value_max", 0),
            Check(f"(b) {n} processes, None, jitter: every run completes", "b_none_jitter", "failed", "value_max", 0),
        ],
    )


def _notes(rows: list[Row]) -> list[str]:
    failed = [row.label for row in rows if row.values.get("failed")]
    if not failed:
        return ["Every run of every mode completed."]
    return [f"Runs failed (out of retries) in: {', '.join(failed)}."]


def scale_plot(results: ScaleResults, path: Any) -> None:
    """Requests in flight at the emulator over time, one panel per part, one line per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results.sizes
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.6), squeeze=False)
    for axis, prefix, title in zip(
        axes[0], ("a_", "b_"), ("(a) one process", f"(b) {sizes.workers} processes sharing the cap"), strict=True
    ):
        for key, timeline in results.timelines.items():
            if key.startswith(prefix) and timeline:
                times, counts = zip(*timeline, strict=True)
                axis.step(times, counts, where="post", label=results.labels[key], linewidth=1.2)
        axis.axhline(sizes.cap, color="black", linestyle="--", linewidth=0.8, label=f"cap C = {sizes.cap}")
        axis.axvline(
            sizes.ideal, color="grey", linestyle=":", linewidth=0.8, label=f"ideal makespan {sizes.ideal:.1f} s"
        )
        axis.set_title(title)
        axis.set_xlabel("seconds since the batch started")
        axis.set_ylabel("requests in flight at the server")
        axis.grid(alpha=0.3)
        axis.legend(loc="upper right", fontsize=7)
    figure.suptitle(
        f"{sizes.runs:,} agent runs against a per-model cap of {sizes.cap}, {sizes.service:g} s per request"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    """`python -m benchmarks.scale [--quick]`: the scale-out sections alone, printed as Markdown."""
    import argparse
    from pathlib import Path

    from benchmarks.environment import apply_quiet_env, forbid_remote_hosts
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
