"""DeepInfra-native features: cost, request fields, reasoning, vision, catalog, serialization."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agno.agent import Agent
from agno.media import Image
from agno.metrics import MessageMetrics
from agno.models.response import ModelResponse
from agno.run.agent import RunContentEvent, RunOutput
from agno.run.base import RunStatus
from paths import PATHS, run_path

import agno_deepinfra
from agno_deepinfra import DeepInfra, ModelInfo, alist_models, list_models
from agno_deepinfra.chat._reasoning import ThinkSplitter
from agno_deepinfra.chat._usage import StreamUsage, usage_metrics
from agno_deepinfra.testing import CATALOG, DeepInfraEmulator, Fault, Reply, ToolCall

MakeModel = Callable[..., DeepInfra]
MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def expected_cost(prompt_tokens: int, completion_tokens: int, model_id: str = MODEL_ID) -> float:
    entry = next(e for e in CATALOG if e.id == model_id)
    return float(entry.cost(prompt_tokens, completion_tokens))


def final_output(events: list[Any]) -> RunOutput:
    """The RunOutput a stream yields last with `yield_run_output=True`."""
    outputs = [e for e in events if isinstance(e, RunOutput)]
    assert len(outputs) == 1
    return outputs[0]


def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"windy in {city}"


# ---------------------------------------------------------------------------------- cost


def test_cost_of_a_plain_run(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="hi", usage={"prompt_tokens": 1000, "completion_tokens": 200}))
    output = Agent(model=make_model()).run("hello")
    assert output.metrics is not None
    assert output.metrics.cost == pytest.approx(expected_cost(1000, 200))
    assert output.metrics.cost > 0


@pytest.mark.parametrize("stream", [False, True])
def test_cost_sums_over_tool_steps(emu: DeepInfraEmulator, make_model: MakeModel, stream: bool) -> None:
    emu.queue(
        Reply(
            tool_calls=[ToolCall("get_weather", {"city": "Oslo"})],
            usage={"prompt_tokens": 300, "completion_tokens": 20},
        )
    )
    emu.queue(Reply(content="Windy.", usage={"prompt_tokens": 400, "completion_tokens": 30}))
    agent = Agent(model=make_model(), tools=[get_weather])
    if stream:
        output = final_output(list(agent.run("weather in Oslo", stream=True, yield_run_output=True)))
    else:
        output = agent.run("weather in Oslo")
    assert output is not None and output.metrics is not None
    assert output.metrics.cost == pytest.approx(expected_cost(300, 20) + expected_cost(400, 30))


async def test_cost_of_an_async_stream(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="a b c", chunks=3, usage={"prompt_tokens": 50, "completion_tokens": 3}))
    agent = Agent(model=make_model())
    output = final_output([e async for e in agent.arun("go", stream=True, yield_run_output=True)])
    assert output.metrics is not None
    assert output.metrics.cost == pytest.approx(expected_cost(50, 3))


@pytest.mark.parametrize("placement", ["deepinfra", "openai", "both"])
@pytest.mark.parametrize("run_async", [False, True])
async def test_stream_usage_is_counted_once_from_either_placement(
    emu: DeepInfraEmulator, make_model: MakeModel, placement: str, run_async: bool
) -> None:
    """Usage on the finish chunk (DeepInfra), in a `choices: []` chunk (OpenAI), or in both: counted once."""
    emu.stream_usage = placement  # type: ignore[assignment]
    emu.queue(Reply(content="a b c", chunks=3, usage={"prompt_tokens": 50, "completion_tokens": 3}))
    agent = Agent(model=make_model())
    if run_async:
        output = final_output([e async for e in agent.arun("go", stream=True, yield_run_output=True)])
    else:
        output = final_output(list(agent.run("go", stream=True, yield_run_output=True)))
    assert output.metrics is not None
    assert (output.metrics.input_tokens, output.metrics.output_tokens, output.metrics.total_tokens) == (50, 3, 53)
    assert output.metrics.cost == pytest.approx(expected_cost(50, 3))


def test_running_usage_totals_add_up_to_the_last_record() -> None:
    """`continuous_usage_stats`-style running totals on several chunks count as the last record, not their sum."""
    counter = StreamUsage()
    records = [
        usage_metrics(_usage(10, 1, 0.001)),
        usage_metrics(_usage(10, 2, 0.002)),
        usage_metrics(_usage(10, 2, 0.002)),
    ]
    increments = [counter.count(record) for record in records]
    assert increments[2] is None  # a repeated record adds nothing
    total = MessageMetrics()
    for increment in increments:
        total += increment or MessageMetrics()
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (10, 2, 12)
    assert total.cost == pytest.approx(0.002)


def _usage(prompt: int, completion: int, cost: float) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "estimated_cost": cost,
    }


# ------------------------------------------------------------------------ request fields


def test_deepinfra_fields_travel_at_the_top_level(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    fields = {
        "top_k": 40,
        "min_p": 0.05,
        "repetition_penalty": 1.1,
        "service_tier": "priority",
        "chat_template_kwargs": {"enable_thinking": False},
    }
    # session_prompt_cache=False: otherwise a key derived from agno's session is sent (tests/test_prompt_cache.py).
    Agent(model=make_model(session_prompt_cache=False, **fields)).run("hi")
    body = emu.requests_for("chat")[0].body
    assert {key: body[key] for key in fields} == fields
    assert "extra_body" not in body
    assert not {"prompt_cache_key", "reasoning", "reasoning_effort"} & set(body)  # unset fields are not sent


def test_more_fields_and_max_completion_tokens(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    model = make_model(prompt_cache_key="session-7", reasoning={"effort": "low"}, max_completion_tokens=77)
    Agent(model=model).run("hi")
    body = emu.requests_for("chat")[0].body
    assert body["prompt_cache_key"] == "session-7"
    assert body["reasoning"] == {"effort": "low"}
    assert body["max_tokens"] == 77
    assert "max_completion_tokens" not in body


def test_extra_body_wins_and_is_not_mutated(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    extra = {"top_k": 5, "custom": "x"}
    model = make_model(top_k=40, min_p=0.1, extra_body=extra)
    Agent(model=model).run("one")
    Agent(model=model).run("two")
    first, second = (r.body for r in emu.requests_for("chat"))
    assert (first["top_k"], first["min_p"], first["custom"]) == (5, 0.1, "x")
    assert second["top_k"] == 5
    assert extra == {"top_k": 5, "custom": "x"}


@pytest.mark.parametrize("path", PATHS)
def test_an_extra_body_in_request_params_keeps_the_typed_fields(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    """`request_params={"extra_body": ...}` adds to the body; it used to replace `top_k` and the rest."""
    inner = {"custom": "y", "min_p": 0.3}
    model = make_model(top_k=7, min_p=0.1, extra_body={"custom": "x", "other": 1}, request_params={"extra_body": inner})
    content, error = run_path(Agent(model=model), path)
    assert error is None and content
    body = emu.requests_for("chat")[0].body
    assert (body["top_k"], body["min_p"], body["custom"], body["other"]) == (7, 0.3, "y", 1)
    assert inner == {"custom": "y", "min_p": 0.3} and model.request_params == {"extra_body": inner}


@pytest.mark.parametrize("path", PATHS)
def test_request_options_stay_out_of_the_body(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    # The body travels pre-built in `extra_body`; headers, query and timeout must still act as options.
    options = {"extra_headers": {"X-Trace": "t-1"}, "extra_query": {"trace": "1"}, "timeout": 30.0}
    model = make_model(top_k=7, request_params={**options, "seed": 3}, extra_body={"custom": "x"})
    content, error = run_path(Agent(model=model), path)
    assert error is None and content
    request = emu.requests_for("chat")[0]
    assert request.headers["x-trace"] == "t-1"
    assert request.path.endswith("?trace=1")
    assert (request.body["top_k"], request.body["seed"], request.body["custom"]) == (7, 3, "x")
    assert not set(options) & set(request.body)
    assert ("stream" in request.body) == path.endswith("stream")


def test_to_dict_records_the_request_fields_and_no_client_settings() -> None:
    """agno rebuilds a stored model from provider and id alone: the record must not promise more."""
    model = DeepInfra(
        id="Qwen/Qwen3-32B",
        top_k=40,
        min_p=0.05,
        repetition_penalty=1.1,
        service_tier="priority",
        chat_template_kwargs={"enable_thinking": False},
        prompt_cache_key="k",
        reasoning={"effort": "high"},
        temperature=0.2,
        max_completion_tokens=100,
        retries=3,
        delay_between_retries=0.5,
        exponential_backoff=True,
        max_retry_delay=9,
        base_url="https://example.test",
        api_key="secret",
    )
    data = model.to_dict()
    assert (data["id"], data["provider"], data["name"]) == ("Qwen/Qwen3-32B", "DeepInfra", "DeepInfra")
    assert (data["top_k"], data["min_p"], data["temperature"], data["max_completion_tokens"]) == (40, 0.05, 0.2, 100)
    assert data["chat_template_kwargs"] == {"enable_thinking": False}
    client_settings = {"api_key", "base_url", "retries", "delay_between_retries", "exponential_backoff"}
    client_settings |= {"max_retry_delay", "retry_jitter", "timeout", "async_transport", "max_retries"}
    assert not client_settings & set(data)
    assert json.loads(json.dumps(data)) == data  # plain JSON, storable by agno's databases
    assert DeepInfra.from_dict(data).to_dict() == data  # agno's `from_dict` (cls(**data)) accepts it


def test_equality_ignores_live_clients(make_model: MakeModel) -> None:
    used = make_model()
    used.get_client()
    asyncio.run(_touch_async_client(used))
    assert used == make_model()
    assert used != make_model(top_k=3)


async def _touch_async_client(model: DeepInfra) -> None:
    model.get_async_client()


# ----------------------------------------------------------------------------- reasoning


def test_reasoning_content_on_a_message(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="42", reasoning_content="Six times seven."))
    output = Agent(model=make_model()).run("6*7?")
    assert output.content == "42"
    assert output.reasoning_content == "Six times seven."


def test_reasoning_content_on_stream_deltas(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="forty two", reasoning_content="multiply the numbers", chunks=2))
    agent = Agent(model=make_model())
    events = list(agent.run("6*7?", stream=True, yield_run_output=True))
    text = "".join(e.content for e in events if isinstance(e, RunContentEvent) and isinstance(e.content, str))
    assert text == "forty two"
    assert final_output(events).reasoning_content == "multiply the numbers"


def test_think_tags_in_content(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="<think>Count the letters.</think>\n\nThree."))
    output = Agent(model=make_model(id="Qwen/Qwen3-32B")).run("How many r in strawberry?")
    assert output.content == "Three."
    assert output.reasoning_content == "Count the letters."


@pytest.mark.parametrize("chunks", [1, 3, 7, 20])
def test_think_tags_in_streamed_content(emu: DeepInfraEmulator, make_model: MakeModel, chunks: int) -> None:
    emu.queue(Reply(content="<think>Count the letters.</think>\n\nThree.", chunks=chunks))
    agent = Agent(model=make_model(id="Qwen/Qwen3-32B"))
    events = list(agent.run("How many r in strawberry?", stream=True, yield_run_output=True))
    text = "".join(e.content for e in events if isinstance(e, RunContentEvent) and isinstance(e.content, str))
    assert text == "Three."
    assert final_output(events).reasoning_content == "Count the letters."


async def test_unscripted_reasoning_models(make_model: MakeModel) -> None:
    r1 = await Agent(model=make_model(id="deepseek-ai/DeepSeek-R1-0528")).arun("Why is the sky blue?")
    qwen = await Agent(model=make_model(id="Qwen/Qwen3-32B")).arun("Why is the sky blue?")
    for output in (r1, qwen):
        assert output.status == RunStatus.completed
        assert output.reasoning_content
        assert "<think>" not in str(output.content)


def test_splitter_handles_tags_cut_anywhere() -> None:
    text = "<think>a plan</think>\n\nthe answer"
    for cut in range(1, len(text)):
        splitter = ThinkSplitter()
        parts = [splitter.split(ModelResponse(content=piece)) for piece in (text[:cut], text[cut:])]
        assert "".join(p.content or "" for p in parts) == "the answer", cut
        assert "".join(p.reasoning_content or "" for p in parts) == "a plan", cut


def test_splitter_leaves_other_angle_brackets_alone() -> None:
    splitter = ThinkSplitter()
    parts = [splitter.split(ModelResponse(content=p)) for p in ("if a <", " b then <b>bold</b>", "")]
    assert "".join(p.content or "" for p in parts) == "if a < b then <b>bold</b>"


# -------------------------------------------------------------------------------- vision


def test_images_reach_the_model_as_content_parts(emu: DeepInfraEmulator, make_model: MakeModel, tmp_path: Path) -> None:
    picture = tmp_path / "pixel.png"
    picture.write_bytes(PNG)
    images = [
        Image(url="https://example.test/cat.jpg"),
        Image(content=PNG, format="png"),
        Image(filepath=str(picture)),
    ]
    output = Agent(model=make_model(id="meta-llama/Llama-3.2-11B-Vision-Instruct")).run("Describe", images=images)
    assert output.status == RunStatus.completed, output.content
    assert "3 image" in str(output.content)
    content = emu.requests_for("chat")[0].body["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "Describe"}
    urls = [part["image_url"]["url"] for part in content[1:]]
    assert urls[0] == "https://example.test/cat.jpg"
    encoded = base64.b64encode(PNG).decode()
    assert urls[1].startswith("data:image/") and urls[1].endswith(encoded)
    assert urls[2].startswith("data:image/") and urls[2].endswith(encoded)


# ------------------------------------------------------------------------------- catalog


def test_list_models_is_typed(emu: DeepInfraEmulator) -> None:
    models = list_models(base_url=emu.base_url)
    assert all(isinstance(m, ModelInfo) for m in models)
    by_id = {m.id: m for m in models}
    llama = by_id[MODEL_ID]
    assert llama.context_length == 131072
    assert "tools" in llama.tags
    assert llama.pricing.input_per_million is not None and llama.pricing.input_per_million > 0
    assert "Qwen/Qwen3-Reranker-0.6B" in by_id


async def test_alist_models_matches_and_accepts_the_root_url(emu: DeepInfraEmulator) -> None:
    assert [m.id for m in await alist_models(base_url=emu.root_url)] == [
        m.id for m in list_models(base_url=emu.base_url)
    ]


@pytest.mark.parametrize("body", [{"data": None}, {"models": []}, [1, 2], {"data": [{"name": "no id"}]}], ids=str)
def test_a_catalog_of_the_wrong_shape_is_a_clear_error(emu: DeepInfraEmulator, body: object) -> None:
    from agno.exceptions import ModelProviderError

    emu.queue(Fault.status(200, body=body), route="models")
    with pytest.raises(ModelProviderError, match="unusable response for catalog") as caught:
        list_models(base_url=emu.base_url)
    assert caught.value.status_code == 502


def test_list_models_reads_the_environment(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPINFRA_BASE_URL", emu.root_url)
    assert list_models()
    assert emu.requests[-1].path == "/v1/openai/models"


def test_unknown_model_suggests_close_ids(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    output = Agent(model=make_model(id="meta-llama/Meta-Llama-3.1-8B-Instruc")).run("hi")
    assert output.status == RunStatus.error
    assert "closest available ids: meta-llama/Meta-Llama-3.1-8B-Instruct" in str(output.content)


def test_the_catalog_is_not_fetched_on_the_happy_path(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    Agent(model=make_model()).run("hi")
    assert [r.route for r in emu.requests] == ["chat"]


# ------------------------------------------------------------------- persistence, strings


def test_agnos_registry_returns_the_live_plugin_model() -> None:
    from agno.models.utils import resolve_model
    from agno.registry import Registry

    model = DeepInfra(id="Qwen/Qwen3-32B", top_k=20, api_key="k")
    registry = Registry()
    registry.add_model(model)
    assert resolve_model(model.to_dict(), registry) is model


def test_without_register_agno_rebuilds_its_builtin_class() -> None:
    """Documents why `register()` or the Registry is needed: agno's table is closed."""
    from agno.models.deepinfra import DeepInfra as AgnoDeepInfra
    from agno.models.utils import get_model_from_dict

    rebuilt = get_model_from_dict(DeepInfra(id="Qwen/Qwen3-32B").to_dict())
    assert type(rebuilt) is AgnoDeepInfra


