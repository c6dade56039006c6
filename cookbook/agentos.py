"""AgentOS and saved agents: sessions, a Registry, traces in the same db, and an eval with a model override.

Three things make a DeepInfra agent survive everything AgentOS does with it:

1. `agno_deepinfra.register()` once at startup: agno rebuilds models from their provider and id
   (saved agents, `deepinfra:<id>` strings, eval model overrides), and without it the rebuild is
   agno's own minimal class.
2. A rebuilt model keeps only the environment (`DEEPINFRA_API_KEY`, `DEEPINFRA_BASE_URL`). To get a
   configured model back (retries, sampling, base URL), put it in agno's `Registry`.
3. One database for sessions, saved agents, evals and traces (`tracing=True`).

The app is served in-process with FastAPI's `TestClient` so the recipe needs no port; with
`uvicorn` it is `agent_os.serve(app)`. Without DEEPINFRA_API_KEY it starts the emulator itself.

Run: `python cookbook/agentos.py` (needs `pip install "agno-deepinfra[agentos]"`).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

from _check import answered, fail

import agno_deepinfra
from agno_deepinfra import DeepInfra

AGENT_MODEL = "Qwen/Qwen3-32B"
JUDGE_OVERRIDE = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def main(db_file: Path) -> None:
    from agno.agent import Agent
    from agno.db.sqlite import SqliteDb
    from agno.os import AgentOS
    from agno.registry import Registry
    from agno.run.agent import RunOutput
    from fastapi.testclient import TestClient

    agno_deepinfra.register()  # before agno rebuilds anything
    db = SqliteDb(db_file=str(db_file))
    model = DeepInfra(id=AGENT_MODEL, temperature=0.3, retries=2, exponential_backoff=True)
    registry = Registry(models=[model])

    # A saved agent comes back with its configured model only through the registry.
    Agent(id="helper", name="helper", model=model, db=db).save()
    with_registry = Agent.load("helper", db=db, registry=registry)
    without = Agent.load("helper", db=db)
    assert with_registry is not None and without is not None
    print(f"loaded with the registry:    {type(with_registry.model).__name__}, retries={with_registry.model.retries}")
    print(f"loaded without the registry: {type(without.model).__name__}, retries={without.model.retries} (env only)")

    agent = Agent(id="helper", name="helper", model=model, db=db, add_history_to_context=True)
    agent_os = AgentOS(agents=[agent], db=db, registry=registry, tracing=True, telemetry=False)
    with TestClient(agent_os.get_app()) as client:
        for message in ("My name is Ada.", "What is my name?"):
            run = client.post("/agents/helper/runs", data={"message": message, "stream": "false", "session_id": "s1"})
            print(f"run: {answered(RunOutput.from_dict(run.json())).content}")  # the run as AgentOS returns it
        [session] = client.get("/sessions", params={"type": "agent"}).json()["data"]
        print(f"session {session['session_id']}: cost ${session['metrics']['cost']:.6f}")

        # AgentOS lowercases the override id; the plugin retries once with the catalog's spelling.
        evaluation = client.post(
            "/eval-runs",
            json={
                "agent_id": "helper",
                "eval_type": "accuracy",
                "input": "What is 2 + 2?",
                "expected_output": "4",
                "model_id": JUDGE_OVERRIDE,
                "model_provider": "DeepInfra",
            },
        )
        if evaluation.status_code != 200:
            fail(f"the eval failed: HTTP {evaluation.status_code} {evaluation.text}")
        print(f"eval with model override {evaluation.json()['model_id']!r}: HTTP {evaluation.status_code}")
        traces = client.get("/traces").json()["data"]
        print(f"traces stored in {db_file.name}: {len(traces)}")


if __name__ == "__main__":
    with ExitStack() as stack:
        if not os.getenv("DEEPINFRA_API_KEY"):
            from agno_deepinfra.testing import DeepInfraEmulator

            emu = stack.enter_context(DeepInfraEmulator())
            os.environ.update(DEEPINFRA_BASE_URL=emu.root_url, DEEPINFRA_API_KEY=emu.api_key)
        main(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "agentos.db")
