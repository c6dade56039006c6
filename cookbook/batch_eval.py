"""Batch evaluation: 100 agent runs with a tool through DeepInfra's Batch API, at 20% off real-time prices.

The agent code is the usual `asyncio.gather` of `agent.arun` calls; only the model changes:
`DeepInfra(batch_api=BatchOptions(...))`. The calls of each step are collected into one batch
(100 requests: the tool-call step, then the answer step), the tool runs locally in between, and
each run gets its own answer back. The cost agno reports is priced at the batch rate; the recipe
prints it beside the same tokens at real-time catalog prices.

Against the real API a batch can take up to 24 hours (usually much less): progress is printed at
each status change. Run: `python cookbook/batch_eval.py` (uses DEEPINFRA_API_KEY).
"""

import asyncio

from _check import answered
from agno.agent import Agent

from agno_deepinfra import BatchOptions, BatchProgress, DeepInfra, list_models

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
POPULATIONS = {
    "Tokyo": "37 million",
    "Delhi": "33 million",
    "Shanghai": "29 million",
    "Dhaka": "23 million",
    "Cairo": "22 million",
    "Lagos": "16 million",
    "Paris": "11 million",
    "Lima": "11 million",
    "Seoul": "10 million",
    "London": "9 million",
}
CITIES = list(POPULATIONS) * 10  # 100 evaluation items


def get_population(city: str) -> str:
    """Get the population of a city.

    Args:
        city: The city to look up.
    """
    return POPULATIONS.get(city, "unknown")


def report(progress: BatchProgress) -> None:
    print(f"  batch {progress.batch_id}: {progress.status}, {progress.completed}/{progress.total} done")


# 100 calls arrive at once: `max_requests=len(CITIES)` submits as soon as they are all in; `window`
# bounds the wait otherwise. Status checks start after 1 s and back off to a minute.
options = BatchOptions(window=10, max_requests=len(CITIES), poll_interval=1, max_poll_interval=60, on_progress=report)
agent = Agent(model=DeepInfra(id=MODEL, batch_api=options), tools=[get_population])


async def evaluate() -> None:
    outputs = await asyncio.gather(*(agent.arun(f"What is the population of {city}?") for city in CITIES))
    outputs = [answered(output) for output in outputs]  # ends the recipe at the first failed run
    correct = sum(POPULATIONS[city] in str(output.content) for city, output in zip(CITIES, outputs, strict=False))
    print(f"\nCorrect answers: {correct}/{len(CITIES)}")

    batch_cost = sum(output.metrics.cost or 0 for output in outputs if output.metrics)
    tokens_in = sum(output.metrics.input_tokens for output in outputs if output.metrics)
    tokens_out = sum(output.metrics.output_tokens for output in outputs if output.metrics)
    pricing = next(info.pricing for info in list_models() if info.id == MODEL)
    realtime_cost = (
        tokens_in * (pricing.input_per_million or 0) + tokens_out * (pricing.output_per_million or 0)
    ) / 1e6
    print(f"Tokens:            {tokens_in} in, {tokens_out} out over {len(CITIES)} runs")
    print(f"Batch cost:        ${batch_cost:.6f} (agno's metrics.cost, batch price)")
    print(f"Real-time cost:    ${realtime_cost:.6f} (the same tokens at catalog prices)")
    print(f"Saved:             {100 * (1 - batch_cost / realtime_cost):.0f}%")


if __name__ == "__main__":
    asyncio.run(evaluate())
