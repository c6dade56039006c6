"""A workload in batch mode with a journal, run in a child process by tests/test_batch_resume.py.

Usage: python batch_child.py BASE_URL API_KEY JOURNAL_PATH. Prints one JSON line: each question's
status and answer, in question order.
"""

from __future__ import annotations

import asyncio
import json
import sys

from agno.agent import Agent

from agno_deepinfra import BatchOptions, DeepInfra

QUESTIONS = ["What is 1 + 1?", "What is 2 + 3?", "What is 4 + 4?"]


async def main(base_url: str, api_key: str, journal: str) -> None:
    options = BatchOptions(
        window=600, max_requests=len(QUESTIONS), poll_interval=0.05, max_poll_interval=0.05, journal=journal
    )
    model = DeepInfra(
        id="meta-llama/Llama-3.3-70B-Instruct-Turbo", base_url=base_url, api_key=api_key, batch_api=options
    )
    agent = Agent(model=model)  # a new random agno session id in every process
    print("collecting", flush=True)
    outputs = await asyncio.gather(*(agent.arun(question) for question in QUESTIONS))
    print(json.dumps([[str(output.status.value), str(output.content)] for output in outputs]), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
