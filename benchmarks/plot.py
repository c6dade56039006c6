"""The fan-out latency plot: one panel per concurrency level, one empirical CDF per contender."""

from __future__ import annotations

from pathlib import Path

from benchmarks.contenders import LABELS

COLORS = {
    "raw_sdk": "#444444",
    "agno_builtin": "#1f77b4",
    "agno_deepinfra": "#d62728",
    "litellm": "#2ca02c",
    "agno_deepinfra_aiohttp": "#ff7f0e",
    "raw_sdk_aiohttp": "#999999",
}


def fanout_plot(latencies_ms: dict[int, dict[str, list[float]]], path: Path, capacity_rps: float | None) -> None:
    """Write a PNG of the latency distributions (matplotlib's Agg backend, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = sorted(latencies_ms)
    figure, axes = plt.subplots(1, len(levels), figsize=(6.4 * len(levels), 4.6), squeeze=False)
    for axis, level in zip(axes[0], levels, strict=True):
        for name in latencies_ms[level]:
            values = sorted(latencies_ms[level][name])
            if not values:
                continue
            fractions = [(index + 1) / len(values) for index in range(len(values))]
            axis.step(values, fractions, where="post", label=LABELS[name], color=COLORS.get(name), linewidth=1.6)
        axis.set_title(f"{level:,} concurrent calls")
        axis.set_xlabel("latency (ms)")
        axis.set_ylabel("fraction of calls completed")
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    title = "Async fan-out latency (empirical CDF, all rounds pooled)"
    if capacity_rps:
        title += f"; setup capacity {capacity_rps:,.0f} req/s (raw SDK probe, results.json capacity)"
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
