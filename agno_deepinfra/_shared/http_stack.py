"""The HTTP stack under the openai SDK, and every HTTP client the package builds on it.

The SDK runs on httpx under openai 1.x and 2.x, and on httpx2 (httpx's successor) under 3.x.
Whatever the package hands the SDK is of the SDK's own types: timeouts are `openai.Timeout`,
clients are the SDK's `DefaultHttpxClient` / `DefaultAsyncHttpxClient` / `DefaultAioHttpClient`.
The embedder, reranker, media tools, catalog and batch jobs use the same stack (see
`ARCHITECTURE notes` in the CHANGELOG): one library, one set of exception types, one TLS setup.

TLS is set up once per process and library: building a client costs about 22 ms when it loads
the CA store itself (`ssl.create_default_context()`), and 0.06 ms with a shared `SSLContext`.
The context is built lazily, by the library's own `create_ssl_context()`, so it trusts what
that library trusts (`SSL_CERT_FILE`, `SSL_CERT_DIR`, certifi or truststore), and a forked
child builds its own.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import suppress
from functools import cache
from importlib.util import find_spec
from types import ModuleType
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import httpx
import openai
from openai import AsyncOpenAI, DefaultAioHttpClient, DefaultAsyncHttpxClient, DefaultHttpxClient

from agno_deepinfra._shared.redact import is_secret_name, is_secret_value

AsyncTransport = Literal["httpx", "aiohttp"]
C = TypeVar("C")
_INSTALL_HINT = 'install it with `pip install "agno-deepinfra[aiohttp]"`, or use async_transport="httpx"'

# The openai SDK's default is 600 s; a stuck connection should surface sooner than that.
# Reads allow for slow non-streamed generations from large models.
DEFAULT_READ_TIMEOUT = 300.0
DEFAULT_CONNECT_TIMEOUT = 10.0
_TIMEOUT_PARTS = ("connect", "read", "write", "pool")


# ----------------------------------------------------------------------------- the library


@cache
def sdk_library() -> ModuleType:
    """The HTTP library the installed openai SDK is built on: `httpx` (openai 1.x, 2.x) or `httpx2` (3.x)."""
    base = next(cls for cls in DefaultHttpxClient.__mro__[1:] if cls.__name__ == "Client")
    return sys.modules[base.__module__.split(".")[0]]


def _libraries() -> tuple[ModuleType, ...]:
    """httpx, and httpx2 when it is installed: a caller's client may be of either."""
    return (httpx,) if sdk_library() is httpx else (httpx, sdk_library())


def is_sync_client(client: object) -> bool:
    """Whether `client` is an httpx or httpx2 `Client` (the SDK accepts either for `OpenAI`)."""
    return isinstance(client, tuple(library.Client for library in _libraries()))


def is_async_client(client: object) -> bool:
    """Whether `client` is an httpx or httpx2 `AsyncClient` (the SDK accepts either for `AsyncOpenAI`)."""
    return isinstance(client, tuple(library.AsyncClient for library in _libraries()))


# ------------------------------------------------------------------------------ timeouts


def sdk_timeout(value: Any = None) -> float | openai.Timeout:
    """`value` as the SDK's own type: `None` is the default (300 s reads, 10 s connects).

    A number stays a number; an `httpx.Timeout`, an `httpx2.Timeout` or the dict `settings()`
    writes becomes an `openai.Timeout` (httpx's class under openai 1.x and 2.x, httpx2's under 3.x).

    Raises:
        TypeError: `value` is none of those.
    """
    if value is None:
        return openai.Timeout(DEFAULT_READ_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
    if isinstance(value, openai.Timeout):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict) and set(value) <= set(_TIMEOUT_PARTS):
        return openai.Timeout(**{part: value.get(part) for part in _TIMEOUT_PARTS})
    if all(hasattr(value, part) for part in _TIMEOUT_PARTS):  # httpx.Timeout or httpx2.Timeout
        return openai.Timeout(**{part: getattr(value, part) for part in _TIMEOUT_PARTS})
    raise TypeError(f"timeout must be a number of seconds, None, or an httpx / httpx2 / openai Timeout; got {value!r}")


# ----------------------------------------------------------------------------------- TLS


class _TlsContexts:
    """One `ssl.SSLContext` per HTTP library in this process, built on first use."""

    def __init__(self) -> None:
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def get(self, library: ModuleType) -> ssl.SSLContext:
        context = self._contexts.get(library.__name__)
        if context is None:
            with self._lock:
                context = self._contexts.get(library.__name__)
                if context is None:
                    context = self._contexts[library.__name__] = library.create_ssl_context()
        return context

    def _after_fork(self) -> None:
        # The child builds its own (a lock held by another thread at the fork would never be released).
        self.__init__()  # type: ignore[misc]


_tls = _TlsContexts()
if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_tls._after_fork)


def tls_context() -> ssl.SSLContext:
    """The process's TLS context for the SDK's HTTP library (built on first use, not at import)."""
    return _tls.get(sdk_library())


