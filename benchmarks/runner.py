"""One benchmark run: every stage in order, then RESULTS.md, results.json, the plots and the pyperf samples."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import readme
from benchmarks.config import Sizes
from benchmarks.contenders import HAS_LITELLM, SKIPPED_LITELLM
from benchmarks.environment import machine, silence_logging
from benchmarks.measure import dump
from benchmarks.report import Section, checks_markdown, contender_legend, section_markdown, write_json

T = TypeVar("T")
# The plots need the bench extra; without it the run still measures everything and says so.
HAS_MATPLOTLIB = find_spec("matplotlib") is not None
SKIPPED_PLOTS = "plots skipped: matplotlib is not installed (pip install -e '.[bench]')"
PLOT_NAME = "fanout_latency.png"
SCALE_PLOT_NAME = "scale_inflight.png"
# Every timing of the run as a pyperf suite (`python -m pyperf stats|hist|compare_to`); not committed.
SAMPLES_PATH = Path(".cache") / "samples.pyperf.json.gz"


@dataclass
class Run:
    """A run in progress: how long each stage took."""

    started: float = field(default_factory=time.perf_counter)
    stages: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str, work: Callable[[], T]) -> T:
        """Run one stage, log its duration to stderr and keep it for the report."""
        print(f"[{self.elapsed():6.1f} s] {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        result = work()
        self.stages[name] = round(time.perf_counter() - start, 2)
        return result

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.started


def run(sizes: Sizes, output_dir: Path, command: str) -> dict[str, Any]:
    """Run every benchmark and write the three result files; returns the JSON document's metadata."""
    from benchmarks.chat import per_call_sections, streaming_section
    from benchmarks.contenders import Target
    from benchmarks.fanout import load_sections
    from benchmarks.fresh_loop import fresh_loop_section
    from benchmarks.imports import import_section
    from benchmarks.ingest import embedding_section, rerank_section
    from benchmarks.open_models import open_model_sections
    from benchmarks.plot import fanout_plot, scale_plot
    from benchmarks.scale import FULL_SCALE, QUICK_MODES, QUICK_SCALE, scale_sections
    from benchmarks.server import CHAT_MODEL, EmulatorProcess

    output_dir.mkdir(parents=True, exist_ok=True)
    current = Run()
    meta = machine()
    sections: list[Section] = [current.stage("import cost (fresh interpreters)", lambda: import_section(sizes))]
    emulator = EmulatorProcess(sizes.stream_chunks)
    with emulator as endpoints:
        import agno.agent  # noqa: F401  (import the contenders' libraries before silencing their loggers)

        if HAS_LITELLM:
            import litellm  # noqa: F401

        silence_logging()
        fast = Target(endpoints.base_url, endpoints.api_key, CHAT_MODEL)
        slow = Target(endpoints.stream_base_url, endpoints.api_key, CHAT_MODEL)
        sections += current.stage(
            "per-call CPU and wall (model and agent layers)", lambda: per_call_sections(fast, sizes)
        )
        sections += current.stage("open-model handling (CPU per call)", lambda: open_model_sections(fast, sizes))
        sections.append(current.stage("streaming", lambda: streaming_section(slow, sizes)))
        sections.append(current.stage("first token in a fresh loop", lambda: fresh_loop_section(fast, sizes)))
        load = current.stage(
            "emulator capacity and async fan-out", lambda: load_sections(fast, sizes, emulator.cpu_seconds)
        )
        sections += load.sections
        sections.append(current.stage("embedding ingestion", lambda: embedding_section(endpoints, sizes)))
        sections.append(current.stage("reranking", lambda: rerank_section(endpoints, sizes)))
    from benchmarks.cost_levers import cost_section

    sections.append(current.stage("cost levers (batch, session cache)", lambda: cost_section(sizes)))
    quick = sizes.name == "quick"
    scale_sizes, only = (QUICK_SCALE, QUICK_MODES) if quick else (FULL_SCALE, None)
    scale = current.stage("scale-out simulation (capped emulator)", lambda: scale_sections(scale_sizes, only))
    sections += scale.sections
    plots = []
    if HAS_MATPLOTLIB:
        current.stage("scale plot", lambda: scale_plot(scale, output_dir / SCALE_PLOT_NAME))
        current.stage(
            "plot", lambda: fanout_plot(load.latencies_ms, output_dir / PLOT_NAME, load.capacity.requests_per_second)
        )
        plots = [PLOT_NAME, SCALE_PLOT_NAME]
    meta.update(
        {
            "command": command,
            "sizes": asdict(sizes),
            "stage_seconds": current.stages,
            "total_seconds": round(current.elapsed(), 1),
            "load_average_end": [round(value, 2) for value in os.getloadavg()],
            "plots": plots,
            "skipped": skipped(),
        }
    )
    capacity = {**vars(load.capacity), "probes": [vars(probe) for probe in load.probes]}
    extra = {"capacity": capacity, "scale": {"sizes": vars(scale_sizes)}}
    write_json(output_dir / "results.json", meta, sections, extra)
    dump(output_dir / SAMPLES_PATH)
    render(output_dir)
    written = ", ".join(["RESULTS.md", "results.json", *plots, str(SAMPLES_PATH)])
    print(f"[{current.elapsed():6.1f} s] wrote {written} to {output_dir}", file=sys.stderr)
    return meta


