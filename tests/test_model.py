"""The DeepInfra model through agno's real Agent, the real openai SDK and the emulator's sockets."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.exceptions import ModelAuthenticationError
from agno.models.deepinfra import DeepInfra as AgnoDeepInfra
from agno.models.message import Message
from agno.run.agent import RunContentEvent, RunOutput
from agno.run.base import RunStatus
from paths import NEEDS_AIOHTTP, PATHS, run_path
from pydantic import BaseModel, Field

import agno_deepinfra._shared.http_stack as transport_module
from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator, Reply, ToolCall

MakeModel = Callable[..., DeepInfra]
DEFAULT_ROOT = "https://api.deepinfra.com"  # only parsed by these tests, never contacted


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny, 21C in {city}"


def get_time(timezone: str) -> str:
    """Get the current time in a timezone."""
    return f"12:00 in {timezone}"


class Movie(BaseModel):
    title: str = Field(description="The movie's title")
    year: int
    genres: list[str]


def stream_text(agent: Agent, prompt: str) -> str:
    return "".join(e.content for e in agent.run(prompt, stream=True) if isinstance(e, RunContentEvent) and e.content)


async def astream_text(agent: Agent, prompt: str) -> str:
    parts = [e.content async for e in agent.arun(prompt, stream=True) if isinstance(e, RunContentEvent) and e.content]
    return "".join(parts)


# ------------------------------------------------------------------------------- defaults


def test_defaults_match_the_parameter_table() -> None:
    model = DeepInfra()
    assert model.id == "meta-llama/Llama-2-70b-chat-hf"
    assert model.name == "DeepInfra"
    assert model.provider == "DeepInfra"
    assert model.api_key is None
    assert model.base_url == "https://api.deepinfra.com/v1/openai"
    assert model.retries == 0
    assert model.delay_between_retries == 1
    assert model.exponential_backoff is False


def test_defaults_are_those_of_agnos_builtin_class() -> None:
    ours, theirs = DeepInfra(), AgnoDeepInfra()
    for name in ("id", "name", "provider", "api_key", "base_url", "retries", "delay_between_retries"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.supports_native_structured_outputs is theirs.supports_native_structured_outputs is False


def test_is_an_openai_like_dataclass() -> None:
    import dataclasses

    from agno.models.openai.like import OpenAILike

    assert issubclass(DeepInfra, OpenAILike)
    assert dataclasses.is_dataclass(DeepInfra)


def test_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPINFRA_API_KEY", "from-env")
    assert DeepInfra().api_key == "from-env"
    assert DeepInfra(api_key="explicit").api_key == "explicit"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (DEFAULT_ROOT, DEFAULT_ROOT + "/v1/openai"),
        (DEFAULT_ROOT + "/", DEFAULT_ROOT + "/v1/openai"),
        (DEFAULT_ROOT + "/v1/openai", DEFAULT_ROOT + "/v1/openai"),
        ("http://127.0.0.1:9000/v1/openai/", "http://127.0.0.1:9000/v1/openai"),
    ],
)
def test_base_url_accepts_root_and_openai_forms(value: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert DeepInfra(base_url=value).base_url == expected
    monkeypatch.setenv("DEEPINFRA_BASE_URL", value)
    assert DeepInfra().base_url == expected


def test_explicit_base_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPINFRA_BASE_URL", "http://127.0.0.1:1")
    assert DeepInfra(base_url="https://example.test").base_url == "https://example.test/v1/openai"


@pytest.mark.parametrize("bad", [DEFAULT_ROOT.replace("https", "ftp"), DEFAULT_ROOT[8:], "file:///etc/passwd"])
def test_base_url_must_be_http(bad: str) -> None:
    with pytest.raises(ValueError, match="http"):
        DeepInfra(base_url=bad)


# ------------------------------------------------------------------------------ missing key


def test_missing_key_fails_before_any_request(emu: DeepInfraEmulator) -> None:
    model = DeepInfra(base_url=emu.base_url)
    with pytest.raises(ModelAuthenticationError, match="DEEPINFRA_API_KEY"):
        model.invoke(messages=[Message(role="user", content="hi")], assistant_message=Message(role="assistant"))
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.error
    assert "DEEPINFRA_API_KEY" in str(output.content)
    assert emu.requests == []


async def test_missing_key_fails_on_async_paths_too(emu: DeepInfraEmulator) -> None:
    agent = Agent(model=DeepInfra(base_url=emu.base_url))
    output = await agent.arun("hi")
    assert output.status == RunStatus.error
    assert "DEEPINFRA_API_KEY" in str(output.content)
    assert emu.requests == []


def test_key_exported_after_construction_is_used(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url)
    monkeypatch.setenv("DEEPINFRA_API_KEY", emu.api_key)
    emu.queue(Reply(content="late key works"))
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.completed, output.content
    assert output.content == "late key works"
    assert emu.requests[0].headers["authorization"] == f"Bearer {emu.api_key}"


def test_demo_environment_reaches_the_emulator(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `make demo` does: the root URL in DEEPINFRA_BASE_URL, the key in DEEPINFRA_API_KEY."""
    monkeypatch.setenv("DEEPINFRA_BASE_URL", emu.root_url)
    monkeypatch.setenv("DEEPINFRA_API_KEY", emu.api_key)
    emu.queue(Reply(content="from the emulator"))
    output = Agent(model=DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct")).run("hi")
    assert output.content == "from the emulator"


# --------------------------------------------------------------------------- plain answers


def test_run_answers(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="Paris is the capital of France."))
    output = Agent(model=make_model()).run("What is the capital of France?")
    assert output.status == RunStatus.completed
    assert output.content == "Paris is the capital of France."
    body = emu.requests_for("chat")[0].body
    assert body["model"] == "meta-llama/Meta-Llama-3.1-8B-Instruct"
    assert body["messages"][-1] == {"role": "user", "content": "What is the capital of France?"}
    assert "stream" not in body


