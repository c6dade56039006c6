"""Open models just work (issue 25): each family's wire quirks, through agno's real Agent on all four paths.

The emulator puts on each family's behaviour (`testing/families.py`, WIRE.md "Model families"):
tool calls leaked into the text, index-less stream deltas, tag-less thinking, the 405s, template
role rules, id styles, sent-back reasoning required or refused.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from agno.agent import Agent
from agno.run.agent import RunContentEvent, RunOutput
from agno.run.base import RunStatus
from pydantic import BaseModel

from agno_deepinfra import DeepInfra, ModelProfile
from agno_deepinfra.families import profiles
from agno_deepinfra.testing import DeepInfraEmulator, Reply, ToolCall

from paths import PATHS

MakeModel = Callable[..., DeepInfra]
_serial = itertools.count()


@pytest.fixture(autouse=True)
def _forget_learned() -> Iterator[None]:
    profiles.forget_learned()
    yield
    profiles.forget_learned()


def quirky(emu: DeepInfraEmulator, family_id: str, *quirks: str, **kwargs: Any) -> str:
    """A fresh model id of the family `family_id` names, served with `quirks` (ids stay unique per test)."""
    model_id = f"{family_id}-emu{next(_serial)}"
    kwargs.setdefault("tags", ("tools",))
    emu.add_model(model_id, quirks=quirks, **kwargs)
    return model_id


class Weather:
    """A tool that records its calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def tools(self) -> list[Callable[..., str]]:
        def get_weather(city: str) -> str:
            """Weather for a city."""
            self.calls.append({"city": city})
            return f"windy in {city}"

        def get_time(tz: str) -> str:
            """The time in a time zone."""
            self.calls.append({"tz": tz})
            return f"noon in {tz}"

        return [get_weather, get_time]


def drive(agent: Agent, path: str, prompt: str = "What is the weather in Paris?") -> tuple[RunOutput, list[str]]:
    """The run's output and, on stream paths, the content pieces the consumer saw."""
    if path == "run":
        return agent.run(prompt), []
    if path == "arun":
        return asyncio.run(agent.arun(prompt)), []
    if path == "stream":
        events = list(agent.run(prompt, stream=True, yield_run_output=True))
    else:

        async def collect() -> list[Any]:
            return [e async for e in agent.arun(prompt, stream=True, yield_run_output=True)]

        events = asyncio.run(collect())
    outputs = [e for e in events if isinstance(e, RunOutput)]
    assert len(outputs) == 1
    pieces = [e.content for e in events if isinstance(e, RunContentEvent) and isinstance(e.content, str)]
    return outputs[0], pieces


def chat_bodies(emu: DeepInfraEmulator) -> list[dict[str, Any]]:
    return [request.body for request in emu.requests_for("chat")]


# ------------------------------------------------------------------------- 0. model profiles


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("Qwen/Qwen3-32B", "qwen"),
        ("Qwen/Qwen3-Coder-480B-A35B-Instruct", "qwen3-coder"),
        ("Qwen/Qwen3-235B-A22B-Thinking-2507", "qwen-thinking"),
        ("Qwen/Qwen3.5-397B-A17B", "qwen3.5"),
        ("moonshotai/Kimi-K2-Instruct-0905", "kimi"),
        ("moonshotai/Kimi-K2.5", "kimi-thinking"),
        ("deepseek-ai/DeepSeek-R1-0528", "deepseek-r1"),
        ("deepseek-ai/DeepSeek-V3.1:v2", "deepseek"),
        ("openai/gpt-oss-120b", "gpt-oss"),
        ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "mistral"),
        ("google/gemma-3-27b-it", "gemma"),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama"),
        ("deploy_id:abc123", "default"),
    ],
)
def test_profile_is_chosen_from_the_id(model_id: str, family: str) -> None:
    assert DeepInfra(id=model_id, api_key="k").model_profile().family == family


def test_profile_override_in_one_place() -> None:
    """A profile, a family name, or changes to the id's profile; the override is a client setting."""
    custom = ModelProfile(family="mine", tool_call_ids="mistral")
    assert DeepInfra(id="Qwen/Qwen3-32B", profile=custom).model_profile() is custom
    assert DeepInfra(id="acme/private", profile="kimi").model_profile().tool_call_ids == "kimi"
    changed = DeepInfra(id="Qwen/Qwen3-32B", profile={"tool_markup": []}).model_profile()
    assert changed.tool_markup == () and changed.family == "qwen"
    assert "profile" not in vars(DeepInfra(id="x", profile="kimi"))  # out of agno's fingerprints
    with pytest.raises(ValueError, match="unknown model family"):
        DeepInfra(id="x", profile="nope").model_profile()


