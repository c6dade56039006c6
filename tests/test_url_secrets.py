"""Credentials in a URL stay out of our warnings and out of httpx's request log.

A key can reach a URL three ways: the base URL's user-info (`http://user:key@proxy`), a query
parameter (`default_query={"api_key": ...}`, `extra_query`), or a base URL with a query string.
The first two are redacted from every log line (httpx and httpx2 log each request at INFO with
the URL whole); the third is refused, because the paths would be appended after the query.
"""

from __future__ import annotations

import contextlib
import logging

import pytest
from agno.agent import Agent
from agno.exceptions import AgnoError
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, list_models
from agno_deepinfra._shared.config import warn_if_insecure
from agno_deepinfra._shared.url_logs import loggable_url, origin
from agno_deepinfra.testing import DeepInfraEmulator

SECRET = "sk-di-url-secret-0123456789"
MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_the_plain_http_warning_names_scheme_and_host_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="agno_deepinfra")
    warn_if_insecure(f"http://deploy:{SECRET}@proxy.example.test:8080/v1/openai")
    assert "DeepInfra base URL http://proxy.example.test:8080 uses plain http" in caplog.text
    assert SECRET not in caplog.text and "deploy" not in caplog.text


@pytest.mark.parametrize("path", ["sync", "async"])
async def test_a_key_in_the_query_never_reaches_httpxs_request_log(
    emu: DeepInfraEmulator, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.DEBUG)
    query = {"api_key": SECRET, "X-Auth-Token": SECRET, "region": "eu"}
    model = DeepInfra(
        id=MODEL_ID,
        base_url=emu.base_url,
        api_key=emu.api_key,
        default_query=query,
        request_params={"extra_query": {"session_token": SECRET}},
    )
    agent = Agent(model=model)
    output = agent.run("hi") if path == "sync" else await agent.arun("hi")
    assert output.status == RunStatus.completed
    [line] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("HTTP Request")]
    assert "api_key=<redacted>" in line and "X-Auth-Token=<redacted>" in line and "session_token=<redacted>" in line
    assert "region=eu" in line and "/v1/openai/chat/completions?" in line  # the rest stays readable
    assert SECRET not in caplog.text
    # The query still went to the server (whose request log redacts credentials in its turn).
    assert "api_key=<redacted>" in emu.requests[-1].path and "region=eu" in emu.requests[-1].path


def test_user_info_in_the_base_url_never_reaches_httpxs_request_log(
    emu: DeepInfraEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with_user_info = emu.base_url.replace("http://", f"http://deploy:{SECRET}@")
    Agent(model=DeepInfra(id=MODEL_ID, base_url=with_user_info, api_key=emu.api_key)).run("hi")
    embedder = DeepInfraEmbedder(base_url=with_user_info, api_key=emu.api_key)
    with contextlib.suppress(AgnoError):  # the emulator may refuse the proxy's basic auth; only the log matters
        embedder.get_embedding("hi")
    embedder.close()
    list_models(base_url=with_user_info)
    lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("HTTP Request")]
    assert len(lines) >= 2 and all("<redacted>@127.0.0.1" in line for line in lines), lines
    assert SECRET not in caplog.text


def test_a_base_url_with_a_query_string_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError, match="must not carry a query string") as caught:
        DeepInfra(base_url=f"https://proxy.example.test/v1/openai?key={SECRET}")
    assert "default_query" in str(caught.value) and SECRET not in str(caught.value)
    with pytest.raises(ValueError, match="must not carry a query string"):
        DeepInfraEmbedder(base_url="https://proxy.example.test/#fragment")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/p?api_key=abc&x=1", "https://h/p?api_key=<redacted>&x=1"),
        ("https://u:p@h:8/p?Token=t&sig=s&q", "https://<redacted>@h:8/p?Token=<redacted>&sig=<redacted>&q"),
        ("https://h/p?my%5Fsecret=v", "https://h/p?my%5Fsecret=<redacted>"),
        ("https://h/p", "https://h/p"),
    ],
)
def test_loggable_url(url: str, expected: str) -> None:
    assert loggable_url(url) == expected


def test_origin_is_scheme_host_and_port() -> None:
    assert origin(f"http://u:{SECRET}@[::1]:9/x?k={SECRET}") == "http://[::1]:9"
    assert origin("https://Example.test/v1") == "https://example.test"
