"""The plots: fan-out latency CDFs (one panel per concurrency level) and scale-out requests in flight over time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.contenders import LABELS

if TYPE_CHECKING:
    from benchmarks.scale import ScaleResults

COLORS = {
    "raw_sdk": "#444444",
    "agno_builtin": "#1f77b4",
    "agno_deepinfra": "#d62728",
    "litellm": "#2ca02c",
    "agno_deepinfra_aiohttp": "#ff7f0e",
    "raw_sdk_aiohttp": "#999999",
}


@contextmanager
def panels(count: int, width: float, path: Path, title: str) -> Iterator[list[Any]]:
    """A row of `count` panels (matplotlib's Agg backend, no display needed), saved as a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, count, figsize=(width * count, 4.6), squeeze=False)
    yield list(axes[0])
    for axis in axes[0]:
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def fanout_plot(latencies_ms: dict[int, dict[str, list[float]]], path: Path, capacity_rps: float | None) -> None:
    """The fan-out latency distributions: an empirical CDF per contender and concurrency level."""
    levels = sorted(latencies_ms)
    title = "Async fan-out latency (empirical CDF, all rounds pooled)"
    if capacity_rps:
        title += f"; setup capacity {capacity_rps:,.0f} req/s (raw SDK probe, results.json capacity)"
    with panels(len(levels), 6.4, path, title) as axes:
        for axis, level in zip(axes, levels, strict=True):
            for name in latencies_ms[level]:
                values = sorted(latencies_ms[level][name])
                fractions = [(index + 1) / len(values) for index in range(len(values))]
                if values:
                    axis.step(
                        values, fractions, where="post", label=LABELS[name], color=COLORS.get(name), linewidth=1.6
                    )
            axis.set(title=f"{level:,} concurrent calls", xlabel="latency (ms)", ylabel="fraction of calls completed")
            axis.legend(loc="lower right", fontsize=8)


def scale_plot(results: ScaleResults, path: Path) -> None:
    """Requests in flight at the emulator over time, one panel per part, one line per mode."""
    sizes = results.sizes
    title = f"{sizes.runs:,} agent runs against a per-model cap of {sizes.cap}, {sizes.service:g} s per request"
    parts = {"a_": "(a) one process", "b_": f"(b) {sizes.workers} processes sharing the cap"}
    with panels(2, 6.5, path, title) as axes:
        for axis, (prefix, part) in zip(axes, parts.items(), strict=True):
            for key, timeline in results.timelines.items():
                if key.startswith(prefix) and timeline:
                    times, counts = zip(*timeline, strict=True)
                    axis.step(times, counts, where="post", label=results.labels[key], linewidth=1.2)
            axis.axhline(sizes.cap, color="black", linestyle="--", linewidth=0.8, label=f"cap C = {sizes.cap}")
            ideal = f"ideal makespan {sizes.ideal:.1f} s"
            axis.axvline(sizes.ideal, color="grey", linestyle=":", linewidth=0.8, label=ideal)
            axis.set(title=part, xlabel="seconds since the batch started", ylabel="requests in flight at the server")
            axis.legend(loc="upper right", fontsize=7)
