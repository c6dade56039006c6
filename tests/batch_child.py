"""A workload in batch mode with a journal, run in a child process by tests/test_batch_resume.py.

Usage: python batch_child.py BASE_URL API_KEY JOURNAL_PATH [step]. Prints one JSON line: each
question's status, answer, cost and whether the answer was replayed from the journal, in question
order. With `step`, it first reads the journal (as a long-lived worker that used it before would
have), prints "ready" and waits for a line on stdin before it runs; it logs the package's INFO
lines (the journal lock's) to stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from agno.agent import Agent

from agno_deepinfra import BatchOptions, DeepInfra
from agno_deepinfra.batch._journal import open_journal
from agno_deepinfra.batch.options import BATCH_DATA_KEY

QUESTIONS = ["What is 1 + 1?", "What is 2 + 3?", "What is 4 + 4?"]


async def main(base_url: str, api_key: str, journal: str, step: bool) -> None:
    options = BatchOptions(
        window=600, max_requests=len(QUESTIONS), poll_interval=0.05, max_poll_interval=0.05, journal=journal
    )
    model = DeepInfra(
        id="meta-llama/Llama-3.3-70B-Instruct-Turbo", base_url=base_url, api_key=api_key, batch_api=options
    )
    agent = Agent(model=model)  # a new random agno session id in every process
    if step:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
        open_journal(journal)  # this process's view of the journal, taken now: stale by the time it submits
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    print("collecting", flush=True)
    outputs = await asyncio.gather(*(agent.arun(question) for question in QUESTIONS))
    answers = []
    for output in outputs:
        marker = ((output.model_provider_data or {}).get("model_extra") or {}).get(BATCH_DATA_KEY) or {}
        cost = output.metrics.cost if output.metrics is not None else None
        answers.append([str(output.status.value), str(output.content), cost, marker.get("replayed")])
    print(json.dumps(answers), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4], step=sys.argv[4:5] == ["step"]))