def test_register_is_opt_in_and_reversible() -> None:
    from agno.models.utils import get_model, get_model_from_dict

    from agno_deepinfra.model_strings import is_registered

    assert not is_registered()  # importing the package changed nothing
    agno_deepinfra.register()
    try:
        model = get_model("deepinfra:Qwen/Qwen3-32B")
        assert type(model) is DeepInfra
        assert model.id == "Qwen/Qwen3-32B"
        assert type(get_model_from_dict({"id": "x", "provider": "DeepInfra", "name": "DeepInfra"})) is DeepInfra
        assert type(get_model("openai:gpt-4o")).__module__.startswith("agno.models.openai")  # others untouched
    finally:
        agno_deepinfra.unregister()
    assert type(get_model("deepinfra:Qwen/Qwen3-32B")).__module__ == "agno.models.deepinfra.deepinfra"


def test_agnos_provider_table_still_has_the_expected_shape() -> None:
    """Fails loudly when agno changes the table that `register()` edits."""
    from agno.models import utils

    assert utils.MODEL_PROVIDER_CLASSES["deepinfra"] == ("agno.models.deepinfra", "DeepInfra")


def test_register_refuses_an_unexpected_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from agno.models import utils

    monkeypatch.setitem(utils.MODEL_PROVIDER_CLASSES, "deepinfra", ("somewhere.else", "Other"))
    with pytest.raises(RuntimeError, match="provider table"):
        agno_deepinfra.register()


def test_public_surface() -> None:
    assert set(agno_deepinfra.__all__) >= {
        "DeepInfra",
        "ModelInfo",
        "list_models",
        "alist_models",
        "register",
        "unregister",
        "__version__",
    }
    from importlib.metadata import version

    assert agno_deepinfra.__version__ == version("agno-deepinfra") != "0.0.0+unknown"


def test_asyncio_gather_on_list_models(emu: DeepInfraEmulator) -> None:
    async def main() -> list[Any]:
        return await asyncio.gather(*(alist_models(base_url=emu.base_url) for _ in range(5)))

    assert len({len(r) for r in asyncio.run(main())}) == 1