# ------------------------------------------------------------------------------- redirects


def is_credential_header(name: str, value: str = "") -> bool:
    """Whether a header may carry a credential: by its name or its value, by the package's one rule (`_shared.redact`).

    Such headers never follow a redirect to another origin: the SDK's HTTP library drops only
    `Authorization` there, and an `X-Api-Key` from `default_headers` went along.
    """
    return is_secret_name(name) or is_secret_value(value)


def _origin(url: Any) -> tuple[str, str, int | None]:
    parts = urlsplit(str(url))
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _keep_credentials_home(home: str) -> tuple[Callable[[Any], None], Callable[[Any], Any]]:
    """Request hooks (sync, async) that strip credential headers from a request leaving `home`'s origin."""
    origin = _origin(home)

    def strip(request: Any) -> None:
        if _origin(request.url) != origin:
            for name in [name for name, value in request.headers.items() if is_credential_header(name, value)]:
                del request.headers[name]

    async def astrip(request: Any) -> None:
        strip(request)

    return strip, astrip


# --------------------------------------------------------------------------------- clients


def new_sync_http_client(home: str, timeout: Any = None, follow_redirects: bool = True) -> Any:
    """The SDK's own sync client for requests to `home`'s origin, with the shared TLS context.

    Typed `Any`: it is an `httpx.Client` under openai 1.x and 2.x, an `httpx2.Client` under 3.x.
    Redirects to another origin go without credential headers.
    """
    strip, _ = _keep_credentials_home(home)
    return DefaultHttpxClient(
        verify=tls_context(),
        timeout=sdk_timeout(timeout),
        follow_redirects=follow_redirects,
        event_hooks={"request": [strip]},
    )


def new_async_http_client(
    home: str, transport: AsyncTransport = "httpx", timeout: Any = None, follow_redirects: bool = True
) -> Any:
    """The SDK's own async client for `transport` (see `new_sync_http_client`)."""
    _, astrip = _keep_credentials_home(home)
    settings: dict[str, Any] = {
        "verify": tls_context(),
        "timeout": sdk_timeout(timeout),
        "follow_redirects": follow_redirects,
        "event_hooks": {"request": [astrip]},
    }
    if transport == "httpx":
        return DefaultAsyncHttpxClient(**settings)
    try:
        return DefaultAioHttpClient(**settings)
    except RuntimeError as error:  # aiohttp is there but the SDK's adapter for it is not
        raise ValueError(f'async_transport="aiohttp": {error}; {_INSTALL_HINT}') from error


def skip_platform_probe(client: AsyncOpenAI) -> AsyncOpenAI:
    """`client`, told the platform the SDK otherwise probes in a worker thread on its first request.

    That probe starts the event loop's default thread pool, so every fresh `asyncio.run` paid for
    a thread start on its first request and a thread pool shutdown at its end (about 3 ms of a
    7 ms first token here). The platform is probed once per process instead. It relies on the
    SDK's private `_platform` slot: where that is missing, the SDK probes as before.
    """
    if getattr(client, "_platform", False) is None:
        with suppress(Exception):  # an SDK without `get_platform`: its own probe stands
            client._platform = _platform()
    return client


@cache
def _platform() -> Any:
    from openai._base_client import get_platform

    return get_platform()


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


class PerLoop(Generic[C]):
    """One client per running event loop, closed when `asyncio.run` shuts that loop down.

    The one cache of loop-bound clients, for the chat model, the embedder, the reranker and the
    media tools: an async client's pooled connections belong to the loop that opened them, so
    reusing one after its `asyncio.run` returned fails, and one left open reports "Unclosed client
    session" (aiohttp) when the loop is gone.
    """

    def __init__(self) -> None:
        self._entries: WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[C, object]] = WeakKeyDictionary()

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self,
        make: Callable[[], C],
        closed: Callable[[C], bool],
        aclose: Callable[[C], Awaitable[Any]] | None,
    ) -> C:
        """The running loop's client, made (and set to close with the loop, unless `aclose` is None) on first use."""
        loop = asyncio.get_running_loop()
        entry = self._entries.get(loop)
        if entry is None or closed(entry[0]):
            client = make()
            hook = close_with_the_loop(lambda: aclose(client)) if aclose is not None else None
            entry = self._entries[loop] = (client, hook)
        return entry[0]

    def pop_running(self) -> C | None:
        """The running loop's client, forgotten here (the caller closes it)."""
        entry = self._entries.pop(asyncio.get_running_loop(), None)
        return None if entry is None else entry[0]


def close_with_the_loop(close: Callable[[], Awaitable[Any]]) -> AsyncGenerator[None, None]:
    """Call `close` when the running event loop shuts down; keep the returned object alive until then.

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
            await close()

    generator = hook()
    with suppress(StopIteration):  # step to the `yield` now: the first step registers it with the loop
        generator.asend(None).send(None)
    return generator