def test_unscripted_answer_refers_to_the_prompt(make_model: MakeModel) -> None:
    output = Agent(model=make_model()).run("Tell me about lighthouses")
    assert output.status == RunStatus.completed
    assert "lighthouses" in str(output.content).lower()


async def test_arun_answers(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="async answer"))
    output = await Agent(model=make_model()).arun("hello")
    assert output.status == RunStatus.completed
    assert output.content == "async answer"


def test_run_streams_every_chunk_once(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="one two three four five", chunks=5))
    agent = Agent(model=make_model())
    events = [e for e in agent.run("count", stream=True) if isinstance(e, RunContentEvent) and e.content]
    assert len(events) == 5
    assert "".join(e.content for e in events) == "one two three four five"
    body = emu.requests_for("chat")[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_arun_streams(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="streamed asynchronously", chunks=2))
    assert await astream_text(Agent(model=make_model()), "go") == "streamed asynchronously"


def test_model_response_without_an_agent(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="direct"))
    response = make_model().response(messages=[Message(role="user", content="hi")])
    assert response.content == "direct"


def test_request_carries_bearer_key_and_sampling(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="ok"))
    Agent(model=make_model(temperature=0.3, top_p=0.9, max_tokens=64, seed=7, stop=["END"])).run("hi")
    request = emu.requests_for("chat")[0]
    assert request.headers["authorization"] == f"Bearer {emu.api_key}"
    for key, value in {"temperature": 0.3, "top_p": 0.9, "max_tokens": 64, "seed": 7, "stop": ["END"]}.items():
        assert request.body[key] == value


# ---------------------------------------------------------------------------------- tools


def test_single_tool_call(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    emu.queue(Reply(content="It is sunny in Paris."))
    output = Agent(model=make_model(), tools=[get_weather]).run("Weather in Paris?")
    assert output.status == RunStatus.completed
    assert output.content == "It is sunny in Paris."
    assert [t.tool_name for t in output.tools or []] == ["get_weather"]
    assert output.tools is not None and output.tools[0].result == "Sunny, 21C in Paris"
    first, second = emu.requests_for("chat")
    assert first.body["tools"][0]["function"]["name"] == "get_weather"
    tool_message = second.body["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "Sunny, 21C in Paris"


def test_parallel_tool_calls(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}), ToolCall("get_time", {"timezone": "CET"})]))
    emu.queue(Reply(content="Done."))
    output = Agent(model=make_model(), tools=[get_weather, get_time]).run("Weather and time in Oslo?")
    assert output.status == RunStatus.completed
    results = {t.tool_name: t.result for t in output.tools or []}
    assert results == {"get_weather": "Sunny, 21C in Oslo", "get_time": "12:00 in CET"}
    tool_messages = [m for m in emu.requests_for("chat")[1].body["messages"] if m["role"] == "tool"]
    assert sorted(m["content"] for m in tool_messages) == ["12:00 in CET", "Sunny, 21C in Oslo"]


