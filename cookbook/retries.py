"""Retries and backoff: transient DeepInfra failures absorbed by agno's own retry loop.

`retries=3` allows up to 4 HTTP attempts per model call; waits follow `delay_between_retries`
(doubled each time with `exponential_backoff`) and never undercut a server's `Retry-After`.
Client errors (a wrong model id, a bad key, an invalid parameter) are never retried.

Without a DeepInfra key (or with DEEPINFRA_BASE_URL pointing at an emulator) the recipe starts
its own emulator that fails twice (503, then 429 with Retry-After: 1) before answering, and
prints each attempt.

Run: `python cookbook/retries.py`.
"""

import os
import time

from _check import answered
from agno.agent import Agent

from agno_deepinfra import DeepInfra

MODEL_ID = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def live() -> None:
    model = DeepInfra(id=MODEL_ID, retries=3, delay_between_retries=1, exponential_backoff=True)
    print(answered(Agent(model=model).run("What is the capital of France?")).content)


def emulated() -> None:
    from agno_deepinfra.testing import DeepInfraEmulator, Fault

    with DeepInfraEmulator() as emu:
        emu.queue(Fault.status(503, body={"detail": {"error": "No capacity available for the model"}}))
        emu.queue(Fault.status(429, body={"detail": {"error": "Rate limited"}}, headers={"Retry-After": "1"}))
        model = DeepInfra(
            id=MODEL_ID,
            base_url=emu.base_url,
            api_key=emu.api_key,
            retries=3,
            delay_between_retries=0.25,
            exponential_backoff=True,
        )
        started = time.monotonic()
        print(answered(Agent(model=model).run("What is the capital of France?")).content)
        print("Attempts seen by the emulator:")
        for n, request in enumerate(emu.requests_for("chat"), start=1):
            print(f"  attempt {n} at +{request.time - started:.2f}s")
        print("Waits: 0.25 s (schedule) after the 503, then 1 s (Retry-After beats the 0.5 s schedule).")


if __name__ == "__main__":
    if os.getenv("DEEPINFRA_API_KEY") and not os.getenv("DEEPINFRA_BASE_URL"):
        live()
    else:
        emulated()
