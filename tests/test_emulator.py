"""The DeepInfra emulator over real loopback sockets: wire format, unscripted answers, faults, CLI, fixture."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import socket
import struct
import subprocess
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from agno_deepinfra.testing import CATALOG, DeepInfraEmulator, Fault, RecordedRequest, Reply, ToolCall
from agno_deepinfra.testing.pytest_plugin import deepinfra_emulator, deepinfra_emulator_session  # noqa: F401

LLAMA_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct"
RERANKER = "Qwen/Qwen3-Reranker-0.6B"
WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Current time in a timezone",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
        },
    },
]


# -- fixtures and helpers --------------------------------------------------------------------------


def chat_body(text: str = "Hello there", model: str = LLAMA_8B, **extra: Any) -> dict[str, Any]:
    """A minimal chat request body."""
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def sse_data(response: httpx.Response) -> list[str]:
    """The `data:` payloads of an SSE response, in order."""
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


def stream_chat(http: httpx.Client, body: dict[str, Any]) -> list[str]:
    """POST a streaming chat request and return its `data:` payloads."""
    with http.stream("POST", "/v1/openai/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return sse_data(response)


def read_deltas(response: httpx.Response, into: list[dict[str, Any]]) -> None:
    """Append each event's delta as it arrives, so the events before a broken connection are kept."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            into.append(json.loads(line[len("data: ") :])["choices"][0]["delta"])


def deltas(events: list[str]) -> list[dict[str, Any]]:
    """The `delta` of every chunk that has a choice."""
    chunks = [json.loads(event) for event in events if event != "[DONE]"]
    return [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]


def norm(vector: list[float]) -> float:
    """Euclidean length."""
    return math.sqrt(sum(value * value for value in vector))


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity."""
    return sum(x * y for x, y in zip(a, b, strict=True)) / (norm(a) * norm(b))


# -- chat ------------------------------------------------------------------------------------------


def test_chat_completion_shape_and_cost(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model=LLAMA_8B, messages=[{"role": "user", "content": "Tell me a joke"}])
    assert response.id.startswith("chatcmpl-")
    assert response.object == "chat.completion"
    assert response.model == LLAMA_8B
    assert response.choices[0].finish_reason == "stop"
    assert "Tell me a joke" in (response.choices[0].message.content or "")
    usage = response.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    entry = next(entry for entry in CATALOG if entry.id == LLAMA_8B)
    expected = (usage.prompt_tokens * entry.input_price + usage.completion_tokens * entry.output_price) / 1e6
    assert (usage.model_extra or {})["estimated_cost"] == pytest.approx(expected)


def test_unscripted_answer_does_simple_arithmetic(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model=LLAMA_8B, messages=[{"role": "user", "content": "What is 12 * 7?"}])
    assert "84" in (response.choices[0].message.content or "")


def test_stream_shape_with_usage_on_the_finish_chunk(http: httpx.Client) -> None:
    """DeepInfra's wire (WIRE.md): usage rides on the finish_reason chunk, and every chunk has a choice."""
    events = stream_chat(http, chat_body("Stream me something", stream_options={"include_usage": True}))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert all(chunk["choices"] for chunk in chunks)  # DeepInfra's own example reads choices[0] on every chunk
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert "Stream me something" in text
    assert len([c for c in chunks if c["choices"][0]["delta"].get("content")]) > 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["estimated_cost"] > 0
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert all("usage" not in chunk for chunk in chunks[:-1])


def test_stream_without_stream_options_still_has_usage(http: httpx.Client) -> None:
    chunks = [json.loads(event) for event in stream_chat(http, chat_body())[:-1]]
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks if "usage" in chunk] == ["stop"]


