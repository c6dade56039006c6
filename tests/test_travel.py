"""Objects that travel: pickle and cloudpickle round trips, forked children, spawn pools; against the emulator."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import cloudpickle
import httpx
import openai
import pytest
from agno.agent import Agent
from agno.knowledge.document import Document
from agno.run.base import RunStatus
from agno.team import Team

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraReranker
from agno_deepinfra.testing import DeepInfraEmulator, Reply

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
PICKLERS = [pytest.param(pickle, id="pickle"), pytest.param(cloudpickle, id="cloudpickle")]
HISTORY = ["fresh", "used-sync", "used-async"]


def round_trip(pickler: Any, obj: Any) -> Any:
    return pickle.loads(pickler.dumps(obj))


def use(history: str, sync: Callable[[], Any], asynchronous: Callable[[], Any]) -> None:
    """Put an object through a call first, so it holds live clients (or not, when fresh)."""
    if history == "used-sync":
        sync()
    elif history == "used-async":
        asyncio.run(asynchronous())


def assert_no_live_clients(model: DeepInfra) -> None:
    assert model.client is None and model.async_client is None and model.http_client is None
    assert len(model._async_clients) == 0


@pytest.mark.parametrize("pickler", PICKLERS)
@pytest.mark.parametrize("history", HISTORY)
def test_a_model_and_its_agent_travel_and_work_on_arrival(emu: DeepInfraEmulator, pickler: Any, history: str) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key=emu.api_key, max_concurrency=4, retries=1)
    agent = Agent(model=model)
    use(history, lambda: agent.run("warm up"), lambda: agent.arun("warm up"))

    copied_model, copied_agent = round_trip(pickler, model), round_trip(pickler, agent)
    assert_no_live_clients(copied_model)
    assert copied_model == model  # same configuration
    assert copied_model._limiter is not model._limiter and copied_model._limiter.limit == 4  # type: ignore[union-attr]
    emu.reset()
    emu.queue(Reply(content="sync answer"))
    emu.queue(Reply(content="async answer"))
    assert copied_agent.run("hi").content == "sync answer"
    assert asyncio.run(copied_agent.arun("hi")).content == "async answer"


@pytest.mark.parametrize("pickler", PICKLERS)
def test_a_team_travels_after_use(emu: DeepInfraEmulator, pickler: Any) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key=emu.api_key)
    team = Team(members=[Agent(name="helper", model=model)], model=model)
    asyncio.run(team.arun("warm up"))
    copied = round_trip(pickler, team)
    emu.reset()
    emu.always(Reply(content="team answer"))
    output = asyncio.run(copied.arun("hi"))
    assert output.status == RunStatus.completed and output.content == "team answer"


@pytest.mark.parametrize("pickler", PICKLERS)
@pytest.mark.parametrize("history", HISTORY)
def test_an_embedder_travels_and_works_on_arrival(emu: DeepInfraEmulator, pickler: Any, history: str) -> None:
    embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key, dimensions=32, max_concurrency="auto")
    use(history, lambda: embedder.get_embedding("x"), lambda: embedder.async_get_embedding("x"))
    copied = round_trip(pickler, embedder)
    assert copied._clients._sync is None and len(copied._clients._async) == 0
    assert copied.get_embedding("hello") == embedder.get_embedding("hello")
    assert len(asyncio.run(copied.async_get_embedding("hello"))) == 32
    embedder.close()
    copied.close()


@pytest.mark.parametrize("pickler", PICKLERS)
@pytest.mark.parametrize("history", HISTORY)
def test_a_reranker_travels_and_works_on_arrival(emu: DeepInfraEmulator, pickler: Any, history: str) -> None:
    reranker = DeepInfraReranker(base_url=emu.base_url, api_key=emu.api_key, raise_on_error=True, max_concurrency=2)
    documents = [Document(content="cats purr"), Document(content="dogs bark")]
    use(history, lambda: reranker.rerank("cats", documents), lambda: reranker.arerank("cats", documents))
    copied = round_trip(pickler, reranker)
    assert copied._clients._sync is None and copied._limiter is not None and copied._limiter.limit == 2
    expected = [doc.content for doc in reranker.rerank("cats", documents)]
    assert [doc.content for doc in copied.rerank("cats", documents)] == expected
    assert [doc.content for doc in asyncio.run(copied.arerank("cats", documents))] == expected
    reranker.close()
    copied.close()


def test_a_callers_own_clients_stay_behind(emu: DeepInfraEmulator) -> None:
    import httpx

    with httpx.Client() as client:
        embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key, dimensions=32, client=client)
        copied = pickle.loads(pickle.dumps(embedder))
        assert copied.client is None and embedder.client is client
        assert len(copied.get_embedding("x")) == 32
        copied.close()


def test_the_key_travels_in_the_pickle_but_never_in_reprs_or_dicts(emu: DeepInfraEmulator) -> None:
    """The decision: a pickle is the object, key included, so a worker can call DeepInfra; it is a secret.

    What goes through a broker as plain data (`to_dict()`) never has the key: the worker reads its own.
    """
    model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key="sk-travel-secret")
    reranker = DeepInfraReranker(api_key="sk-travel-secret")
    embedder = DeepInfraEmbedder(api_key="sk-travel-secret")
    for obj in (model, reranker, embedder):
        copied = pickle.loads(pickle.dumps(obj))
        assert copied.api_key == "sk-travel-secret"
        assert "sk-travel-secret" not in repr(copied)
    assert "sk-travel-secret" not in str(model.to_dict())
    assert "sk-travel-secret" not in reranker.model_dump_json()


def test_settings_carry_the_client_settings_as_json_without_the_key(emu: DeepInfraEmulator) -> None:
    """`settings()` is the JSON round trip for Celery; `to_dict()` stays agno's record."""
    model = DeepInfra(
        id=MODEL_ID,
        base_url=emu.base_url,
        api_key=emu.api_key,
        max_concurrency="auto",
        retries=3,
        timeout=httpx.Timeout(30.0, connect=5.0),
        top_k=7,
    )
    message = json.dumps(model.settings())
    assert emu.api_key not in message
    rebuilt = DeepInfra.from_settings(json.loads(message), trusted_base_urls=[emu.root_url])  # the worker names it
    assert rebuilt == model and rebuilt.api_key is None  # the worker brings its own key
    sdk_timeout = openai.Timeout(30.0, connect=5.0)  # an httpx.Timeout becomes the SDK's own type
    assert (rebuilt.max_concurrency, rebuilt.retries, rebuilt.timeout) == ("auto", 3, sdk_timeout)
    assert "max_concurrency" not in model.to_dict()


