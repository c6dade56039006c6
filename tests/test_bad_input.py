"""Bad input gets a clear error and loses nothing; the embedder and reranker survive the same faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from agno.agent import Agent
from agno.exceptions import AgnoError, ContextWindowExceededError
from agno.knowledge.document import Document
from agno.models.message import Message
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraReranker
from agno_deepinfra.embedder import EmbeddingError
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply, ToolCall

MakeModel = Callable[..., DeepInfra]


# ----------------------------------------------------------------------------- the model


@pytest.mark.parametrize(
    ("settings", "field"),
    [({"temperature": 5.0}, "temperature"), ({"top_p": 1.5}, "top_p"), ({"service_tier": "gold"}, "service_tier")],
)
def test_invalid_parameter_values_surface_deepinfras_422(
    emu: DeepInfraEmulator, make_model: MakeModel, settings: dict[str, Any], field: str
) -> None:
    output = Agent(model=make_model(retries=2, **settings)).run("hi")
    assert output.status == RunStatus.error
    assert "HTTP 422" in str(output.content)
    assert field in str(output.content)
    assert len(emu.requests_for("chat")) == 1


def test_enormous_prompt_is_a_context_window_error(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    model = make_model(id="meta-llama/Llama-2-70b-chat-hf", retries=2)
    with pytest.raises(ContextWindowExceededError, match="maximum context length"):
        model.response(messages=[Message(role="user", content="lorem ipsum " * 10000)])
    assert len(emu.requests_for("chat")) == 1


def test_empty_prompt_is_answered(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Reply(content="Could you say more?"))
    output = Agent(model=make_model()).run("")
    assert output.status == RunStatus.completed
    assert output.content == "Could you say more?"


def test_non_ascii_text_round_trips(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    prompt = "Grüße aus Köln, 東京からこんにちは 🌍 — «ça va?»"
    output = Agent(model=make_model()).run(prompt)
    assert output.status == RunStatus.completed
    assert emu.requests_for("chat")[0].body["messages"][-1]["content"] == prompt
    assert prompt in str(output.content)


@pytest.mark.parametrize(
    ("result", "expected"),
    # agno 3.0 sends None as "" and 3.1 as "None": either way the model gets text, and the run goes on.
    [({"temp": 21, "unit": "C"}, "temp"), (42, "42"), (None, ""), (["a", "b"], "a")],
)
def test_non_string_tool_results_reach_the_model(
    emu: DeepInfraEmulator, make_model: MakeModel, result: Any, expected: str
) -> None:
    def lookup(key: str) -> Any:
        """Look a key up."""
        return result

    emu.queue(Reply(tool_calls=[ToolCall("lookup", {"key": "k"})]))
    emu.queue(Reply(content="done"))
    output = Agent(model=make_model(), tools=[lookup]).run("look up k")
    assert output.status == RunStatus.completed
    tool_message = emu.requests_for("chat")[1].body["messages"][-1]
    assert tool_message["role"] == "tool"
    assert isinstance(tool_message["content"], str)
    assert expected in tool_message["content"]


# --------------------------------------------------------- embedder and reranker faults

FAULTS = {
    "429 with Retry-After": Fault.status(429, headers={"Retry-After": "0"}),
    "500": Fault.status(500),
    "502 with an HTML body": Fault.status(502, text="<html><h1>502 Bad Gateway</h1></html>"),
    "503": Fault.status(503),
    "504": Fault.status(504),
    "connection dropped": Fault.drop(),
    "server hangs": Fault.hang(),
    "malformed JSON": Fault.malformed_json(),
}
ERROR_TEXT = {
    "429 with Retry-After": "HTTP 429",
    "500": "HTTP 500",
    "502 with an HTML body": "502 Bad Gateway",
    "503": "HTTP 503",
    "504": "HTTP 504",
    "connection dropped": "failed",
    "server hangs": "timed out",
    "malformed JSON": "JSON",
}


def timeout_for(fault: str) -> float:
    """Short only where the fault is a hang, so a loaded machine cannot pass for one."""
    return 0.5 if fault == "server hangs" else 10.0


def embed(emu: DeepInfraEmulator, retries: int, use_async: bool, timeout: float) -> list[list[float]]:
    embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key, retries=retries, timeout=timeout)
    texts = ["alpha beta", "gamma delta"]
    if use_async:
        return asyncio.run(embedder.async_get_embeddings_batch_and_usage(texts))[0]
    return embedder.get_embeddings_batch_and_usage(texts)[0]


def rerank(emu: DeepInfraEmulator, retries: int, use_async: bool, timeout: float) -> list[Document]:
    reranker = DeepInfraReranker(
        base_url=emu.base_url, api_key=emu.api_key, retries=retries, timeout=timeout, raise_on_error=True
    )
    documents = [Document(content="cats purr"), Document(content="the capital of France is Paris")]
    if use_async:
        return asyncio.run(reranker.arerank("capital of France", documents))
    return reranker.rerank("capital of France", documents)


@pytest.mark.parametrize("retries", [0, 2])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_embedder_faults(emu: DeepInfraEmulator, slept: list[float], fault: str, use_async: bool, retries: int) -> None:
    emu.queue(FAULTS[fault], route="embeddings")
    if retries:
        vectors = embed(emu, retries, use_async, timeout_for(fault))
        assert len(vectors) == 2
        assert len(emu.requests_for("embeddings")) == 2
        return
    with pytest.raises(EmbeddingError) as raised:
        embed(emu, retries, use_async, timeout_for(fault))
    assert ERROR_TEXT[fault] in str(raised.value)
    assert len(emu.requests_for("embeddings")) == 1


@pytest.mark.parametrize("retries", [0, 2])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_reranker_faults(emu: DeepInfraEmulator, slept: list[float], fault: str, use_async: bool, retries: int) -> None:
    emu.queue(FAULTS[fault], route="inference")
    if retries:
        ranked = rerank(emu, retries, use_async, timeout_for(fault))
        assert ranked[0].content == "the capital of France is Paris"
        assert len(emu.requests_for("inference")) == 2
        return
    with pytest.raises(AgnoError) as raised:
        rerank(emu, retries, use_async, timeout_for(fault))
    assert ERROR_TEXT[fault] in str(raised.value)
    assert len(emu.requests_for("inference")) == 1


def test_reranker_fails_open_by_default(emu: DeepInfraEmulator) -> None:
    emu.always(Fault.status(503), route="inference")
    documents = [Document(content="first"), Document(content="second")]
    reranker = DeepInfraReranker(base_url=emu.base_url, api_key=emu.api_key)
    assert [d.content for d in reranker.rerank("q", documents)] == ["first", "second"]


def test_embedder_error_keeps_deepinfras_validation_text(emu: DeepInfraEmulator) -> None:
    embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key, dimensions=8)
    with pytest.raises(EmbeddingError) as raised:
        embedder.get_embedding("hello")
    assert "HTTP 422" in str(raised.value)
    assert "dimensions" in str(raised.value)
    assert json.dumps(emu.requests_for("embeddings")[0].body["dimensions"]) == "8"


def test_an_unknown_default_id_says_it_is_the_default_and_how_to_choose(
    emu: DeepInfraEmulator, make_model: MakeModel
) -> None:
    model = DeepInfra(base_url=emu.base_url, api_key=emu.api_key)  # no id=: agno's Llama-2 default
    emu.queue(Fault.status(404, body={"detail": {"error": "Model is not available"}}))
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.error
    assert "is the default id" in str(output.content) and "DeepInfra(id=...)" in str(output.content)
    emu.queue(Fault.status(404, body={"detail": {"error": "Model is not available"}}))
    other = Agent(model=make_model(id="meta-llama/Some-Other-Model")).run("hi")
    assert "default id" not in str(other.content)


def test_a_missing_key_is_an_authentication_error_in_every_class(emu: DeepInfraEmulator) -> None:
    """The model and the reranker raise `ModelAuthenticationError`; the embedder raises agno's
    `EmbeddingError` (what agno's vector databases handle) with reason "authentication", caused by
    the same `ModelAuthenticationError`. No request is sent by any of them."""
    from agno.exceptions import ModelAuthenticationError

    settings = {"base_url": emu.base_url}
    with pytest.raises(ModelAuthenticationError, match="DEEPINFRA_API_KEY is not set"):
        DeepInfra(**settings).response(messages=[Message(role="user", content="hi")])
    with pytest.raises(ModelAuthenticationError, match="DEEPINFRA_API_KEY is not set"):
        DeepInfraReranker(raise_on_error=True, **settings).rerank("q", [Document(content="a")])
    with pytest.raises(EmbeddingError, match="DEEPINFRA_API_KEY is not set") as raised:
        DeepInfraEmbedder(**settings).get_embedding("hi")
    assert raised.value.status_code == 401
    assert getattr(raised.value, "reason", "authentication") == "authentication"  # agno >= 3.1 has `reason`
    assert isinstance(raised.value.__cause__, ModelAuthenticationError)
    assert emu.requests == []
