"""The emulator's DeepInfra-only surfaces, over real sockets: legacy completions, native text
generation, native model info and list (shapes and sources in agno_deepinfra/testing/WIRE.md)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from agno_deepinfra.testing import CATALOG, DeepInfraEmulator, Fault, Reply
from agno_deepinfra.testing.pytest_plugin import deepinfra_emulator, deepinfra_emulator_session  # noqa: F401

LLAMA_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct"
EMBEDDER = "BAAI/bge-m3"

# Every field DeepInfra's OpenAPI spec marks required in `ModelInfoOut` and `ModelOut`.
MODEL_INFO_REQUIRED = {
    "model_name", "type", "tags", "reported_type", "version", "featured", "public", "curl_inv", "cmdline_inv",
    "txt_docs", "out_example", "out_docs", "pricing", "schemas",
}  # fmt: skip
MODEL_OUT_REQUIRED = {"model_name", "type", "reported_type", "pricing"}


def sse_chunks(http: httpx.Client, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON chunks of a streamed answer (`[DONE]` checked and dropped)."""
    with http.stream("POST", path, json={**body, "stream": True}) as response:
        assert response.status_code == 200
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]


# -- legacy completions ----------------------------------------------------------------------------


def test_completion_with_the_openai_sdk(client: openai.OpenAI) -> None:
    completion = client.completions.create(model=LLAMA_8B, prompt="What is 6 * 7?", max_tokens=50)
    assert completion.object == "text_completion" and completion.id.startswith("cmpl-")
    assert completion.choices[0].finish_reason == "stop"
    assert "42" in completion.choices[0].text
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert (completion.usage.model_extra or {})["estimated_cost"] > 0


def test_completions_stream_as_documented(client: openai.OpenAI) -> None:
    """DeepInfra's "Completions" page loop, as written: `event.usage` on the chunk with a finish reason."""
    text, finished = [], []
    for event in client.completions.create(model=LLAMA_8B, prompt="Say hello", stream=True):
        if event.choices[0].finish_reason:
            assert event.usage is not None
            finished.append((event.usage.prompt_tokens, event.usage.completion_tokens))
        else:
            text.append(event.choices[0].text)
    assert "Say hello" in "".join(text)
    assert len(finished) == 1 and finished[0][0] > 0 and finished[0][1] > 0


def test_completions_stream_usage_placement_follows_the_switch(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    body = {"model": LLAMA_8B, "prompt": "hi", "stream_options": {"include_usage": True}}
    emu.stream_usage = "openai"
    chunks = sse_chunks(http, "/v1/openai/completions", body)
    assert "usage" not in chunks[-2] and chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_scripted_completion_echo_and_exact_chunks(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Reply(content=" world", usage={"prompt_tokens": 3, "completion_tokens": 2}), route="completions")
    answer = http.post("/v1/openai/completions", json={"model": LLAMA_8B, "prompt": "hello", "echo": True}).json()
    assert answer["choices"][0]["text"] == "hello world"
    assert answer["usage"]["total_tokens"] == 5
    emu.queue(Reply(content="abcdef", chunks=3), route="completions")
    chunks = sse_chunks(http, "/v1/openai/completions", {"model": LLAMA_8B, "prompt": "x"})
    assert [chunk["choices"][0]["text"] for chunk in chunks] == ["ab", "cd", "ef", ""]


def test_completions_validation_and_model_errors(http: httpx.Client) -> None:
    no_prompt = http.post("/v1/openai/completions", json={"model": LLAMA_8B})
    assert no_prompt.status_code == 422 and no_prompt.json()["detail"][0]["loc"] == ["body", "prompt"]
    hot = http.post("/v1/openai/completions", json={"model": LLAMA_8B, "prompt": "x", "temperature": 3})
    assert hot.status_code == 422 and hot.json()["detail"][0]["type"] == "less_than_equal"
    unknown = http.post("/v1/openai/completions", json={"model": "acme/none", "prompt": "x"})
    assert unknown.status_code == 404
    wrong_kind = http.post("/v1/openai/completions", json={"model": EMBEDDER, "prompt": "x"})
    assert wrong_kind.status_code == 400 and "does not support completions" in wrong_kind.text


def test_completions_stream_faults(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Fault.no_done(then=Reply(content="a b")), route="completions")
    with http.stream("POST", "/v1/openai/completions", json={"model": LLAMA_8B, "prompt": "x", "stream": True}) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert events and events[-1] != "data: [DONE]"
    emu.queue(Fault.drop_after(1, then=Reply(content="a b c")), route="completions")
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/v1/openai/completions", json={"model": LLAMA_8B, "prompt": "x", "stream": True}) as r,
    ):
        list(r.iter_lines())


# -- native text generation ------------------------------------------------------------------------


def test_native_text_generation_shape(http: httpx.Client) -> None:
    data = http.post(f"/v1/inference/{LLAMA_8B}", json={"input": "What is 2 + 3?"}).json()
    assert "5" in data["results"][0]["generated_text"]
    assert data["num_input_tokens"] == data["inference_status"]["tokens_input"] > 0
    assert data["num_tokens"] == data["inference_status"]["tokens_generated"] > 0
    assert data["inference_status"]["status"] == "succeeded" and data["inference_status"]["cost"] > 0
    assert data["request_id"]


def test_native_text_generation_scripted_and_errors(emu: DeepInfraEmulator, http: httpx.Client) -> None:
    emu.queue(Reply(content="scripted", usage={"prompt_tokens": 4, "completion_tokens": 1}), route="inference")
    data = http.post(f"/v1/inference/{LLAMA_8B}", json={"input": "x"}).json()
    assert (data["results"], data["num_tokens"], data["num_input_tokens"]) == ([{"generated_text": "scripted"}], 1, 4)
    missing = http.post(f"/v1/inference/{LLAMA_8B}", json={"prompt": "x"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "input"]
    streamed = http.post(f"/v1/inference/{LLAMA_8B}", json={"input": "x", "stream": True})
    assert streamed.status_code == 400 and "does not stream native inference" in streamed.json()["error"]


# -- native model info and list --------------------------------------------------------------------


def test_native_model_info_has_its_fields_at_the_top_level(emu: DeepInfraEmulator) -> None:
    entry = next(entry for entry in CATALOG if entry.id == LLAMA_8B)
    info = httpx.get(f"{emu.root_url}/models/{LLAMA_8B}").json()  # no key: the route is public
    assert set(info) >= MODEL_INFO_REQUIRED
    assert (info["model_name"], info["type"], info["max_tokens"]) == (LLAMA_8B, "text-generation", 131072)
    assert "tools" in info["tags"]
    assert info["pricing"]["type"] == "tokens"
    assert info["pricing"]["cents_per_input_token"] * 10_000 == pytest.approx(entry.input_price)


def test_native_model_list(http: httpx.Client) -> None:
    models = http.get("/models/list").json()
    assert isinstance(models, list) and {entry.id for entry in CATALOG} <= {model["model_name"] for model in models}
    assert all(set(model) >= MODEL_OUT_REQUIRED for model in models)
    by_name = {model["model_name"]: model for model in models}
    assert by_name[EMBEDDER]["type"] == "embeddings" and by_name["Qwen/Qwen3-Reranker-0.6B"]["type"] == "reranker"
    assert by_name[LLAMA_8B]["tags"] == ["tools", "json"]
