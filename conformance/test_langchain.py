"""`langchain-deepinfra`'s `ChatDeepInfra`: invoke, stream, tool calls.

Pointed at the emulator with `base_url=<emulator>/v1/openai` (it also reads `DEEPINFRA_API_BASE`).
"""

from __future__ import annotations

import pytest
from conftest import CHAT_MODEL
from langchain_core.messages import AIMessageChunk
from langchain_deepinfra import ChatDeepInfra
from pydantic import BaseModel, Field

from agno_deepinfra.testing import DeepInfraEmulator


class get_weather(BaseModel):
    """Get the current weather for a city."""

    city: str = Field(description="The city")


@pytest.fixture
def chat(emu: DeepInfraEmulator) -> ChatDeepInfra:
    return ChatDeepInfra(model=CHAT_MODEL, api_key=emu.api_key, base_url=emu.base_url, max_retries=0)


def test_invoke(chat: ChatDeepInfra) -> None:
    message = chat.invoke("What is 5 + 5?")
    assert "10" in message.content
    assert message.usage_metadata is not None and message.usage_metadata["input_tokens"] > 0
    assert message.response_metadata["finish_reason"] == "stop"


def test_stream(chat: ChatDeepInfra) -> None:
    chunks = list(chat.stream("Stream this please"))
    assert len(chunks) > 3
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert isinstance(total, AIMessageChunk) and "Stream this please" in total.content
    # DeepInfra's wire puts usage on the finish chunk; LangChain reads it there, once.
    assert total.usage_metadata is not None and total.usage_metadata["output_tokens"] > 0


def test_tool_calls(chat: ChatDeepInfra) -> None:
    message = chat.bind_tools([get_weather]).invoke("What is the weather in Paris?")
    assert [call["name"] for call in message.tool_calls] == ["get_weather"]
    assert message.tool_calls[0]["args"]["city"] == "Paris"