def test_documented_deepinfra_client_code_reads_usage_from_the_last_chunk(client: openai.OpenAI) -> None:
    """The loop of DeepInfra's "OpenAI API" page, run as written: `event.choices[0]` on every chunk."""
    finished = []
    for event in client.chat.completions.create(
        model=LLAMA_8B, messages=[{"role": "user", "content": "Hi"}], stream=True
    ):
        if event.choices[0].finish_reason:
            assert event.usage is not None
            finished.append((event.choices[0].finish_reason, event.usage.prompt_tokens, event.usage.completion_tokens))
    assert len(finished) == 1 and finished[0][0] == "stop" and finished[0][1] > 0 and finished[0][2] > 0


def test_openai_style_usage_chunk_only_with_include_usage(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.stream_usage = "openai"
    without = [json.loads(event) for event in stream_chat(http, chat_body())[:-1]]
    assert all("usage" not in chunk for chunk in without)
    events = stream_chat(http, chat_body(stream_options={"include_usage": True}))
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and "usage" not in chunks[-2]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_both_usage_placements_carry_the_same_record(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.stream_usage = "both"
    chunks = [json.loads(event) for event in stream_chat(http, chat_body(stream_options={"include_usage": True}))[:-1]]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["choices"] == []
    assert chunks[-2]["usage"] == chunks[-1]["usage"]


def test_stream_usage_style_is_checked_and_reset_restores_it(emu: DeepInfraEmulator) -> None:
    with pytest.raises(ValueError, match="stream_usage must be one of deepinfra, openai, both"):
        emu.stream_usage = "last"  # type: ignore[assignment]
    emu.stream_usage = "openai"
    emu.reset()
    assert emu.stream_usage == "deepinfra"


def test_scripted_reply_in_exact_chunks_and_usage_override(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Reply(content="a b c d e", chunks=3, usage={"prompt_tokens": 11, "completion_tokens": 7}))
    events = stream_chat(http, chat_body(stream_options={"include_usage": True}))
    pieces = [delta["content"] for delta in deltas(events)[1:] if delta.get("content")]
    assert len(pieces) == 3
    assert "".join(pieces) == "a b c d e"
    usage = json.loads(events[-2])["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (11, 7, 18)


def test_service_tier_is_echoed(client: openai.OpenAI, http: httpx.Client) -> None:
    response = client.chat.completions.create(
        model=LLAMA_8B, messages=[{"role": "user", "content": "hi"}], service_tier="priority"
    )
    assert response.service_tier == "priority"
    events = stream_chat(http, chat_body(service_tier="default"))
    assert json.loads(events[0])["service_tier"] == "default"


# -- tools -----------------------------------------------------------------------------------------


def test_unscripted_parallel_tool_calls(client: openai.OpenAI) -> None:
    text = "What's the weather in Paris and the time in UTC?"
    response = client.chat.completions.create(
        model=LLAMA_8B,
        messages=[{"role": "user", "content": text}],
        tools=WEATHER_TOOLS,  # type: ignore[arg-type]
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = {call.function.name: json.loads(call.function.arguments) for call in choice.message.tool_calls or []}  # type: ignore[union-attr]
    assert calls == {"get_weather": {"city": "Paris"}, "get_time": {"tz": "UTC"}}


def test_tool_choice_none_and_named(http: httpx.Client) -> None:
    body = chat_body("What's the weather in Paris?", tools=WEATHER_TOOLS, tool_choice="none")
    message = http.post("/v1/openai/chat/completions", json=body).json()["choices"][0]["message"]
    assert message["tool_calls"] is None
    assert "Paris" in message["content"]
    named = {"type": "function", "function": {"name": "get_time"}}
    body = chat_body("What's the weather in Paris?", tools=WEATHER_TOOLS, tool_choice=named)
    message = http.post("/v1/openai/chat/completions", json=body).json()["choices"][0]["message"]
    assert [call["function"]["name"] for call in message["tool_calls"]] == ["get_time"]


def test_tool_arguments_follow_the_schema(http: httpx.Client) -> None:
    parameters = {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 1},
            "order": {"type": "string", "enum": ["asc", "desc"]},
            "exact": {"type": "boolean"},
            "note": {"type": "string"},
        },
        "required": ["count", "order", "exact"],
    }
    tool = {
        "type": "function",
        "function": {"name": "list_books", "description": "List books", "parameters": parameters},
    }
    body = chat_body("List 5 books in desc order", tools=[tool])
    call = http.post("/v1/openai/chat/completions", json=body).json()["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"count": 5, "order": "desc", "exact": False}


def test_tool_results_are_reported_without_calling_again(client: openai.OpenAI) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "Weather in Paris and time in UTC?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"id": "c2", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": "UTC"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny, 20C"},
        {"role": "tool", "tool_call_id": "c2", "content": "12:00"},
    ]
    response = client.chat.completions.create(model=LLAMA_8B, messages=messages, tools=WEATHER_TOOLS)  # type: ignore[arg-type]
    message = response.choices[0].message
    assert message.tool_calls is None
    assert "The get_weather tool returned: Sunny, 20C." in (message.content or "")
    assert "The get_time tool returned: 12:00." in (message.content or "")


def test_scripted_tool_calls_stream_and_reassemble(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    calls = [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_time", '{"tz": broken', id="call_fixed")]
    emu.queue(Reply(tool_calls=calls))
    events = stream_chat(http, chat_body())
    assembled: dict[int, dict[str, Any]] = {}
    per_call: dict[int, list[dict[str, Any]]] = {}
    for delta in deltas(events):
        for part in delta.get("tool_calls", []):
            per_call.setdefault(part["index"], []).append(part)
            slot = assembled.setdefault(part["index"], {"id": None, "name": "", "arguments": ""})
            slot["id"] = slot["id"] or part.get("id")
            slot["name"] += part.get("function", {}).get("name", "")
            slot["arguments"] += part.get("function", {}).get("arguments", "")
    assert json.loads(events[-2])["choices"][0]["finish_reason"] == "tool_calls"
    assert assembled[0]["name"] == "get_weather"
    assert json.loads(assembled[0]["arguments"]) == {"city": "Paris"}
    assert assembled[1] == {"id": "call_fixed", "name": "get_time", "arguments": '{"tz": broken'}
    for parts in per_call.values():
        assert parts[0]["type"] == "function"
        assert parts[0]["function"]["arguments"] == ""
        assert len(parts) >= 3  # the head, then the arguments in two or more pieces


# -- JSON mode, reasoning, vision ------------------------------------------------------------------


class Genre(str, Enum):
    """A test enum."""

    drama = "drama"
    scifi = "scifi"


class Person(BaseModel):
    """A nested test model."""

    name: str
    age: int


class Review(BaseModel):
    """A structured output like agno's `output_schema`."""

    title: str
    rating: float
    recommended: bool
    genre: Genre
    tags: list[str]
    director: Person
    cast: list[Person]
    sequel: str | None = None


def test_json_object_mode_fills_agno_prompt_schema(client: openai.OpenAI) -> None:
    from agno.utils.prompts import get_json_output_prompt

    messages: list[Any] = [
        {"role": "system", "content": "You review films.\n" + get_json_output_prompt(Review)},  # type: ignore[arg-type]
        {"role": "user", "content": "Review the scifi film Inception from Paris, rating 9.5"},
    ]
    response = client.chat.completions.create(
        model=LLAMA_8B, messages=messages, response_format={"type": "json_object"}
    )
    review = Review.model_validate_json(response.choices[0].message.content or "")
    assert review.genre is Genre.scifi
    assert review.rating == 9.5
    assert review.director.name == "Inception"


def test_json_schema_response_format(client: openai.OpenAI) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}, "capital": {"type": "boolean"}},
        "required": ["city", "population", "capital"],
    }
    response = client.chat.completions.create(
        model=LLAMA_8B,
        messages=[{"role": "user", "content": "Describe Lyon, population 520000"}],
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}},
    )
    assert json.loads(response.choices[0].message.content or "") == {
        "city": "Lyon",
        "population": 520000,
        "capital": False,
    }


