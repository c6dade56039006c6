"""High fan-out: many concurrent `arun` calls on one model, on the aiohttp transport.

`async_transport="aiohttp"` runs the async client on aiohttp (`pip install "agno-deepinfra[aiohttp]"`),
whose connection pool stays cheap with hundreds of requests in flight; httpx's pool (the default)
spends more CPU per request the more are queued. Sync calls are unaffected.

DeepInfra caps the requests in flight per model (200 by default): `max_concurrency` keeps this
model's requests below it (the extra calls wait their turn, in order), and `retries` absorbs the
occasional 429 with backoff. `max_concurrency="auto"` learns the cap instead, for several
processes sharing one account (see ray_scale_out.py).

Run: `python cookbook/async_fanout.py` (falls back to httpx when aiohttp is not installed).
"""

import asyncio
import time
from importlib.util import find_spec

from _check import answered
from agno.agent import Agent
from agno.run.agent import RunOutput

from agno_deepinfra import DeepInfra

CALLS = 40
IN_FLIGHT = 20  # requests in flight at most: well under DeepInfra's per-model concurrency cap

transport = "aiohttp" if find_spec("aiohttp") else "httpx"
model = DeepInfra(
    id="meta-llama/Meta-Llama-3.1-8B-Instruct",
    async_transport=transport,
    max_tokens=16,
    retries=3,
    exponential_backoff=True,
    max_concurrency=IN_FLIGHT,
)
agent = Agent(model=model)


async def main() -> None:
    async def ask(number: int) -> RunOutput:
        return await agent.arun(f"Reply with the number {number} and nothing else.")

    started = time.perf_counter()
    outputs = await asyncio.gather(*(ask(number) for number in range(CALLS)))
    elapsed = time.perf_counter() - started
    completed = [answered(output) for output in outputs]  # ends the recipe at the first failed run
    print(f"{len(completed)}/{CALLS} runs completed in {elapsed:.2f} s over {transport}, {IN_FLIGHT} in flight")


if __name__ == "__main__":
    asyncio.run(main())