def test_several_tool_steps(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Rome"})]))
    emu.queue(Reply(tool_calls=[ToolCall("get_time", {"timezone": "Europe/Rome"})]))
    emu.queue(Reply(content="Sunny and noon in Rome."))
    output = Agent(model=make_model(), tools=[get_weather, get_time]).run("Weather, then time, in Rome")
    assert output.content == "Sunny and noon in Rome."
    assert [t.tool_name for t in output.tools or []] == ["get_weather", "get_time"]
    assert len(emu.requests_for("chat")) == 3


def test_streamed_parallel_tool_calls_are_reassembled(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Lima"}), ToolCall("get_time", {"timezone": "PET"})]))
    emu.queue(Reply(content="All done.", chunks=2))
    agent = Agent(model=make_model(), tools=[get_weather, get_time])
    assert stream_text(agent, "Weather and time in Lima") == "All done."
    tool_messages = [m for m in emu.requests_for("chat")[1].body["messages"] if m["role"] == "tool"]
    assert sorted(m["content"] for m in tool_messages) == ["12:00 in PET", "Sunny, 21C in Lima"]


async def test_async_streamed_tool_call(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Kyoto"})]))
    emu.queue(Reply(content="Kyoto is sunny."))
    agent = Agent(model=make_model(), tools=[get_weather])
    assert await astream_text(agent, "Weather in Kyoto") == "Kyoto is sunny."
    assert emu.requests_for("chat")[1].body["messages"][-1]["content"] == "Sunny, 21C in Kyoto"


def test_unscripted_emulator_calls_the_obvious_tool(make_model: MakeModel) -> None:
    output = Agent(model=make_model(), tools=[get_weather]).run("What is the weather in Madrid?")
    assert output.status == RunStatus.completed
    assert output.tools and output.tools[0].tool_name == "get_weather"
    assert "Sunny, 21C in Madrid" in str(output.content)


# ---------------------------------------------------------------------- structured output


def test_structured_output_uses_json_mode(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content=json.dumps({"title": "Alien", "year": 1979, "genres": ["horror", "sci-fi"]})))
    output = Agent(model=make_model(), output_schema=Movie).run("A classic space horror movie")
    assert output.content == Movie(title="Alien", year=1979, genres=["horror", "sci-fi"])
    body = emu.requests_for("chat")[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert "genres" in json.dumps(body["messages"])  # agno puts the schema in the prompt


def test_structured_output_unscripted_is_schema_valid(make_model: MakeModel) -> None:
    output = Agent(model=make_model(), output_schema=Movie).run("Invent a movie")
    assert isinstance(output.content, Movie)


async def test_structured_output_async_stream(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content=json.dumps({"title": "Heat", "year": 1995, "genres": ["crime"]}), chunks=4))
    agent = Agent(model=make_model(), output_schema=Movie)
    events = [e async for e in agent.arun("a heist movie", stream=True)]
    movies = [e.content for e in events if isinstance(e, RunContentEvent) and isinstance(e.content, Movie)]
    assert movies == [Movie(title="Heat", year=1995, genres=["crime"])]


def test_json_schema_outputs_are_opt_in(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content=json.dumps({"title": "Up", "year": 2009, "genres": ["animation"]})))
    output = Agent(model=make_model(supports_json_schema_outputs=True), output_schema=Movie).run("a movie")
    assert output.content == Movie(title="Up", year=2009, genres=["animation"])
    response_format = emu.requests_for("chat")[0].body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Movie"
    assert set(response_format["json_schema"]["schema"]["properties"]) == {"title", "year", "genres"}


# --------------------------------------------------------------------------------- history


def test_multi_turn_history_with_sqlite(emu: DeepInfraEmulator, make_model: MakeModel, tmp_path: Path) -> None:
    db = SqliteDb(db_file=str(tmp_path / "agent.db"))
    agent = Agent(model=make_model(), db=db, session_id="session-1", add_history_to_context=True)
    emu.queue(Reply(content="Nice to meet you, Ada."))
    emu.queue(Reply(content="Your name is Ada."))
    assert agent.run("My name is Ada.").content == "Nice to meet you, Ada."
    assert agent.run("What is my name?").content == "Your name is Ada."
    contents = [m["content"] for m in emu.requests_for("chat")[1].body["messages"]]
    assert contents[-3:] == ["My name is Ada.", "Nice to meet you, Ada.", "What is my name?"]
    # A fresh agent on the same database continues the stored session.
    emu.queue(Reply(content="Still Ada."))
    again = Agent(model=make_model(), db=db, session_id="session-1", add_history_to_context=True)
    assert again.run("And now?").content == "Still Ada."
    assert "My name is Ada." in [m["content"] for m in emu.requests_for("chat")[2].body["messages"]]


async def test_async_history_with_sqlite(emu: DeepInfraEmulator, make_model: MakeModel, tmp_path: Path) -> None:
    db = SqliteDb(db_file=str(tmp_path / "agent.db"))
    agent = Agent(model=make_model(), db=db, session_id="s", add_history_to_context=True)
    emu.queue(Reply(content="first"))
    emu.queue(Reply(content="second"))
    await agent.arun("turn one")
    await agent.arun("turn two")
    contents = [m["content"] for m in emu.requests_for("chat")[1].body["messages"]]
    assert contents[-3:] == ["turn one", "first", "turn two"]


# ------------------------------------------------------------------------------ metrics


def test_run_metrics_count_tokens(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="hi", usage={"prompt_tokens": 11, "completion_tokens": 3}))
    output: RunOutput = Agent(model=make_model()).run("hello")
    assert output.metrics is not None
    assert (output.metrics.input_tokens, output.metrics.output_tokens) == (11, 3)


