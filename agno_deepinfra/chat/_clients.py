"""The chat model's openai clients: one sync client, one async client per event loop, built on the SDK's stack.

An `AsyncOpenAI` client cannot outlive the event loop it was first used on, and agno runs one
model on many (`asyncio.run` per call, threads): each loop gets its own client, closed with its
loop. A caller's `http_client` (httpx or httpx2) is used as given and never closed here.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from agno.exceptions import ModelAuthenticationError
from openai import AsyncOpenAI, OpenAI

from agno_deepinfra._shared.config import missing_key_message, resolve_api_key, warn_if_insecure
from agno_deepinfra._shared.http_stack import (
    AsyncTransport,
    PerLoop,
    is_async_client,
    is_sync_client,
    new_async_http_client,
    new_sync_http_client,
    sdk_timeout,
    skip_platform_probe,
)


class ClientOwner(Protocol):
    """What the clients are built from: the chat model's settings and its client slots."""

    name: str
    api_key: str | None
    base_url: Any
    timeout: Any
    max_retries: int | None
    organization: str | None
    default_headers: Any
    default_query: Any
    client_params: dict[str, Any] | None
    http_client: Any
    async_transport: AsyncTransport
    client: OpenAI | None
    async_client: AsyncOpenAI | None
    _loopless_client: AsyncOpenAI | None
    _async_clients: PerLoop[AsyncOpenAI]


def client_params(model: ClientOwner) -> dict[str, Any]:
    """Client settings; raises `ModelAuthenticationError` before any request when no key is set."""
    api_key = resolve_api_key(model.api_key)
    if not api_key:
        raise ModelAuthenticationError(message=missing_key_message("DeepInfra"), model_name=model.name)
    base_url = str(model.base_url)
    warn_if_insecure(base_url)
    params: dict[str, Any] = {
        "api_key": api_key,
        "base_url": base_url,
        "timeout": model.timeout,
        "max_retries": 0 if model.max_retries is None else model.max_retries,
    }
    optional = {
        "organization": model.organization,
        "default_headers": model.default_headers,
        "default_query": model.default_query,
    }
    params.update({key: value for key, value in optional.items() if value is not None})
    params.update(model.client_params or {})
    params["timeout"] = sdk_timeout(params["timeout"])  # the SDK's own type, whatever was given
    return params


def sync_client(model: ClientOwner) -> OpenAI:
    """The sync client (a client supplied by the caller wins), on the SDK's HTTP stack.

    agno's `OpenAIChat.get_client` takes only an `httpx.Client` as `http_client`, and lets the
    SDK build its own otherwise, with a TLS setup of its own each time; here a caller's httpx or
    httpx2 client is used as given, and ours shares the process's TLS context.
    """
    if model.client is not None and not model.client.is_closed():
        return model.client
    params = client_params(model)
    own = not is_sync_client(model.http_client)
    params["http_client"] = new_sync_http_client(params["base_url"]) if own else model.http_client
    model.client = OpenAI(**params)
    return model.client


def async_client(model: ClientOwner) -> AsyncOpenAI:
    """The async client for the running event loop (a client supplied by the caller wins).

    Inside a loop, each loop gets its own client: an AsyncOpenAI client cannot outlive the loop
    it was first used on, and agno runs one model on many (`asyncio.run` per call, threads).
    Outside any loop there is nothing to bind to, so this returns one cached client, also set
    as `model.async_client`, as agno's `OpenAIChat` does. Our own async paths always run in a
    loop and never use that client; it serves callers who fetch the client up front.
    """
    if model.async_client is not None and model.async_client is not model._loopless_client:
        return model.async_client
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if model._loopless_client is None or model._loopless_client.is_closed():
            model._loopless_client = model.async_client = _new_async_client(model)
        return model._loopless_client
    own = not is_async_client(model.http_client)  # a caller's client is never closed here
    return model._async_clients.get(
        lambda: _new_async_client(model), AsyncOpenAI.is_closed, AsyncOpenAI.close if own else None
    )


def _new_async_client(model: ClientOwner) -> AsyncOpenAI:
    params = client_params(model)
    if is_async_client(model.http_client):
        params["http_client"] = model.http_client
    else:
        # Our own http client, never the SDK's implicit one: that one closes itself in `__del__`
        # on whatever loop is running then, which fails once its own loop is gone.
        params["http_client"] = new_async_http_client(params["base_url"], model.async_transport)
    return skip_platform_probe(AsyncOpenAI(**params))
