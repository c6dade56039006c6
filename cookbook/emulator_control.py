"""Script a standalone DeepInfra emulator over HTTP, as a test in another process or language would.

`python -m agno_deepinfra.testing serve` runs the emulator on 127.0.0.1. Anything that speaks HTTP
can then queue replies and faults under `/_emulator/` (with the emulator's key) and read the
request log. Here: a 503 then a scripted answer, a model the catalog snapshot lacks, and the log.
See agno_deepinfra/testing/SCRIPTING.md for every route.

Run: `python cookbook/emulator_control.py` (always offline: it starts its own emulator).
"""

import subprocess
import sys

import httpx
from _check import answered
from agno.agent import Agent

from agno_deepinfra import DeepInfra

KEY = "emulator-key"

if __name__ == "__main__":
    command = [sys.executable, "-m", "agno_deepinfra.testing", "serve", "--port", "0", "--api-key", KEY]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().split("base_url=")[1].split()[0]  # printed once it listens
        root = base_url.removesuffix("/v1/openai")
        control = httpx.Client(base_url=f"{root}/_emulator", headers={"Authorization": f"Bearer {KEY}"})

        # The next chat request gets a 503 with Retry-After, the one after it a scripted answer.
        control.post("/queue", json={"fault": {"kind": "status", "status_code": 503, "headers": {"Retry-After": "0"}}})
        control.post("/queue", json={"reply": {"content": "Scripted from another process."}})
        agent = Agent(model=DeepInfra(id="openai/gpt-oss-120b", base_url=base_url, api_key=KEY, retries=1))
        print(f"Agent answered: {answered(agent.run('hi')).content}")

        # A model newer than the emulator's catalog snapshot: a 404 that says so, until it is added.
        model = DeepInfra(id="acme/Brand-New-70B", base_url=base_url, api_key=KEY)
        print(f"Before adding it: {Agent(model=model).run('hi').content}")
        control.post("/models", json={"id": "acme/Brand-New-70B", "context_length": 131072})
        print(f"After adding it: {answered(Agent(model=model).run('What is 6 * 7?')).content}")

        log = control.get("/requests", params={"route": "chat"}).json()["requests"]
        print(f"The emulator logged {len(log)} chat requests: {[entry['body']['model'] for entry in log]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
