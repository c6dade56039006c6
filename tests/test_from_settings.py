"""`DeepInfra.from_settings`: a task message may not choose where the worker's key goes, nor send placeholders.

Whoever can write a Celery task message controls the settings a worker rebuilds its model from.
The worker's `DEEPINFRA_API_KEY` must go only to DeepInfra, to `DEEPINFRA_BASE_URL`, or to a URL
the worker's code names; a credential `settings()` wrote out redacted must be supplied again by
the worker, never sent as `<redacted>`. Checked against real emulators: one the worker trusts,
and one standing in for a server of the message's writer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from agno.agent import Agent
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra
from agno_deepinfra._shared.config import DEFAULT_BASE_URL
from agno_deepinfra._shared.redact import REDACTED
from agno_deepinfra.testing import DeepInfraEmulator

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
WORKER_KEY = "sk-worker-key-0123456789"


@pytest.fixture(scope="module")
def attacker() -> Iterator[DeepInfraEmulator]:
    """A server of whoever writes the messages: it must never hear from the worker."""
    with DeepInfraEmulator(api_key=WORKER_KEY) as emulator:
        yield emulator


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPINFRA_API_KEY", WORKER_KEY)


def message(model: DeepInfra) -> dict[str, Any]:
    """The settings as a task message carries them: JSON."""
    loaded: dict[str, Any] = json.loads(json.dumps(model.settings()))
    return loaded


def test_a_base_url_chosen_by_the_message_is_refused(attacker: DeepInfraEmulator, worker_env: None) -> None:
    attacker.reset()
    settings = message(DeepInfra(id=MODEL_ID, base_url=attacker.base_url))
    with pytest.raises(ValueError, match=r"neither DeepInfra's .* nor DEEPINFRA_BASE_URL") as refused:
        DeepInfra.from_settings(settings)
    assert "from_settings(settings, base_url=...) or trusted_base_urls=[...]" in str(refused.value)
    assert attacker.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://api.deepinfra.com@attacker.example/v1/openai",  # user-info that looks like the host
        "https://api.deepinfra.com.attacker.example/v1/openai",
        "http://api.deepinfra.com/v1/openai",  # DeepInfra's host without TLS
        "https://api.deepinfra.com:8443/v1/openai",
        "https://api.deepinfra.com/v1/openai/../../attacker",
    ],
)
def test_look_alikes_of_deepinfras_url_are_refused(url: str, worker_env: None) -> None:
    with pytest.raises(ValueError, match="the API key would be sent there"):
        DeepInfra.from_settings({"id": MODEL_ID, "base_url": url})


def test_deepinfras_own_url_round_trips() -> None:
    settings = message(DeepInfra(id=MODEL_ID))
    assert settings["base_url"] == DEFAULT_BASE_URL
    assert DeepInfra.from_settings(settings).base_url == DEFAULT_BASE_URL
    assert DeepInfra.from_settings({"base_url": "https://API.deepinfra.com"}).base_url == DEFAULT_BASE_URL


def test_deepinfra_base_url_from_the_environment_is_trusted(
    emu: DeepInfraEmulator, worker_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The README's recipes: driver and workers share DEEPINFRA_BASE_URL (here the emulator).
    monkeypatch.setenv("DEEPINFRA_BASE_URL", emu.root_url)
    monkeypatch.setenv("DEEPINFRA_API_KEY", emu.api_key)
    rebuilt = DeepInfra.from_settings(message(DeepInfra(id=MODEL_ID, max_concurrency="auto")))
    assert rebuilt.base_url == emu.base_url and rebuilt.max_concurrency == "auto"
    assert Agent(model=rebuilt, telemetry=False).run("hi").status == RunStatus.completed


def test_a_url_the_worker_names_is_trusted(emu: DeepInfraEmulator) -> None:
    settings = message(DeepInfra(id=MODEL_ID, base_url=emu.base_url))
    named = DeepInfra.from_settings(settings, trusted_base_urls=[emu.root_url], api_key=emu.api_key)
    overridden = DeepInfra.from_settings({**settings, "base_url": "https://elsewhere.test"}, base_url=emu.base_url)
    assert named.base_url == overridden.base_url == emu.base_url
    assert Agent(model=named, telemetry=False).run("hi").status == RunStatus.completed


def test_one_trusted_url_may_be_given_bare_and_a_bad_one_matches_nothing(emu: DeepInfraEmulator) -> None:
    settings = message(DeepInfra(id=MODEL_ID, base_url=emu.base_url))
    assert DeepInfra.from_settings(settings, trusted_base_urls=emu.root_url).base_url == emu.base_url
    with pytest.raises(ValueError, match="the API key would be sent there"):
        DeepInfra.from_settings(settings, trusted_base_urls=["not a url"])


def test_a_redacted_base_url_is_restored_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    configured = "https://user:proxy-password@proxy.example/v1/openai"
    monkeypatch.setenv("DEEPINFRA_BASE_URL", configured)
    settings = message(DeepInfra(id=MODEL_ID))
    assert "proxy-password" not in json.dumps(settings)
    assert DeepInfra.from_settings(settings).base_url == configured


@pytest.mark.parametrize("field", ["api_key", "client_params", "http_client", "batch_api"])
def test_fields_settings_never_writes_are_refused_from_a_message(field: str) -> None:
    settings = {**message(DeepInfra(id=MODEL_ID)), field: {"base_url": "https://evil.test"}}
    with pytest.raises(ValueError, match=f"settings hold {field}, which settings\\(\\) never writes"):
        DeepInfra.from_settings(settings)


def test_a_redacted_header_is_never_sent_as_the_placeholder(emu: DeepInfraEmulator) -> None:
    # A worker rebuilt from settings() once sent `x-api-key: <redacted>`. Now it must supply the header.
    headers = {"X-Api-Key": emu.api_key, "X-Trace": "t-1"}
    settings = message(DeepInfra(id=MODEL_ID, base_url=emu.base_url, default_headers=headers))
    assert settings["default_headers"] == {"X-Api-Key": REDACTED, "X-Trace": "t-1"}
    with pytest.raises(ValueError, match=r"default_headers\['X-Api-Key'\]") as refused:
        DeepInfra.from_settings(settings, trusted_base_urls=[emu.base_url], api_key=emu.api_key)
    assert "DeepInfra.from_settings(settings, default_headers=...)" in str(refused.value)
    assert emu.requests == []  # nothing went out

    rebuilt = DeepInfra.from_settings(
        settings, trusted_base_urls=[emu.base_url], api_key=emu.api_key, default_headers=headers
    )
    assert Agent(model=rebuilt, telemetry=False).run("hi").status == RunStatus.completed
    [request] = emu.requests
    assert request.headers["x-api-key"] == emu.api_key and request.headers["x-trace"] == "t-1"
    assert REDACTED not in json.dumps(request.headers)


def test_a_redacted_body_value_must_be_supplied_too(emu: DeepInfraEmulator) -> None:
    settings = message(DeepInfra(id=MODEL_ID, base_url=emu.base_url, extra_body={"provider": {"api_key": "x"}}))
    with pytest.raises(ValueError, match=r"extra_body\['provider'\]\['api_key'\]"):
        DeepInfra.from_settings(settings, trusted_base_urls=[emu.base_url])
