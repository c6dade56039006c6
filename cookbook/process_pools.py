"""Agents in worker processes: a spawn process pool, and a Celery-style task that gets plain JSON.

Two ways to hand work to another process:

- pickle the agent (what `ProcessPoolExecutor`, multiprocessing, Ray and Celery's pickle
  serializer do): the copy carries the model's settings and API key, never its connections;
  each worker opens its own on first use. Forked children drop the parent's connections too.
- send `model.settings()` as JSON (Celery's default serializer) and rebuild it with
  `DeepInfra.from_settings()` in the worker: the settings never hold the API key, so the message
  can cross a broker; the worker reads DEEPINFRA_API_KEY from its own environment. The settings
  may not choose where that key goes: `from_settings()` accepts only DeepInfra's URL, the worker's
  DEEPINFRA_BASE_URL (shared with the driver here) or one the worker names
  (`trusted_base_urls=[...]`), and raises ValueError for any other.

Run: `python cookbook/process_pools.py`.
"""

import asyncio
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from _check import answered
from agno.agent import Agent

from agno_deepinfra import DeepInfra

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def run_pickled_agent(agent: Agent, question: str) -> str:
    """A pool task: the agent arrived by pickle."""
    return f"[pid {os.getpid()}] {str(answered(agent.run(question)).content)[:60]}"


def run_from_message(message: str) -> str:
    """A Celery-style task: the model arrives as JSON, the key from this worker's environment."""
    payload = json.loads(message)
    model = DeepInfra.from_settings(payload["model"])
    output = asyncio.run(Agent(model=model).arun(payload["question"]))
    return f"[pid {os.getpid()}] {str(answered(output).content)[:60]}"


def main() -> None:
    model = DeepInfra(id=MODEL_ID, max_tokens=48, retries=2, max_concurrency=8)
    agent = Agent(model=model)
    questions = [f"Name a fact about the number {n}." for n in range(4)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pickled = list(pool.map(run_pickled_agent, [agent] * len(questions), questions))
        messages = [json.dumps({"model": model.settings(), "question": q}) for q in questions]
        assert all("api_key" not in message for message in messages)  # nothing secret crosses the broker
        from_json = list(pool.map(run_from_message, messages))
    print(f"{len(pickled)}/{len(questions)} pickled agents answered in a spawn pool:")
    print("\n".join(pickled))
    print(f"{len(from_json)}/{len(questions)} models rebuilt from JSON answered (no key in the message):")
    print("\n".join(from_json))


if __name__ == "__main__":
    main()