def test_concurrent_async_runs_share_one_model(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    model = make_model()

    async def main() -> list[Any]:
        agents = [Agent(model=model) for _ in range(20)]
        return await asyncio.gather(*(a.arun(f"question {i}") for i, a in enumerate(agents)))

    outputs = asyncio.run(main())
    assert all(o.status == RunStatus.completed for o in outputs)
    for i, output in enumerate(outputs):
        assert f"question {i}" in str(output.content)


# ----------------------------------------------------------------------- async transport

TRANSPORTS = ["httpx", pytest.param("aiohttp", marks=NEEDS_AIOHTTP)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_each_transport_answers_on_all_paths(emu: DeepInfraEmulator, make_model: MakeModel, transport: str) -> None:
    agent = Agent(model=make_model(async_transport=transport))
    for path in PATHS:
        content, error = run_path(agent, path, f"over {transport} by {path}")
        assert error is None and f"over {transport} by {path}" in content
    assert len(emu.requests_for("chat")) == len(PATHS)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_own_async_client_closes_with_its_event_loop(
    make_model: MakeModel, transport: str, recwarn: pytest.WarningsRecorder
) -> None:
    model = make_model(async_transport=transport)

    async def run_once() -> Any:
        await Agent(model=model).arun("hi")
        return model.get_async_client()

    gc.collect()  # earlier tests' garbage must not warn inside this test
    recwarn.clear()
    first, second = asyncio.run(run_once()), asyncio.run(run_once())
    gc.collect()
    assert first is not second  # one client per loop
    assert first.is_closed() and second.is_closed()  # closed by asyncio.run's shutdown, on their own loops
    assert not [w for w in recwarn if "Unclosed" in str(w.message)]  # what aiohttp says of a leaked session


def test_a_callers_http_client_is_never_closed(make_model: MakeModel) -> None:
    """Checked after `asyncio.run` has shut its loop down, when the model's own clients are closed."""
    http_client = httpx.AsyncClient()

    async def run_once() -> None:
        await Agent(model=make_model(http_client=http_client)).arun("hi")

    asyncio.run(run_once())
    assert http_client.is_closed is False
    own = make_model()  # the contrast: a client the model made itself is closed with the loop
    made = asyncio.run(run_once_with(own))
    assert made.is_closed()


async def run_once_with(model: DeepInfra) -> Any:
    await Agent(model=model).arun("hi")
    return model.get_async_client()


def test_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match='async_transport must be "httpx" or "aiohttp"'):
        DeepInfra(async_transport="curl")  # type: ignore[arg-type]


@NEEDS_AIOHTTP
def test_aiohttp_without_the_sdks_adapter_fails_when_the_model_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    class StandIn(httpx.AsyncClient):  # what the SDK defines when its aiohttp adapter cannot be imported
        pass

    monkeypatch.setattr(transport_module, "DefaultAioHttpClient", StandIn)
    with pytest.raises(ValueError, match="aiohttp adapter is missing"):
        DeepInfra(async_transport="aiohttp")


def test_aiohttp_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport_module, "find_spec", lambda name: None)  # as if aiohttp were not installed
    with pytest.raises(ValueError, match=r'pip install "agno-deepinfra\[aiohttp\]"'):
        DeepInfra(async_transport="aiohttp")
    assert DeepInfra().async_transport == "httpx"  # the default needs nothing extra
