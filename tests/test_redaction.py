"""Credentials stay out of records: every field that can carry one, through every surface that shows a model.

One rule (`agno_deepinfra._shared.redact`) decides what a credential is; these tests run each field
that can carry one (headers by name, URL user-info and query, nested `extra_*` values) through
`repr()`, `to_dict()`, `settings()`, the spans of a traced run and the log lines of a debug run,
and check that harmless fields (`max_tokens`, `prompt_cache_key`) stay readable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import httpx
import pytest
from agno.agent import Agent

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraReranker
from agno_deepinfra._shared import tracing as names
from agno_deepinfra._shared.redact import REDACTED, is_secret_name, redacted
from agno_deepinfra.testing import DeepInfraEmulator

try:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError as missing:  # pragma: no cover - the dev extra installs them
    pytest.skip(f"the tracing extra is not installed ({missing})", allow_module_level=True)

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
SECRET = "sk-credential-0123456789"
# Every field that can carry a credential, as constructor arguments (`{root}` is the emulator's root URL).
FIELDS: dict[str, dict[str, Any]] = {
    "default_headers X-Password": {"default_headers": {"X-Password": SECRET}},
    "default_headers X-Authentication": {"default_headers": {"X-Authentication": SECRET}},
    "default_headers Proxy-Authorization": {"default_headers": {"Proxy-Authorization": SECRET}},
    "extra_headers Helicone-Auth": {"extra_headers": {"Helicone-Auth": SECRET}},
    "extra_headers X-Auth-Token": {"extra_headers": {"X-Auth-Token": SECRET}},
    "extra_headers Cookie": {"extra_headers": {"Cookie": f"session={SECRET}"}},
    "extra_headers a Bearer value under any name": {"extra_headers": {"X-Upstream": f"Bearer {SECRET}"}},
    "request_params extra_headers": {"request_params": {"extra_headers": {"X-Api-Key": SECRET}}},
    "request_params a credential field": {"request_params": {"user": "u-1", "service_token": SECRET}},
    "base_url user-info": {"base_url": "http://user:" + SECRET + "@{host}/v1/openai"},
    # A base URL with a query string is refused when the model is built (test_url_secrets.py).
    "default_query": {"default_query": {"api-key": SECRET}},
    "extra_query": {"extra_query": {"access_token": SECRET}},
    "extra_body": {"extra_body": {"provider_auth": {"password": SECRET}}},
    "extra_body a list of credentials": {"extra_body": {"fallback_api_keys": ["sk-other-0123456789", SECRET]}},
    "request_params extra_query": {"request_params": {"extra_query": {"X-Amz-Signature": SECRET}}},
    "request_params extra_body": {"request_params": {"extra_body": {"client_secret": SECRET}}},
    "metadata": {"metadata": {"api_key": SECRET}},
    "client_params": {"client_params": {"default_headers": {"X-Api-Key": SECRET}}},
}


def model_with(field: str, emu: DeepInfraEmulator) -> DeepInfra:
    arguments: dict[str, Any] = {
        name: value.format(root=emu.root_url, host=emu.root_url.removeprefix("http://"))
        if isinstance(value, str)
        else value
        for name, value in FIELDS[field].items()
    }
    arguments.setdefault("base_url", emu.base_url)
    return DeepInfra(id=MODEL_ID, api_key=emu.api_key, **arguments)


def span_text(span: ReadableSpan) -> str:
    events = [(event.name, dict(event.attributes or {})) for event in span.events]
    return json.dumps([span.name, dict(span.attributes or {}), events, span.status.description], default=str)


def traced_run(model: DeepInfra, exporter: InMemorySpanExporter) -> str:
    exporter.clear()
    Agent(model=model, telemetry=False).run("hello")
    spans = exporter.get_finished_spans()
    assert any((span.attributes or {}).get(names.SPAN_KIND) == "LLM" for span in spans)  # the call was traced
    return "\n".join(span_text(span) for span in spans)


def logged_run(model: DeepInfra, caplog: pytest.LogCaptureFixture) -> str:
    caplog.clear()
    with (
        caplog.at_level(logging.DEBUG, logger="agno"),
        caplog.at_level(logging.DEBUG, logger="agno_deepinfra"),
        caplog.at_level(logging.DEBUG, logger="openai"),  # openai 1.x and 2.x log each request's options
    ):
        Agent(model=model, telemetry=False, debug_mode=True).run("hello")
    assert "hello" in caplog.text  # agno's debug output was really captured
    return caplog.text


SURFACES: dict[str, Callable[..., str]] = {
    "repr": lambda model, **_: repr(model),
    "to_dict": lambda model, **_: json.dumps(model.to_dict()),
    "settings": lambda model, **_: json.dumps(model.settings()),
    "spans": lambda model, exporter, **_: traced_run(model, exporter),
    "logs": lambda model, caplog, **_: logged_run(model, caplog),
}


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("field", FIELDS)
def test_no_credential_reaches_any_surface(
    field: str,
    surface: str,
    emu: DeepInfraEmulator,
    exporter: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shown = SURFACES[surface](model_with(field, emu), exporter=exporter, caplog=caplog)
    assert SECRET not in shown


def test_what_the_records_show_instead_is_the_placeholder_under_the_same_name(emu: DeepInfraEmulator) -> None:
    model = model_with("default_headers X-Password", emu)
    assert model.settings()["default_headers"] == {"X-Password": REDACTED}
    model = model_with("base_url user-info", emu)
    assert model.settings()["base_url"] == f"http://{REDACTED}@{emu.root_url.removeprefix('http://')}/v1/openai"
    model = model_with("request_params extra_body", emu)
    assert model.settings()["request_params"] == {"extra_body": {"client_secret": REDACTED}}


def test_repr_shows_no_header_or_client_params_value() -> None:
    model = DeepInfra(
        api_key="k",
        default_headers={"X-Trace": "trace-value"},
        extra_headers={"X-Tenant": "tenant-value"},
        client_params={"organization": "org-value"},
    )
    shown = repr(model)
    assert not {"trace-value", "tenant-value", "org-value"} & set(shown.replace("'", " ").split())
    assert "X-Trace" in shown and "X-Tenant" in shown and "organization" in shown  # the names stay


def test_the_openai_sdks_request_log_goes_through_the_rule(caplog: pytest.LogCaptureFixture) -> None:
    # What openai 1.x and 2.x log at DEBUG for every request (3.x no longer logs options).
    options = {
        "method": "post",
        "headers": {"X-Password": SECRET, "X-Trace": "t-1"},
        "params": {"sig": SECRET},
        "json_data": {"model": MODEL_ID, "max_tokens": 5, "extra": {"client_secret": SECRET}},
    }
    url = httpx.URL(f"https://user:{SECRET}@proxy.test/v1/openai/chat/completions?region=eu&sig={SECRET}")
    with caplog.at_level(logging.DEBUG, logger="openai"):
        logging.getLogger("openai._base_client").debug("Request options: %s", options)
        logging.getLogger("openai._base_client").debug("Sending HTTP Request: %s %s", "POST", url)
        logging.getLogger("openai._base_client").debug(
            'HTTP Response: %s %s "%i %s" %s', "POST", url, 200, "OK", httpx.Headers({"set-cookie": SECRET})
        )
    assert "Request options" in caplog.text and "t-1" in caplog.text and "'max_tokens': 5" in caplog.text
    assert "proxy.test/v1/openai/chat/completions?region=eu" in caplog.text and '"200 OK"' in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize("make", [DeepInfraEmbedder, DeepInfraReranker])
def test_the_embedder_and_reranker_reprs_hide_credentials_too(make: Any) -> None:
    owner = make(api_key="k", base_url=f"https://user:{SECRET}@proxy.test", request_params={"api_token": SECRET})
    assert SECRET not in repr(owner)
    assert "proxy.test" in repr(owner) and "api_token" in repr(owner)


def test_harmless_fields_stay_readable_on_spans_and_in_settings(
    emu: DeepInfraEmulator, exporter: InMemorySpanExporter
) -> None:
    model = DeepInfra(
        id=MODEL_ID,
        base_url=emu.base_url,
        api_key=emu.api_key,
        max_tokens=64,
        prompt_cache_key="conversation-7",
        session_prompt_cache=False,
    )
    exporter.clear()
    Agent(model=model, telemetry=False).run("hello")
    [llm] = [s for s in exporter.get_finished_spans() if (s.attributes or {}).get(names.SPAN_KIND) == "LLM"]
    params = json.loads(str((llm.attributes or {})[names.LLM_INVOCATION_PARAMETERS]))
    assert params["max_tokens"] == 64 and params["extra_body"]["prompt_cache_key"] == "conversation-7"
    assert model.settings()["prompt_cache_key"] == "conversation-7"
    assert model.settings()["session_prompt_cache"] is False
    assert model.to_dict()["max_tokens"] == 64


def test_embedding_spans_hide_credentials_in_request_params(
    emu: DeepInfraEmulator, exporter: InMemorySpanExporter
) -> None:
    embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key, request_params={"api_token": SECRET})
    exporter.clear()
    embedder.get_embedding("hello")
    [span] = [s for s in exporter.get_finished_spans() if (s.attributes or {}).get(names.SPAN_KIND) == "EMBEDDING"]
    assert SECRET not in span_text(span)
    assert json.loads(str((span.attributes or {})[names.EMBEDDING_INVOCATION_PARAMETERS]))["api_token"] == REDACTED


@pytest.mark.parametrize(
    "name",
    ["Authorization", "Proxy-Authorization", "X-Api-Key", "api_key", "apikey", "X-Password", "X-Authentication",
     "Helicone-Auth", "X-Auth-Token", "Cookie", "Set-Cookie", "X-Amz-Security-Token", "X-Amz-Signature", "sig",
     "accessToken", "AccessKeyId", "client_secret", "sessionid", "X-Session-Id", "Ocp-Apim-Subscription-Key",
     "credentials", "pwd"],
)  # fmt: skip
def test_credential_names_are_caught(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "max_completion_tokens", "prompt_cache_key", "session_prompt_cache", "top_k", "temperature",
     "user", "metadata", "X-Trace", "X-Request-Id", "Content-Type", "author", "keyword", "top_logprobs",
     "chat_template_kwargs", "stop_token_ids"],
)  # fmt: skip
def test_harmless_names_are_left_alone(name: str) -> None:
    assert not is_secret_name(name)


def test_no_field_of_the_model_is_named_like_a_credential_but_the_key() -> None:
    # A new field caught by the rule would be written out as "<redacted>" and break `from_settings`.
    assert [spec.name for spec in fields(DeepInfra) if is_secret_name(spec.name.lstrip("_"))] == ["api_key"]


def test_urls_lose_user_info_and_secret_query_values_only() -> None:
    url = "https://user:pw@proxy.test/v1/openai?sig=abc&region=eu&api-key=def"
    assert redacted(url) == f"https://{REDACTED}@proxy.test/v1/openai?sig={REDACTED}&region=eu&api-key={REDACTED}"
    assert redacted("https://api.deepinfra.com/v1/openai") == "https://api.deepinfra.com/v1/openai"


def test_text_and_schemas_that_only_look_like_credentials_round_trip_through_settings() -> None:
    # A JSON schema with a "password" property and a prompt that starts with "Bearer" are not secrets:
    # written out as they are, they come back from `from_settings` unchanged (no placeholder to refuse).
    schema = {"type": "json_schema", "json_schema": {"schema": {"properties": {"password": {"type": "string"}}}}}
    model = DeepInfra(
        id=MODEL_ID,
        system_prompt="Bearer of bad news: answer gently.",
        request_params={"response_format": schema},
        extra_body={"auth": {"user": "reader", "password": SECRET}},
    )
    settings = json.loads(json.dumps(model.settings()))
    assert settings["request_params"] == {"response_format": schema}
    assert settings["system_prompt"] == "Bearer of bad news: answer gently."
    assert settings["extra_body"] == {"auth": {"user": "reader", "password": REDACTED}}
    rebuilt = DeepInfra.from_settings(settings, extra_body={"auth": {"user": "reader", "password": SECRET}})
    assert rebuilt == model