def test_catalog_tags_refine_the_profile_only_when_cached(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    """A model in no family tagged "reasoning" gets its reasoning sent back, once the catalog is at hand."""
    from agno_deepinfra import catalog

    model_id = quirky(emu, "acme/thinker", tags=("tools", "reasoning"))
    model = make_model(id=model_id)
    assert model.model_profile().reasoning_passback == "never"
    assert emu.requests_for("models") == []  # choosing a profile never fetches the catalog
    catalog.known_ids(model._catalog_url, emu.api_key)
    assert model.model_profile().reasoning_passback == "tool_turns"


def test_gpt_oss_sets_agnos_json_schema_capability_when_built() -> None:
    assert DeepInfra(id="openai/gpt-oss-120b").supports_json_schema_outputs is True
    assert DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct").supports_json_schema_outputs is False


# ------------------------------------------------------------------ 1. leaked tool calls recovered

LEAKS = {
    "hermes": "Qwen/Qwen2.5-72B-Instruct",
    "qwen_xml": "Qwen/Qwen3-Coder-480B-A35B-Instruct",
    "llama_json": "meta-llama/Llama-3.3-70B-Instruct",
    "kimi": "moonshotai/Kimi-K2-Instruct",
    "deepseek": "deepseek-ai/DeepSeek-V3.1",
    "harmony": "openai/gpt-oss-120b",
    "minimax": "MiniMaxAI/MiniMax-M2",
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("grammar", list(LEAKS))
def test_leaked_tool_calls_are_recovered(
    emu: DeepInfraEmulator, make_model: MakeModel, grammar: str, path: str
) -> None:
    model_id = quirky(emu, LEAKS[grammar], f"leak:{grammar}")
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_time", {"tz": "CET"})]))
    output, pieces = drive(Agent(model=make_model(id=model_id), tools=weather.tools()), path)
    assert output.status == RunStatus.completed
    assert weather.calls == [{"city": "Paris"}, {"tz": "CET"}]
    assert "The get_weather tool returned: windy in Paris." in str(output.content)
    for text in [str(output.content), *pieces]:
        assert "tool_call" not in text and "functions." not in text and "<invoke" not in text


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "content",
    [
        'To look it up I would write "<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>".',
        'The format is:\n```\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n```\nDone.',
        'Call it like `<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>` next time.',
        '> <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\nThat is a call.',
        '<tool_call>{"name": "delete_everything", "arguments": {}}</tool_call>',
    ],
    ids=["quoted", "fenced", "inline-code", "block-quote", "not-offered"],
)
def test_quoted_or_unoffered_calls_are_left_as_text(
    emu: DeepInfraEmulator, make_model: MakeModel, content: str, path: str
) -> None:
    """A model that shows or explains a call (of an offered tool) is not taken to make one."""
    weather = Weather()
    emu.queue(Reply(content=content, chunks=7))
    output, pieces = drive(Agent(model=make_model(id="Qwen/Qwen2.5-72B-Instruct"), tools=weather.tools()), path)
    assert weather.calls == []
    assert output.content == content
    if pieces:
        assert "".join(pieces) == content


@pytest.mark.parametrize("path", PATHS)
def test_recovery_can_be_switched_off(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    model_id = quirky(emu, "Qwen/Qwen2.5-7B-Instruct", "leak:hermes")
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    model = make_model(id=model_id, profile={"tool_markup": ()})
    output, _ = drive(Agent(model=model, tools=weather.tools()), path)
    assert weather.calls == []
    assert "<tool_call>" in str(output.content)


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_streams_hold_text_back_only_from_a_start_marker(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    weather = Weather()
    agent = Agent(model=make_model(id="Qwen/Qwen2.5-72B-Instruct"), tools=weather.tools())
    emu.queue(Reply(content="one two three four", chunks=4))
    _, pieces = drive(agent, path)
    assert len(pieces) == 4 and "".join(pieces) == "one two three four"  # nothing held: no marker
    leaked = 'Checking now. <tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
    emu.queue(Reply(content=leaked, chunks=6))
    output, pieces = drive(agent, path)
    assert weather.calls == [{"city": "Oslo"}]
    assert pieces[0].startswith("Checking")
    assert not any("<tool" in piece for piece in pieces)