def test_json_object_without_schema_wraps_the_answer(http: httpx.Client) -> None:
    body = chat_body("Say hi", response_format={"type": "json_object"})
    content = http.post("/v1/openai/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert "Say hi" in json.loads(content)["answer"]


def test_deepseek_r1_returns_reasoning_content(client: openai.OpenAI, emu: DeepInfraEmulator) -> None:
    response = client.chat.completions.create(
        model="deepseek-ai/DeepSeek-R1-0528", messages=[{"role": "user", "content": "Why is the sky blue?"}]
    )
    message = response.choices[0].message
    assert "Why is the sky blue?" in (message.model_extra or {})["reasoning_content"]
    assert "<think>" not in (message.content or "")
    emu.queue(Reply(content="answer", reasoning_content="thinking..."))
    events = stream_chat(emu_http(emu), chat_body())
    kinds = [next(iter(delta)) for delta in deltas(events)[1:] if delta]
    assert kinds == ["reasoning_content", "content"]


def emu_http(emu: DeepInfraEmulator) -> httpx.Client:
    """A throwaway authenticated client (for tests that already use the SDK fixture)."""
    return httpx.Client(base_url=emu.root_url, headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=10)


def test_qwen3_thinks_in_tags_unless_disabled(http: httpx.Client) -> None:
    body = chat_body("Plan a trip", model="Qwen/Qwen3-32B")
    content = http.post("/v1/openai/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert content.startswith("<think>\n") and "</think>" in content
    body["chat_template_kwargs"] = {"enable_thinking": False}
    content = http.post("/v1/openai/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert "<think>" not in content


def test_vision_message_parts_are_counted(http: httpx.Client) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    parts = [{"type": "text", "text": "What is in this picture?"}, image]
    body = {"model": "meta-llama/Llama-3.2-11B-Vision-Instruct", "messages": [{"role": "user", "content": parts}]}
    content = http.post("/v1/openai/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert "I see 1 image." in content
    assert "What is in this picture?" in content


# -- embeddings and rerank -------------------------------------------------------------------------


def test_embeddings_float_order_and_native_size(http: httpx.Client) -> None:
    body = {"model": "BAAI/bge-m3", "input": ["first text", "second text"], "encoding_format": "float"}
    data = http.post("/v1/openai/embeddings", json=body).json()
    assert data["object"] == "list"
    assert [item["index"] for item in data["data"]] == [0, 1]
    first, second = (item["embedding"] for item in data["data"])
    assert len(first) == 1024 and norm(first) == pytest.approx(1.0)
    assert first != second
    assert data["usage"]["prompt_tokens"] == data["usage"]["total_tokens"] > 0
    assert data["usage"]["estimated_cost"] > 0


def test_embeddings_base64_matches_float(client: openai.OpenAI, http: httpx.Client) -> None:
    model = "sentence-transformers/all-MiniLM-L6-v2"
    vector = client.embeddings.create(model=model, input="hello world").data[0].embedding  # SDK asks for base64
    raw = http.post("/v1/openai/embeddings", json={"model": model, "input": "hello world", "encoding_format": "base64"})
    decoded = struct.unpack("<384f", base64.b64decode(raw.json()["data"][0]["embedding"]))
    floats = http.post("/v1/openai/embeddings", json={"model": model, "input": "hello world"}).json()
    assert vector == pytest.approx(list(decoded))
    assert list(decoded) == pytest.approx(floats["data"][0]["embedding"])
    assert len(vector) == 384


def test_embeddings_dimensions(http: httpx.Client) -> None:
    def embed(dimensions: int) -> httpx.Response:
        body = {"model": "BAAI/bge-m3", "input": "text", "dimensions": dimensions}
        return http.post("/v1/openai/embeddings", json=body)

    assert len(embed(64).json()["data"][0]["embedding"]) == 64
    padded = embed(2048).json()["data"][0]["embedding"]
    assert len(padded) == 2048 and padded[1024:] == [0.0] * 1024
    too_small = embed(16)
    assert too_small.status_code == 422
    assert too_small.json()["detail"][0]["loc"] == ["body", "dimensions"]


def test_embeddings_shared_words_are_closer(client: openai.OpenAI) -> None:
    texts = ["the cat sat on the mat", "a cat on a mat", "quarterly revenue grew strongly"]
    vectors = [item.embedding for item in client.embeddings.create(model="BAAI/bge-m3", input=texts).data]
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3


def test_native_inference_embeddings(http: httpx.Client) -> None:
    body = {"inputs": ["alpha", "beta"], "normalize": True}
    data = http.post("/v1/inference/Qwen/Qwen3-Embedding-0.6B", json=body).json()
    assert len(data["embeddings"]) == 2 and len(data["embeddings"][0]) == 1024
    assert data["inference_status"]["status"] == "succeeded"
    assert data["input_tokens"] == data["inference_status"]["tokens_input"] > 0


def test_rerank_scores_relevant_document_highest(http: httpx.Client) -> None:
    documents = ["Bananas are yellow fruit", "Paris is the capital of France", "Berlin has many museums"]
    body = {"queries": ["What is the capital of France?"] * 3, "documents": documents}
    data = http.post(f"/v1/inference/{RERANKER}", json=body).json()
    scores = data["scores"]
    assert len(scores) == 3 and all(0.0 <= score <= 1.0 for score in scores)
    assert max(range(3), key=scores.__getitem__) == 1
    assert data["request_id"] and data["inference_status"]["tokens_generated"] == 0
    single = http.post(f"/v1/inference/{RERANKER}", json={"query": "capital of France", "documents": documents})
    assert single.json()["scores"] == pytest.approx(
        http.post(f"/v1/inference/{RERANKER}", json={**body, "queries": ["capital of France"] * 3}).json()["scores"]
    )


def test_rerank_length_mismatch_is_422(http: httpx.Client) -> None:
    response = http.post(f"/v1/inference/{RERANKER}", json={"queries": ["q"], "documents": ["a", "b"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "queries"]


# -- models ----------------------------------------------------------------------------------------


def test_models_list_is_public_with_metadata(emu: DeepInfraEmulator) -> None:
    data = httpx.get(f"{emu.base_url}/models").json()  # no key
    by_id = {entry["id"]: entry for entry in data["data"]}
    assert data["object"] == "list"
    assert "meta-llama/Llama-2-70b-chat-hf" in by_id
    llama = by_id[LLAMA_8B]
    assert llama["object"] == "model" and llama["owned_by"] == "deepinfra"
    assert llama["metadata"]["context_length"] == 131072
    assert {"tools", "json"} <= set(llama["metadata"]["tags"])
    assert set(llama["metadata"]["pricing"]) >= {"input_tokens", "output_tokens"}
    assert "vision" in by_id["meta-llama/Llama-3.2-11B-Vision-Instruct"]["metadata"]["tags"]


def test_model_details_404_and_add_model(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    assert httpx.get(f"{emu.base_url}/models/{LLAMA_8B}").json()["id"] == LLAMA_8B
    assert httpx.get(f"{emu.root_url}/models/{LLAMA_8B}").json()["model_name"] == LLAMA_8B
    missing = httpx.get(f"{emu.root_url}/models/acme/unknown")
    assert (missing.status_code, missing.json()) == (404, {"error": "Model not found"})
    emu.add_model("acme/Tiny-1B", context_length=64, tags=["tools"], pricing={"input_tokens": 1, "output_tokens": 2})
    assert httpx.get(f"{emu.root_url}/models/acme/Tiny-1B").json()["tags"] == ["tools"]
    assert httpx.get(f"{emu.base_url}/models/acme/Tiny-1B").json()["metadata"]["tags"] == ["tools"]
    answer = http.post("/v1/openai/chat/completions", json=chat_body(model="acme/Tiny-1B")).json()
    assert answer["model"] == "acme/Tiny-1B"
    overflow = http.post("/v1/openai/chat/completions", json=chat_body("word " * 100, model="acme/Tiny-1B"))
    assert overflow.status_code == 400


# -- errors ----------------------------------------------------------------------------------------


def test_missing_or_wrong_key_is_401(emu: DeepInfraEmulator) -> None:
    url = f"{emu.base_url}/chat/completions"
    assert httpx.post(url, json=chat_body()).status_code == 401
    wrong = httpx.post(url, json=chat_body(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "API key" in wrong.json()["detail"]["error"]
    with (
        openai.OpenAI(base_url=emu.base_url, api_key="nope", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError),
    ):
        sdk.chat.completions.create(model=LLAMA_8B, messages=[{"role": "user", "content": "hi"}])


def test_unknown_model_is_404_with_detail(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="acme/does-not-exist", messages=[{"role": "user", "content": "hi"}])
    message = caught.value.response.json()["detail"]["error"]
    assert message.startswith("Model is not available (emulator: catalog is a snapshot of ")
    assert "emulator.add_model('acme/does-not-exist')" in message and "/_emulator/models" in message


def test_validation_errors_are_fastapi_422_lists(http: httpx.Client) -> None:
    bad = http.post("/v1/openai/chat/completions", json=chat_body(temperature=3.5, top_p=0))
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert detail[0] == {
        "loc": ["body", "temperature"],
        "msg": "Input should be less than or equal to 2",
        "type": "less_than_equal",
        "input": 3.5,
    }
    assert detail[1]["loc"] == ["body", "top_p"] and detail[1]["type"] == "greater_than"
    empty = http.post("/v1/openai/chat/completions", json={"model": LLAMA_8B, "messages": []})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "messages"]
    tier = http.post("/v1/openai/chat/completions", json=chat_body(service_tier="gold"))
    assert tier.json()["detail"][0]["type"] == "literal_error"
    garbage = http.post(
        "/v1/openai/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 422 and garbage.json()["detail"][0]["type"] == "json_invalid"


def test_context_overflow_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="meta-llama/Llama-2-70b-chat-hf",
            messages=[{"role": "user", "content": "x" * 20000}],
            max_tokens=500,
        )
    error = caught.value.response.json()["error"]
    assert "maximum context length is 4096 tokens" in error["message"]
    assert error["code"] == "context_length_exceeded"


def test_unknown_path_and_wrong_method(http: httpx.Client) -> None:
    assert http.get("/v1/openai/nothing").json() == {"detail": "Not Found"}
    assert http.get("/v1/openai/chat/completions").status_code == 405


# -- faults ----------------------------------------------------------------------------------------


def test_fault_status_with_default_body_and_retry_after(emu: DeepInfraEmulator, client: openai.OpenAI) -> None:
    emu.queue(Fault.status(429, headers={"Retry-After": "3"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=LLAMA_8B, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.response.json()["detail"]["error"].startswith("Rate limited")
    emu.queue(Fault.status(503, body={"detail": "No capacity"}))
    with pytest.raises(openai.InternalServerError) as server_error:
        client.chat.completions.create(model=LLAMA_8B, messages=[{"role": "user", "content": "hi"}])
    assert server_error.value.response.json() == {"detail": "No capacity"}


def test_fault_status_html_body(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Fault.status(502, text="<html>502 Bad Gateway</html>"))
    response = http.post("/v1/openai/chat/completions", json=chat_body())
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<html>502 Bad Gateway</html>"


def test_fault_drop_closes_without_response(emu: DeepInfraEmulator, client: openai.OpenAI, http: httpx.Client) -> None:
    emu.queue(Fault.drop())
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/v1/openai/chat/completions", json=chat_body())
    emu.queue(Fault.drop())
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=LLAMA_8B, messages=[{"role": "user", "content": "hi"}])
    assert len(emu.requests_for("chat")) == 2  # both were recorded before the fault
    assert http.post("/v1/openai/chat/completions", json=chat_body()).status_code == 200


def test_fault_drop_after_sends_exactly_n_content_chunks(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Fault.drop_after(2, then=Reply(content="a b c d e")))
    received: list[dict[str, Any]] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/v1/openai/chat/completions", json=chat_body(stream=True)) as response,
    ):
        read_deltas(response, received)
    assert [delta["content"] for delta in received] == ["a ", "b "]
    assert received[0]["role"] == "assistant"
    emu.queue(Fault.drop_after(2))
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/v1/openai/chat/completions", json=chat_body())  # non-streaming: dropped


def test_fault_delay_then_normal_answer(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Fault.delay(0.3))
    emu.queue(Reply(content="second"))
    started = time.monotonic()
    first = http.post("/v1/openai/chat/completions", json=chat_body("delayed please"))
    assert time.monotonic() - started >= 0.3
    assert "delayed please" in first.json()["choices"][0]["message"]["content"]  # unscripted, queue item kept
    second = http.post("/v1/openai/chat/completions", json=chat_body())
    assert second.json()["choices"][0]["message"]["content"] == "second"


def test_fault_hang_until_client_timeout(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Fault.hang())
    with pytest.raises(httpx.ReadTimeout):
        http.post("/v1/openai/chat/completions", json=chat_body(), timeout=0.3)
    assert http.post("/v1/openai/chat/completions", json=chat_body()).status_code == 200


def test_fault_malformed_json(emu: DeepInfraEmulator, client: openai.OpenAI, http: httpx.Client) -> None:
    emu.queue(Fault.malformed_json())
    response = http.post("/v1/openai/chat/completions", json=chat_body())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    emu.queue(Fault.malformed_json())
    stream = client.chat.completions.create(model=LLAMA_8B, messages=[{"role": "user", "content": "hi"}], stream=True)
    with pytest.raises(json.JSONDecodeError):
        list(stream)


def test_fault_no_done(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Fault.no_done())
    events = stream_chat(http, chat_body("no done"))
    assert events and "[DONE]" not in events
    assert json.loads(events[-1])["choices"][0]["finish_reason"] == "stop"


def test_fail_every_and_always(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    def statuses(count: int) -> list[int]:
        return [http.post("/v1/openai/chat/completions", json=chat_body()).status_code for _ in range(count)]

    emu.fail_every(3, Fault.status(429, headers={"Retry-After": "0"}))
    assert statuses(6) == [200, 200, 429, 200, 200, 429]
    emu.always(Fault.status(503))
    emu.queue(Reply(content="queued wins"))
    assert statuses(3) == [200, 503, 429]  # queue > fail_every hit > always
    emu.clear_always()
    assert statuses(3) == [200, 200, 200]


def test_queues_are_per_route(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Fault.status(500), route="embeddings")
    emu.queue(Reply(scores=[0.5, 0.25]), route="inference")
    assert http.post("/v1/openai/chat/completions", json=chat_body()).status_code == 200
    embeddings = http.post("/v1/openai/embeddings", json={"model": "BAAI/bge-m3", "input": "x"})
    assert embeddings.status_code == 500
    assert embeddings.json() == {"detail": {"error": "Internal server error"}}
    scored = http.post(f"/v1/inference/{RERANKER}", json={"queries": ["q", "q"], "documents": ["a", "b"]})
    assert scored.json()["scores"] == [0.5, 0.25]
    with pytest.raises(ValueError, match="unknown route"):
        emu.queue(Reply(), route="nope")


# -- request log, reset ----------------------------------------------------------------------------


def test_request_log_records_everything(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    http.post("/v1/openai/chat/completions", json=chat_body("logged"), headers={"X-Trace": "Abc"})
    http.post(f"/v1/inference/{RERANKER}", json={"queries": ["q"], "documents": ["d"]})
    http.get("/nowhere")
    log = emu.requests
    assert [request.route for request in log] == ["chat", "inference", "unknown"]
    chat = log[0]
    assert isinstance(chat, RecordedRequest)
    assert (chat.method, chat.path) == ("POST", "/v1/openai/chat/completions")
    assert chat.headers["x-trace"] == "Abc" and chat.headers["authorization"] == f"Bearer {emu.api_key}"
    assert chat.body["messages"][0]["content"] == "logged"
    assert chat.model == LLAMA_8B and log[1].model == RERANKER
    assert log[0].time <= log[1].time <= time.monotonic()
    assert emu.requests_for("inference") == [log[1]]


def test_reset_clears_queues_rules_and_log(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Fault.status(500))
    emu.always(Fault.status(503))
    http.get("/v1/openai/models")
    emu.reset()
    assert emu.requests == []
    assert http.post("/v1/openai/chat/completions", json=chat_body()).status_code == 200


# -- CLI, fixture, load ----------------------------------------------------------------------------


def free_port() -> int:
    """A port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_cli_serve(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "agno_deepinfra.testing", "serve", "--port", str(port), "--api-key", "cli-key"]
    command += ["--stream-usage", "openai"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1/openai" in line and "cli-key" in line
        assert httpx.get(f"http://127.0.0.1:{port}/v1/openai/models").status_code == 200
        denied = httpx.post(f"http://127.0.0.1:{port}/v1/openai/chat/completions", json=chat_body())
        assert denied.status_code == 401
        headers = {"Authorization": "Bearer cli-key"}
        body = chat_body(stream=True, stream_options={"include_usage": True})
        with httpx.stream(
            "POST", f"{line.split('base_url=')[1].split()[0]}/chat/completions", json=body, headers=headers
        ) as r:
            last = json.loads(sse_data(r)[-2])
        assert last["choices"] == [] and last["usage"]["total_tokens"] > 0  # --stream-usage openai
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_pytest_fixture_gives_a_reset_running_emulator(deepinfra_emulator: DeepInfraEmulator) -> None:  # noqa: F811
    assert deepinfra_emulator.requests == []
    assert deepinfra_emulator.base_url == f"http://127.0.0.1:{deepinfra_emulator.port}/v1/openai"
    assert httpx.get(f"{deepinfra_emulator.base_url}/models").status_code == 200


def test_context_manager_stops_the_server() -> None:
    with DeepInfraEmulator(api_key="k") as emulator:
        url = f"{emulator.base_url}/models"
        assert emulator.api_key == "k"
        assert httpx.get(url).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


async def test_300_concurrent_requests() -> None:
    with DeepInfraEmulator(concurrency_limit=None) as emu:  # past DeepInfra's cap of 200: this tests connections
        await _serve_300_at_once(emu)


async def _serve_300_at_once(emu: DeepInfraEmulator) -> None:
    emu.always(Fault.delay(0.3))  # every request is held, so all 300 connections are open at once
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    # Ten clients of 30 connections: one httpx pool slows down quadratically with its size, which
    # would measure httpx rather than the emulator.
    clients = [
        httpx.AsyncClient(base_url=emu.base_url, headers=headers, limits=httpx.Limits(max_connections=30), timeout=20)
        for _ in range(10)
    ]

    async def one(index: int) -> bool:
        body = chat_body(f"request {index}", stream=index % 2 == 0)
        response = await clients[index % 10].post("/chat/completions", json=body)
        if index % 2:
            text = response.json()["choices"][0]["message"]["content"]
        else:
            text = "".join(delta.get("content", "") for delta in deltas(sse_data(response)))
        return response.status_code == 200 and f"request {index}" in text

    started = time.monotonic()
    results = await asyncio.gather(*(one(index) for index in range(300)))
    elapsed = time.monotonic() - started
    for http_async in clients:
        await http_async.aclose()
    assert all(results)
    assert len(emu.requests_for("chat")) == 300
    assert emu.peak_connections >= 300
    assert elapsed < 10  # one at a time would take 300 x 0.3 s = 90 s