# --------------------------------------------------------------------------- processes

FORKED: dict[str, Any] = {}  # what a forked child inherits without pickling


def _run_in_forked_child(results: Any) -> None:
    agent = FORKED["agent"]
    inherited = (agent.model.client, len(agent.model._async_clients), agent.model._limiter.in_flight)
    sync = agent.run("from the child").content
    output = asyncio.run(agent.arun("from the child, async")).content
    results.put((inherited, sync, output))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_model_used_in_the_parent_works_in_forked_children(emu: DeepInfraEmulator) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key=emu.api_key, max_concurrency=2)
    agent = Agent(model=model)
    assert agent.run("parent, sync").status == RunStatus.completed
    assert asyncio.run(agent.arun("parent, async")).status == RunStatus.completed
    assert model.client is not None  # a live pool the children must not share
    FORKED["agent"] = agent
    emu.always(Reply(content="answer"))
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    children = [context.Process(target=_run_in_forked_child, args=(results,)) for _ in range(2)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    assert outcomes == [((None, 0, 0), "answer", "answer")] * 2  # fresh clients and limiter in each child
    assert agent.run("parent again").content == "answer"  # the parent's own pool still works


def _run_agent(agent: Agent, prompt: str) -> tuple[str, str]:
    output = asyncio.run(agent.arun(prompt))
    return str(output.status.value), str(output.content)


def test_agents_run_in_a_spawn_process_pool(emu: DeepInfraEmulator) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key=emu.api_key, max_concurrency="auto")
    agent = Agent(model=model)
    asyncio.run(agent.arun("warm up in the parent"))
    emu.always(Reply(content="from a worker"))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_run_agent, [agent] * 4, [f"job {n}" for n in range(4)]))
    assert results == [(RunStatus.completed.value, "from a worker")] * 4
