"""Cost per 1,000 agent runs: real time, batch mode and session prompt caching, at the emulator's prices.

One workload for every row: `sessions` conversations of `turns` turns each (history on, a long
system prompt), the conversations side by side with `asyncio.gather`, the turns of one
conversation in order. Costs are agno's `metrics.cost` summed over the runs and scaled to 1,000
runs: the emulator's catalog prices, its cached-input price (half the input price) and the batch
price (80% of the catalog price, priced by the plugin from the catalog). Wall-clock runs under the
emulator's default batch clock (0.2 s validating, then 0.5 s in progress, per batch) with status
checks every 0.1 s: a batch waits for its clock, a real-time call does not. Runs in-process on its
own emulator: these rows measure money and waiting, not CPU.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

from benchmarks.config import Sizes
from benchmarks.contenders import OURS
from benchmarks.report import Metric, Row, Section

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
INSTRUCTIONS = "You are the support assistant of Nimbus Outfitters. Answer briefly and precisely. " * 8
TURNS = ("What is 12 + 30?", "And 7 + 8?", "What is 100 - 1?", "What is 6 * 7?", "And 9 + 9?")


async def _conversation(agent: Any, session: str, turns: int) -> list[Any]:
    return [await agent.arun(question, session_id=session) for question in TURNS[:turns]]


def _measure(base_url: str, api_key: str, sessions: int, turns: int, **model_args: Any) -> dict[str, float | None]:
    from agno.agent import Agent
    from agno.db.in_memory import InMemoryDb

    from agno_deepinfra import DeepInfra

    model = DeepInfra(id=MODEL, base_url=base_url, api_key=api_key, **model_args)
    agent = Agent(model=model, db=InMemoryDb(), instructions=INSTRUCTIONS, add_history_to_context=True)

    async def workload() -> list[list[Any]]:
        return await asyncio.gather(*(_conversation(agent, f"s{index}", turns) for index in range(sessions)))

    started = time.perf_counter()
    outputs = [output for conversation in asyncio.run(workload()) for output in conversation]
    wall = time.perf_counter() - started
    metrics = [output.metrics for output in outputs if output.metrics is not None]
    cost = sum(metric.cost or 0 for metric in metrics)
    tokens_in = sum(metric.input_tokens for metric in metrics)
    cached = sum(metric.cache_read_tokens for metric in metrics)
    return {
        "usd_per_1000_runs": cost / len(outputs) * 1000,
        "cached_input_share": cached / tokens_in if tokens_in else None,
        "wall_s": wall,
        "runs": float(len(outputs)),
    }


def cost_section(sizes: Sizes) -> Section:
    """The cost-levers table."""
    from agno_deepinfra import BatchOptions
    from agno_deepinfra.testing import DeepInfraEmulator

    sessions, turns = (4, 3) if sizes.name == "quick" else (40, 5)
    with DeepInfraEmulator(api_key="bench-key", record=False) as emu:
        measure = partial(_measure, emu.base_url, emu.api_key, sessions, turns)
        batch = BatchOptions(window=60, max_requests=sessions, poll_interval=0.1, max_poll_interval=0.1)
        rows = [
            Row("realtime", OURS, "real time", measure(session_prompt_cache=False)),
            Row("batch", OURS, "batch mode", measure(session_prompt_cache=False, batch_api=batch)),
            Row("session_cache", OURS, "real time + session cache key", measure()),
        ]
    return Section(
        key="cost_levers",
        title="Cost levers: cost per 1,000 agent runs (emulator prices)",
        description=(
            f"{sessions} conversations x {turns} turns with history, all conversations at once; cost is agno's "
            "metrics.cost scaled to 1,000 runs; wall-clock under the emulator's batch clock (see Method)."
        ),
        metrics=[
            Metric("usd_per_1000_runs", "USD per 1,000 runs", 6),
            Metric("cached_input_share", "cached share of input tokens", 2),
            Metric("wall_s", "wall-clock (s)", 2),
            Metric("runs", "runs measured"),
        ],
        rows=rows,
        notes=[
            "Batch mode: every turn of the conversations is one batch; costs are the catalog price x 0.8.",
            "Session cache: the emulator bills cached input tokens at half the input price, and caches only under a "
            "prompt_cache_key (DeepInfra also caches prefixes without one), so the first two rows show no cache hits.",
        ],
    )


if __name__ == "__main__":  # `python -m benchmarks.cost_levers [--quick]`: this table alone
    import sys

    from benchmarks.config import FULL, QUICK
    from benchmarks.report import section_markdown

    print(section_markdown(cost_section(QUICK if "--quick" in sys.argv else FULL)))
