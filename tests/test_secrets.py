"""The API key never shows: not in reprs, dicts, logs (agno's, openai's, httpx's) or errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from agno.agent import Agent
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply, ToolCall

SECRET = "sk-di-very-secret-key-0123456789"


def test_key_not_in_repr_str_or_dict() -> None:
    model = DeepInfra(api_key=SECRET)
    assert SECRET not in repr(model)
    assert SECRET not in str(model)
    assert SECRET not in repr(model.to_dict())
    assert "api_key" not in model.to_dict()


def test_key_not_in_an_agents_repr() -> None:
    assert SECRET not in repr(Agent(model=DeepInfra(api_key=SECRET)))


def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"rain in {city}"


def test_key_not_in_debug_logs_or_errors(
    capsys: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_LOG", "debug")
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "openai", "agno", "agno_deepinfra"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    with DeepInfraEmulator(api_key=SECRET) as private:
        model = DeepInfra(
            id="meta-llama/Meta-Llama-3.1-8B-Instruct",
            base_url=private.base_url,
            api_key=SECRET,
            retries=1,
            delay_between_retries=0,
        )
        agent = Agent(model=model, tools=[get_weather], debug_mode=True)
        private.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Bergen"})]))
        assert agent.run("weather in Bergen?").status == RunStatus.completed
        private.queue(Fault.status(503))
        private.queue(Fault.status(401))
        failed = agent.run("again")
    assert failed.status == RunStatus.error
    printed = capsys.readouterr()
    everything = printed.out + printed.err + caplog.text + str(failed.content) + repr(failed)
    assert "rain in Bergen" in everything and "503" in everything  # the debug output was really captured
    assert SECRET not in everything


def test_key_not_in_connection_error() -> None:
    model = DeepInfra(base_url="http://127.0.0.1:9", api_key=SECRET)
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.error
    assert SECRET not in str(output.content)


def test_plain_http_to_a_remote_host_warns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="agno_deepinfra")
    DeepInfra(base_url="http://example.test", api_key=SECRET)._get_client_params()
    assert "plain http" in caplog.text
    assert SECRET not in caplog.text
    caplog.clear()
    DeepInfra(base_url="http://127.0.0.1:8080", api_key=SECRET)._get_client_params()
    DeepInfra(base_url="https://example.test", api_key=SECRET)._get_client_params()
    assert "plain http" not in caplog.text
