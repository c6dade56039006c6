"""The HTTP stack under the async chat client: httpx (the openai SDK's default) or aiohttp."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import suppress
from importlib.util import find_spec
from typing import Any, Literal

from openai import AsyncOpenAI, DefaultAioHttpClient, DefaultAsyncHttpxClient

AsyncTransport = Literal["httpx", "aiohttp"]
_INSTALL_HINT = 'install it with `pip install "agno-deepinfra[aiohttp]"`, or use async_transport="httpx"'


def check_async_transport(transport: str) -> None:
    """Refuse an unknown transport, or aiohttp when it is not installed, when the model is built."""
    if transport not in ("httpx", "aiohttp"):
        raise ValueError(f'async_transport must be "httpx" or "aiohttp", not {transport!r}')
    if transport == "aiohttp" and find_spec("aiohttp") is None:
        raise ValueError(f'async_transport="aiohttp" needs the aiohttp package: {_INSTALL_HINT}')
    if transport == "aiohttp" and not _sdk_has_aiohttp_adapter():
        raise ValueError(f'async_transport="aiohttp": the openai SDK\'s aiohttp adapter is missing; {_INSTALL_HINT}')


def _sdk_has_aiohttp_adapter() -> bool:
    """Whether the SDK's `DefaultAioHttpClient` is the real one, not its stand-in that fails when built.

    Without its adapter (`httpx_aiohttp`, vendored in openai 3) the SDK defines the class on plain
    httpx; found here, the problem is reported when the model is built, not at its first request.
    """
    return any("aiohttp" in base.__module__ for base in DefaultAioHttpClient.__mro__[1:])


def new_async_http_client(transport: AsyncTransport) -> Any:
    """The openai SDK's own async http client for `transport`, with the SDK's defaults.

    Typed `Any`: it is an `httpx.AsyncClient` under openai 1.x and 2.x, an `httpx2.AsyncClient` under 3.x.
    """
    if transport == "httpx":
        return DefaultAsyncHttpxClient()
    try:
        return DefaultAioHttpClient()
    except RuntimeError as error:  # aiohttp is there but the SDK's adapter for it is not
        raise ValueError(f'async_transport="aiohttp": {error}; {_INSTALL_HINT}') from error


def close_with_the_loop(client: AsyncOpenAI) -> AsyncGenerator[None, None]:
    """Close `client` when the running event loop shuts down; keep the returned object alive until then.

    `asyncio.run` closes every unfinished async generator of its loop before closing the loop
    (`loop.shutdown_asyncgens`), so a generator parked at its `yield` is a shutdown hook that
    runs on the right loop. Without it, an aiohttp session outliving `asyncio.run` reports
    "Unclosed client session" on stderr. If the owner drops the generator first, asyncio's
    finalizer hook closes it, and the client, on the loop all the same.
    """

    async def hook() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await client.close()

    generator = hook()
    with suppress(StopIteration):  # step to the `yield` now: the first step registers it with the loop
        generator.asend(None).send(None)
    return generator
