"""Live checks that settle what DeepInfra's docs leave open about open models (issue 25).

Each test names the question in /work/shared/OPEN_MODELS.md section 7 (and testing/WIRE.md, "Model
families") it settles. Deselected by default (`-m "not live"`) and skipped without a key.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.getenv("LIVE_DEEPINFRA_API_KEY"), reason="set LIVE_DEEPINFRA_API_KEY to run live tests"),
]
URL = "https://api.deepinfra.com/v1/openai/chat/completions"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def chat(body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {os.environ['LIVE_DEEPINFRA_API_KEY']}"}
    return httpx.post(URL, json={"max_tokens": 256, **body}, headers=headers, timeout=120)


def test_live_tools_unsupported_body() -> None:
    """Q: the 405 body for tools on a chat-only model (WIRE.md: `param: "tools"`)."""
    response = chat(
        {
            "model": "NousResearch/Hermes-3-Llama-3.1-70B",
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [WEATHER_TOOL],
        }
    )
    if response.status_code == 405:
        assert response.json()["error"]["param"] == "tools"


@pytest.mark.parametrize("model", ["mistralai/Mistral-Small-3.2-24B-Instruct-2506", "moonshotai/Kimi-K2-Instruct-0905"])
def test_live_tool_call_id_form_and_stream_index(model: str) -> None:
    """Q3: the tool-call id form per family, and whether streamed deltas always carry `index`."""
    response = chat(
        {
            "model": model,
            "messages": [{"role": "user", "content": "Use the tool: weather in Paris and in Rome."}],
            "tools": [WEATHER_TOOL],
        }
    )
    assert response.status_code == 200, response.text
    calls = response.json()["choices"][0]["message"].get("tool_calls") or []
    print(model, [call["id"] for call in calls])  # the finding is the output


def test_live_mistral_rejects_foreign_ids() -> None:
    """Q6: does DeepInfra validate Mistral's 9-character ids in history? (The emulator's `mistral_ids` quirk.)"""
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0123456789abcdef",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_0123456789abcdef", "content": "windy"},
    ]
    response = chat(
        {"model": "mistralai/Mistral-Small-3.2-24B-Instruct-2506", "messages": messages, "tools": [WEATHER_TOOL]}
    )
    print(response.status_code, response.text[:300])


def test_live_python_literal_arguments_in_history() -> None:
    """Q6: does DeepInfra answer 400 to non-JSON arguments in history (the `strict_history_args` quirk)?"""
    messages = [
        {"role": "user", "content": "Weather in Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{'city': 'Rome'}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "windy"},
    ]
    response = chat({"model": "Qwen/Qwen3-32B", "messages": messages, "tools": [WEATHER_TOOL]})
    print(response.status_code, response.text[:300])


def test_live_reasoning_content_accepted_in_input() -> None:
    """Q1: DeepInfra's schema has `reasoning_content` on assistant messages: is it accepted?"""
    messages = [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "I should look up Oslo.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "windy"},
    ]
    response = chat({"model": "deepseek-ai/DeepSeek-V3.1", "messages": messages, "tools": [WEATHER_TOOL]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("send_reasoning", [False, True])
@pytest.mark.parametrize(
    "model", ["deepseek-ai/DeepSeek-V3.2", "moonshotai/Kimi-K2-Thinking", "deepseek-ai/DeepSeek-R1-0528"]
)
def test_live_reasoning_passback_required_or_refused(model: str, send_reasoning: bool) -> None:
    """Q1: does DeepInfra require sent-back reasoning on tool-call turns (DeepSeek's and Moonshot's own
    APIs answer 400 without it), or refuse it (the old DeepSeek-R1 API)? The emulator's
    `require_reasoning` / `reject_reasoning` quirks, and `chat/families/_passback.py`, assume that a
    refusal names the field: whatever DeepInfra answers, a 4xx must, or the client cannot learn from it."""
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
        ],
    }
    if send_reasoning:
        assistant["reasoning_content"] = "I should look up Oslo."
    messages = [
        {"role": "user", "content": "Weather in Oslo?"},
        assistant,
        {"role": "tool", "tool_call_id": "call_1", "content": "windy"},
    ]
    response = chat({"model": model, "messages": messages, "tools": [WEATHER_TOOL]})
    print(model, send_reasoning, response.status_code, response.text[:300])  # the finding is the output
    if response.status_code in (400, 422):
        assert "reasoning_content" in response.text, response.text
    else:
        assert response.status_code == 200, response.text


def test_live_tools_with_response_format() -> None:
    """Q5: with `tools` and `response_format` together, are tool calls suppressed (vllm#39929)?"""
    response = chat(
        {
            "model": "Qwen/Qwen3-32B",
            "messages": [{"role": "user", "content": "Use the tool: weather in Paris. Answer in JSON."}],
            "tools": [WEATHER_TOOL],
            "response_format": {"type": "json_object"},
        }
    )
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    print("tool_calls:", message.get("tool_calls"), "content:", str(message.get("content"))[:200])
