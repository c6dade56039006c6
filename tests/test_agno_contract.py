"""What agno's own tests expect of an OpenAI-like model, held by `DeepInfra` as by `OpenAIChat`.

agno's unit tests (`libs/agno/tests/unit/models/`: `openai/test_client_persistence.py`,
`openai/test_openai_metrics.py`, `openai/test_parse_tool_calls.py`, `test_client_caching.py`,
`test_model_helpers.py`) were run with `DeepInfra` in `OpenAIChat`'s place. These restate the
expectations that apply, side by side with agno's class where both must agree, and against the
emulator where a real call is involved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from agno.agent import Agent
from agno.models.openai import OpenAIChat
from openai.types import CompletionUsage

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator, Reply

MakeModel = Callable[..., DeepInfra]
MODELS = [pytest.param(DeepInfra, id="DeepInfra"), pytest.param(OpenAIChat, id="OpenAIChat")]


def build(cls: type, **kwargs: Any) -> Any:
    return cls(id="some-model", api_key="unused", **kwargs)


# ------------------------------------------------------------------------------- clients


@pytest.mark.parametrize("cls", MODELS)
def test_sync_client_is_cached_per_instance(cls: type) -> None:
    first, second = build(cls), build(cls)
    assert first.get_client() is first.get_client() is first.client
    assert first.get_client() is not second.get_client()


@pytest.mark.parametrize("cls", MODELS)
def test_async_client_outside_a_loop_is_one_cached_client(cls: type) -> None:
    """agno's test_client_persistence / test_client_caching: no loop, same client every call."""
    model = build(cls)
    client = model.get_async_client()
    assert all(model.get_async_client() is client for _ in range(10))
    assert model.async_client is client


def test_a_closed_loopless_client_is_replaced() -> None:
    """agno's test_async_client_recreated_when_closed, with a real client closed for real."""
    model = build(DeepInfra)
    first = model.get_async_client()
    asyncio.run(first.close())
    assert model.get_async_client() is not first


def test_each_event_loop_still_gets_its_own_client() -> None:
    model = build(DeepInfra)
    loopless = model.get_async_client()

    async def current() -> Any:
        return model.get_async_client()

    first, second = asyncio.run(current()), asyncio.run(current())
    assert loopless not in (first, second)
    assert first is not second


def test_arun_works_on_new_loops_after_the_loopless_client_was_handed_out(make_model: MakeModel) -> None:
    model = make_model()
    model.get_async_client()  # bound to no loop; must not be the one `arun` uses
    agent = Agent(model=model)
    outputs = [asyncio.run(agent.arun("hi")) for _ in range(2)]
    assert [o.status.value for o in outputs] == ["COMPLETED", "COMPLETED"]


def test_a_callers_async_client_wins_inside_a_loop() -> None:
    from openai import AsyncOpenAI

    supplied = AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1/openai")
    model = build(DeepInfra, async_client=supplied)

    async def current() -> Any:
        return model.get_async_client()

    assert asyncio.run(current()) is supplied
    assert model.get_async_client() is supplied


# -------------------------------------------------------------------------------- metrics

USAGE_FIELDS = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "estimated_cost": 0.0042}
DETAILS = {"prompt_tokens_details": {"audio_tokens": 11, "cached_tokens": 7}}
DETAILS |= {"completion_tokens_details": {"audio_tokens": 13, "reasoning_tokens": 5}}


def _as_objects(fields: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(**{k: _as_objects(v) if isinstance(v, dict) else v for k, v in fields.items()})


USAGE_SHAPES = {
    "pydantic": CompletionUsage.model_validate(USAGE_FIELDS | DETAILS),  # estimated_cost is an extra field
    "dict": USAGE_FIELDS | DETAILS,
    "object": _as_objects(USAGE_FIELDS | DETAILS),
}


@pytest.mark.parametrize("shape", list(USAGE_SHAPES))
def test_usage_of_any_shape_gives_tokens_and_cost(shape: str) -> None:
    metrics = build(DeepInfra)._get_metrics(USAGE_SHAPES[shape])
    assert (metrics.input_tokens, metrics.output_tokens, metrics.total_tokens) == (100, 20, 120)
    assert metrics.cost == pytest.approx(0.0042)
    assert (metrics.audio_input_tokens, metrics.audio_output_tokens, metrics.audio_total_tokens) == (11, 13, 24)
    assert (metrics.cache_read_tokens, metrics.reasoning_tokens) == (7, 5)


@pytest.mark.parametrize("cls", MODELS)
def test_duck_typed_usage_without_details_or_cost(cls: type) -> None:
    """agno's test_openai_streaming_metrics_simulation hands objects with only the token counts."""
    usage = SimpleNamespace(prompt_tokens=3, completion_tokens=1, total_tokens=4)
    usage.prompt_tokens_details = usage.completion_tokens_details = None
    metrics = build(cls)._get_metrics(usage)
    assert (metrics.input_tokens, metrics.output_tokens, metrics.total_tokens, metrics.cost) == (3, 1, 4, None)


def test_openai_style_cost_is_used_when_deepinfra_sends_none() -> None:
    assert build(DeepInfra)._get_metrics({"prompt_tokens": 1, "cost": 0.5}).cost == 0.5


# --------------------------------------------------------------------- helpers and caching


def test_agnos_record_fields_and_provider() -> None:
    """agno's test_model_helpers, with DeepInfra's defaults in place of OpenAI's."""
    model = build(DeepInfra)
    assert {k: model.to_dict()[k] for k in ("id", "name", "provider")} == {
        "id": "some-model",
        "name": "DeepInfra",
        "provider": "DeepInfra",
    }
    assert model.get_provider() == "DeepInfra"
    assert build(DeepInfra, provider="Custom").get_provider() == "Custom"


@pytest.mark.parametrize("cls", MODELS)
def test_streamed_tool_call_deltas_reassemble(cls: type) -> None:
    """agno's test_parse_tool_calls: deltas of one call join by index."""
    from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall, ChoiceDeltaToolCallFunction

    deltas = [
        ChoiceDeltaToolCall(
            index=0, id="call_1", type="function", function=ChoiceDeltaToolCallFunction(name="add", arguments='{"a"')
        ),
        ChoiceDeltaToolCall(index=0, function=ChoiceDeltaToolCallFunction(arguments=": 1}")),
    ]
    [call] = cls.parse_tool_calls(deltas)
    assert (call["id"], call["function"]["name"], call["function"]["arguments"]) == ("call_1", "add", '{"a": 1}')


def test_agnos_response_cache_serves_the_second_run(
    emu: DeepInfraEmulator, make_model: MakeModel, tmp_path: Path
) -> None:
    """agno's `cache_response` (test_model_helpers, test_cache_key_serialization) works with our model."""
    emu.queue(Reply(content="cached answer"))
    agent = Agent(model=make_model(cache_response=True, cache_dir=str(tmp_path)))
    first, second = agent.run("same question"), agent.run("same question")
    assert first.content == second.content == "cached answer"
    assert len(emu.requests_for("chat")) == 1
