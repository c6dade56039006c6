"""AgentOS serving an agent on `DeepInfra`, through FastAPI's `TestClient` and the emulator.

AgentOS stores sessions, rebuilds models for evals with a model override (lowercasing the id) and
builds models from `deepinfra:` strings for memory optimisation. With `register()` and the
environment aimed at the emulator, every one of those model calls must be ours and reach it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator, Reply

pytest.importorskip("fastapi", reason="AgentOS needs the agentos extra: pip install -e '.[agentos]'")

AGENT_MODEL = "Qwen/Qwen3-32B"
OTHER_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"


@pytest.fixture
def os_client(env_to_emulator: DeepInfraEmulator, registered: None, tmp_path: Path) -> Iterator[Any]:
    from agno.agent import Agent
    from agno.db.sqlite import SqliteDb
    from agno.os import AgentOS
    from fastapi.testclient import TestClient

    db = SqliteDb(db_file=str(tmp_path / "os.db"))
    agent = Agent(id="helper", name="helper", model=DeepInfra(id=AGENT_MODEL, top_k=20, retries=1), db=db)
    app = AgentOS(agents=[agent], db=db, telemetry=False).get_app()
    with TestClient(app) as client:
        client.db = db  # type: ignore[attr-defined]
        yield client


def test_agents_endpoint_shows_the_deepinfra_model(os_client: Any) -> None:
    [agent] = os_client.get("/agents").json()
    assert agent["model"] == {"name": "DeepInfra", "model": AGENT_MODEL, "provider": "DeepInfra"}


def test_a_run_and_a_streamed_run_share_a_stored_session(os_client: Any, env_to_emulator: DeepInfraEmulator) -> None:
    env_to_emulator.queue(Reply(content="Hello, Ada."))
    env_to_emulator.queue(Reply(content="Again, Ada."))
    run = os_client.post("/agents/helper/runs", data={"message": "I am Ada", "stream": "false", "session_id": "s1"})
    assert run.status_code == 200 and run.json()["content"] == "Hello, Ada."
    streamed = os_client.post("/agents/helper/runs", data={"message": "again", "stream": "true", "session_id": "s1"})
    assert streamed.status_code == 200
    assert "event: RunCompleted" in streamed.text and "Again, Ada." in streamed.text

    [session] = os_client.get("/sessions", params={"type": "agent"}).json()["data"]
    assert session["session_id"] == "s1"
    assert session["metrics"]["cost"] > 0  # DeepInfra's estimated_cost, summed over both runs
    bodies = [r.body for r in env_to_emulator.requests_for("chat")]
    assert [b["model"] for b in bodies] == [AGENT_MODEL, AGENT_MODEL] and bodies[0]["top_k"] == 20


def _eval(client: Any, **model: str) -> Any:
    request = {"agent_id": "helper", "eval_type": "accuracy", "input": "2+2?", "expected_output": "4", **model}
    return client.post("/eval-runs", json=request)


def test_an_eval_on_the_agents_own_model(os_client: Any, env_to_emulator: DeepInfraEmulator) -> None:
    response = _eval(os_client, model_id=AGENT_MODEL, model_provider="DeepInfra")
    assert response.status_code == 200
    assert response.json()["eval_data"]["results"]  # the agent answered and the judge scored it
    assert {r.model for r in env_to_emulator.requests_for("chat")} == {AGENT_MODEL}


def test_an_eval_with_a_model_override_runs_on_our_class_despite_the_lowercased_id(
    os_client: Any, env_to_emulator: DeepInfraEmulator
) -> None:
    """AgentOS lowercases the override id; the case correction finds the catalog's spelling."""
    response = _eval(os_client, model_id=OTHER_MODEL, model_provider="DeepInfra")
    assert response.status_code == 200
    assert response.json()["model_id"] == OTHER_MODEL.lower()
    routes = [(r.route, r.model) for r in env_to_emulator.requests]
    assert routes[:3] == [("chat", OTHER_MODEL.lower()), ("models", None), ("chat", OTHER_MODEL)]
    assert ("chat", OTHER_MODEL.lower()) not in routes[1:]  # corrected once, then sent right


def test_optimize_memories_with_a_deepinfra_model_string(
    os_client: Any, env_to_emulator: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agno.utils.tokens
    from agno.db.schemas.memory import UserMemory

    # agno counts the memories' tokens with tiktoken when it is installed (`make bench` brings it,
    # through LiteLLM), and tiktoken downloads its encoding on first use: the suite is offline, so
    # agno's own fallback (a character-based estimate) counts here, installed or not.
    monkeypatch.setattr(agno.utils.tokens, "_get_tiktoken_encoding", lambda model_id: None)

    for text in ["Ada likes tea, especially green tea, in the mornings", "Ada lives in Paris, France, near the river"]:
        os_client.db.upsert_user_memory(UserMemory(memory=text, user_id="ada"))
    env_to_emulator.queue(Reply(content="Ada: green tea; Paris."))
    request = {"user_id": "ada", "model": f"deepinfra:{AGENT_MODEL}", "apply": False}
    response = os_client.post("/optimize-memories", json=request)
    assert response.status_code == 200, response.text
    assert response.json()["memories_before"] == 2
    assert [r.model for r in env_to_emulator.requests_for("chat")] == [AGENT_MODEL]
