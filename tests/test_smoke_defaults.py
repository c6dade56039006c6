"""Smoke test on default settings: one call of each kind, as a new user makes it, on whatever is installed.

Nothing here passes `timeout=`, an HTTP client or any transport setting: only the environment
(`DEEPINFRA_BASE_URL`, `DEEPINFRA_API_KEY`) points the package at the emulator, so the clients the
package builds by default are the ones under test. `make test` installs the newest releases on every
run: when an upstream release breaks what the package hands across (issue 23: httpx2 2.17 refused
the `httpx.Timeout` given to openai 3.x, and every sync call failed), it fails here, in one place,
with each kind of call named.
"""

from __future__ import annotations

import asyncio
import math

import openai
import pytest
from agno.agent import Agent
from agno.knowledge.document import Document
from agno.run.agent import RunContentEvent, RunErrorEvent, RunOutput
from agno.run.base import RunStatus
from pydantic import BaseModel

from agno_deepinfra import BatchOptions, DeepInfra, DeepInfraEmbedder, DeepInfraReranker, DeepInfraTools
from agno_deepinfra.testing import DeepInfraEmulator

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"  # tools and JSON mode, in the emulator's catalog


@pytest.fixture(autouse=True)
def _defaults(env_to_emulator: DeepInfraEmulator) -> None:
    """Every test here reaches the emulator through the environment only."""


def echo(prompt: str) -> str:
    """The emulator's deterministic answer to a plain prompt."""
    return f'You said: "{prompt}". This is a deterministic reply from the DeepInfra emulator.'


def completed(output: RunOutput) -> RunOutput:
    assert output.status == RunStatus.completed, output.content  # the error text, when the run failed
    assert output.content
    return output


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city to look up.
    """
    return f"Sunny in {city}, 21C"


class City(BaseModel):
    name: str
    population: int


# --------------------------------------------------------------------------- the clients agno builds


def test_the_default_clients_build_and_call(env_to_emulator: DeepInfraEmulator) -> None:
    model = DeepInfra(id=MODEL)
    client = model.get_client()
    assert isinstance(client, openai.OpenAI)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "sync"}])
    assert reply.choices[0].message.content == echo("sync")

    async def in_a_loop() -> str | None:
        async_client = model.get_async_client()
        assert isinstance(async_client, openai.AsyncOpenAI)
        answer = await async_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "a"}])
        return answer.choices[0].message.content

    assert asyncio.run(in_a_loop()) == echo("a")
    assert [request.path for request in env_to_emulator.requests_for("chat")] == ["/v1/openai/chat/completions"] * 2


# --------------------------------------------------------------------------- agno's four run paths


def test_run() -> None:
    assert completed(Agent(model=DeepInfra(id=MODEL)).run("ping")).content == echo("ping")


def test_arun() -> None:
    assert completed(asyncio.run(Agent(model=DeepInfra(id=MODEL)).arun("ping"))).content == echo("ping")


def test_stream() -> None:
    events = list(Agent(model=DeepInfra(id=MODEL)).run("ping", stream=True))
    assert not [event.content for event in events if isinstance(event, RunErrorEvent)]
    assert "".join(str(e.content) for e in events if isinstance(e, RunContentEvent)) == echo("ping")


def test_async_stream() -> None:
    async def collect() -> list[object]:
        return [event async for event in Agent(model=DeepInfra(id=MODEL)).arun("ping", stream=True)]

    events = asyncio.run(collect())
    assert not [event.content for event in events if isinstance(event, RunErrorEvent)]
    assert "".join(str(e.content) for e in events if isinstance(e, RunContentEvent)) == echo("ping")


# --------------------------------------------------------------------------- tools and structured output


def test_tool_call(env_to_emulator: DeepInfraEmulator) -> None:
    output = completed(Agent(model=DeepInfra(id=MODEL), tools=[get_weather]).run("What is the weather in Paris?"))
    assert "Sunny in Paris, 21C" in str(output.content)  # the tool ran between the two model calls
    assert len(env_to_emulator.requests_for("chat")) == 2


def test_structured_output() -> None:
    output = completed(Agent(model=DeepInfra(id=MODEL), output_schema=City).run("The largest city in Japan"))
    assert isinstance(output.content, City)


# --------------------------------------------------------------------------- embedder, reranker, media tools


def test_embedder_sync_and_async() -> None:
    with DeepInfraEmbedder() as embedder:
        vector = embedder.get_embedding("The cat sat on the mat")
        again = asyncio.run(embedder.async_get_embedding("The cat sat on the mat"))
    assert len(vector) == embedder.dimensions == 1024
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(vector, again, strict=True))  # same text, same vector


def test_reranker_sync_and_async() -> None:
    documents = [Document(content="Bananas are yellow."), Document(content="Returns are accepted within 45 days.")]
    question = "How many days do I have for returns?"
    with DeepInfraReranker() as reranker:
        for ranked in (reranker.rerank(question, documents), asyncio.run(reranker.arerank(question, documents))):
            assert [document.content for document in ranked] == [documents[1].content, documents[0].content]
            assert all(document.reranking_score is not None for document in ranked)


def test_media_tools(env_to_emulator: DeepInfraEmulator) -> None:
    with DeepInfraTools(enable_transcription=False, enable_speech_generation=False) as tools:
        agent = Agent(model=DeepInfra(id=MODEL), tools=[tools], send_media_to_model=False)
        output = completed(agent.run("Draw an image of a lighthouse at dawn."))
    assert output.images and output.images[0].content  # the picture the image route drew
    assert env_to_emulator.requests_for("images")


# --------------------------------------------------------------------------- batch mode


def test_batch_mode(env_to_emulator: DeepInfraEmulator) -> None:
    # Submitted at once and checked after a second: the window and polling only shorten the wait;
    # the HTTP settings (the SDK client that uploads, creates, polls and downloads) are the defaults.
    model = DeepInfra(id=MODEL, batch_api=BatchOptions(window=0, poll_interval=1))
    output = completed(asyncio.run(Agent(model=model).arun("ping")))
    assert output.content == echo("ping")
    assert [batch["status"] for batch in env_to_emulator.batch_api.created()] == ["completed"]
    assert not env_to_emulator.requests_for("chat")  # it went through the Batch API, not the real-time route
