"""LiteLLM's `deepinfra/` provider: chat, stream, tools, rerank, auth error.

Pointed at the emulator with `api_base=<emulator>/v1/openai` (LiteLLM also reads
`DEEPINFRA_API_BASE`); rerank derives `<root>/v1/inference/{model}` from the same base.
"""

from __future__ import annotations

import litellm
import pytest
from conftest import CHAT_MODEL, RERANKER

from agno_deepinfra.testing import DeepInfraEmulator

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def options(emu: DeepInfraEmulator) -> dict[str, str]:
    return {"api_base": emu.base_url, "api_key": emu.api_key}


def test_chat(emu: DeepInfraEmulator) -> None:
    response = litellm.completion(
        model=f"deepinfra/{CHAT_MODEL}", messages=[{"role": "user", "content": "What is 3 * 4?"}], **options(emu)
    )
    assert "12" in response.choices[0].message.content
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0
    assert emu.requests_for("chat")[0].body["model"] == CHAT_MODEL


def test_stream(emu: DeepInfraEmulator) -> None:
    chunks = list(
        litellm.completion(
            model=f"deepinfra/{CHAT_MODEL}",
            messages=[{"role": "user", "content": "Stream this"}],
            stream=True,
            stream_options={"include_usage": True},
            **options(emu),
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert "Stream this" in text
    usages = [chunk.usage for chunk in chunks if getattr(chunk, "usage", None)]
    assert usages and usages[-1].completion_tokens > 0


def test_tools(emu: DeepInfraEmulator) -> None:
    response = litellm.completion(
        model=f"deepinfra/{CHAT_MODEL}",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
        **options(emu),
    )
    call = response.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and "Paris" in call.function.arguments
    assert response.choices[0].finish_reason == "tool_calls"


def test_rerank(emu: DeepInfraEmulator) -> None:
    documents = ["Paris is the capital of France.", "Bananas are yellow.", "France has many cities."]
    response = litellm.rerank(
        model=f"deepinfra/{RERANKER}", query="capital of France", documents=documents, **options(emu)
    )
    scores = {result["index"]: result["relevance_score"] for result in response.results}
    assert set(scores) == {0, 1, 2} and scores[0] > scores[1]
    assert response.meta["tokens"]["input_tokens"] > 0
    assert emu.requests_for("inference")[0].path == f"/v1/inference/{RERANKER}"


def test_auth_error(emu: DeepInfraEmulator) -> None:
    with pytest.raises(litellm.AuthenticationError) as caught:
        litellm.completion(
            model=f"deepinfra/{CHAT_MODEL}",
            messages=[{"role": "user", "content": "hi"}],
            api_base=emu.base_url,
            api_key="wrong-key",
            num_retries=0,
        )
    assert caught.value.status_code == 401 and "invalid or missing API key" in str(caught.value)