def skipped() -> list[str]:
    """What this run left out because an optional package is missing (empty under `make bench`)."""
    return [note for absent, note in ((HAS_LITELLM, SKIPPED_LITELLM), (HAS_MATPLOTLIB, SKIPPED_PLOTS)) if not absent]


def render(output_dir: Path) -> None:
    """Write RESULTS.md from results.json alone: the report never holds a number the JSON does not."""
    import json

    data = json.loads((output_dir / "results.json").read_text())
    sections = [Section.from_json(section) for section in data["sections"]]
    (output_dir / "RESULTS.md").write_text(results_markdown(data["meta"], data["capacity"], sections))


def results_markdown(meta: dict[str, Any], capacity: dict[str, Any], sections: list[Section]) -> str:
    """The whole RESULTS.md."""
    packages = ", ".join(f"{name} {version}" for name, version in meta["packages"].items())
    load_start, load_end = meta["load_average_start"], meta["load_average_end"]
    probes = ", ".join(
        f"{probe['requests_per_second']:,.0f} req/s at {probe['concurrency']} in flight" for probe in capacity["probes"]
    )
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{meta['command']}` on {meta['date']}; the whole run took {meta['total_seconds']:.0f} s.",
        "",
        f"- Machine: {meta['nproc']} cores ({meta['cpu']}), {meta['platform']}, Python {meta['python']}.",
        f"- Packages: {packages}.",
        f"- Load average (1/5/15 min) at start {load_start}, at end {load_end}: other processes on these "
        f"{meta['nproc']} cores add noise, which the interleaved rounds spread evenly over the contenders.",
        f"- **Emulator capacity** (trivial chat requests for {capacity['seconds']:.1f} s; probes: {probes}): "
        f"{readme.capacity(capacity)} No contender can exceed this rate; throughput ratios near 1.00 mean the "
        "setup, not the library, is the limit.",
        *[f"- Left out of this run: {note}." for note in meta.get("skipped", [])],
        "",
        '## Targets (the issue\'s "done when")',
        "",
        checks_markdown(sections),
        "",
        "## Results (medians; x raw = value / raw SDK's, x agno = value / agno built-in's)",
        "",
    ]
    for section in sections:
        lines += [section_markdown(section), ""]
    plots = meta.get("plots", [PLOT_NAME])  # results from before "plots" was recorded had the fan-out plot
    if PLOT_NAME in plots:
        lines += ["## Fan-out latency distributions", "", "![Fan-out latency CDFs](fanout_latency.png)", ""]
    if SCALE_PLOT_NAME in plots and any(section.key.startswith("scale_") for section in sections):
        lines += [
            "## Scale-out: requests in flight at the capped emulator",
            "",
            "![Requests in flight over time](scale_inflight.png)",
            "",
        ]
    lines += [
        "## Method",
        "",
        "- The emulator (`agno_deepinfra.testing.DeepInfraEmulator`) runs in a child process "
        "(`python -m benchmarks.server`), so its CPU never counts as client CPU; client CPU is "
        "`time.process_time()` of the benchmark process (all its threads).",
        "- Two emulators in that process: one answers every chat request with a short fixed reply (per-call, agent, "
        "open-model, fan-out), the other streams a fixed reply in exactly `stream_chunks` chunks (streaming). "
        "Embeddings and rerank scores are the emulator's deterministic unscripted answers.",
        "- Contenders run in interleaved rounds whose order rotates every round; `gc.collect()` before every batch, "
        "and `gc.freeze()` after warm-up for the per-call, open-model and streaming stages (applied to all "
        "contenders alike). Medians and percentiles of timings are pyperf's (`pyperf.Benchmark`, one run per round); "
        "a run keeps "
        f"every timing in `{SAMPLES_PATH}` beside results.json (not committed) for `python -m pyperf stats`, "
        "`hist` or `compare_to` (significance tests).",
        "- Where the client spends its CPU was profiled once (cProfile, pyinstrument, per-step `timeit`, run of "
        "2026-11-22); the findings, and what was changed or kept because of them, are in CHANGELOG.md.",
        "- `AGNO_TELEMETRY=false`, `LITELLM_LOCAL_MODEL_COST_MAP=True`, `HF_HUB_OFFLINE=1`; agno, LiteLLM and "
        "httpx loggers at ERROR/WARNING; every name lookup except loopback fails (nothing leaves the machine).",
        f"- Sizes: `{meta['sizes']}`.",
        f"- Stage durations (s): `{meta['stage_seconds']}`.",
        "",
        "Contenders:",
        "",
        contender_legend(),
        "",
    ]
    return "\n".join(lines)
