"""Shared fixtures: an isolated environment and models pointed at the local DeepInfra emulator.

The `deepinfra_emulator` fixture comes from the package's own pytest plugin
(`agno_deepinfra.testing.pytest_plugin`), the same one users get.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator

os.environ["AGNO_TELEMETRY"] = "false"
# Ray's single-machine mode: every Ray node listens on and is joined at loopback, never at this
# machine's outward address (Ray < 2.60 also cannot join a cluster named by 127.0.0.1 without it).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

ENV_NAMES = ("DEEPINFRA_API_KEY", "DEEPINFRA_BASE_URL", "DEEPINFRA_API_TOKEN")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's real key or base URL."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emu(deepinfra_emulator: DeepInfraEmulator) -> DeepInfraEmulator:
    """The session's emulator, reset for this test."""
    return deepinfra_emulator


@pytest.fixture
def client(emu: DeepInfraEmulator) -> Iterator[Any]:
    """The openai SDK aimed at the emulator, without SDK retries."""
    import openai

    with openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0, timeout=10) as sdk:
        yield sdk


@pytest.fixture
def http(emu: DeepInfraEmulator) -> Iterator[Any]:
    """A raw HTTP client on the emulator's root URL, with the right key."""
    import httpx

    with httpx.Client(base_url=emu.root_url, headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=10) as raw:
        yield raw


@pytest.fixture
def make_model(emu: DeepInfraEmulator) -> Callable[..., DeepInfra]:
    """Build a `DeepInfra` model aimed at the emulator."""

    def make(**kwargs: Any) -> DeepInfra:
        kwargs.setdefault("id", "meta-llama/Meta-Llama-3.1-8B-Instruct")
        return DeepInfra(base_url=emu.base_url, api_key=emu.api_key, **kwargs)

    return make


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Inject a recording sleep into agno's retry loop (sync `time.sleep` and `asyncio.sleep`).

    agno's loop calls `sleep(delay)` (imported into `agno.models.base`) and `asyncio.sleep(delay)`.
    Only calls made from `agno.models.base` are recorded and skipped; every other caller (the
    emulator's event loop among them) keeps the real `asyncio.sleep`.
    """
    import asyncio
    import sys

    import agno.models.base as agno_base

    recorded: list[float] = []
    real_async_sleep = asyncio.sleep

    def fake_sleep(delay: float) -> None:
        recorded.append(delay)

    def fake_async_sleep(delay: float, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_globals.get("__name__") == agno_base.__name__:
            recorded.append(delay)
            return real_async_sleep(0)
        return real_async_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(agno_base, "sleep", fake_sleep)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    return recorded


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the embedder's and reranker's retry waits instead of sleeping (sync and async).

    Their shared runner looks `sleep` / `async_sleep` up in `agno_deepinfra._shared.retry` at every wait.
    """
    import agno_deepinfra._shared.retry as retry_module

    recorded: list[float] = []

    async def record_async(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(retry_module, "sleep", recorded.append)
    monkeypatch.setattr(retry_module, "async_sleep", record_async)
    return recorded


@pytest.fixture
def env_to_emulator(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> DeepInfraEmulator:
    """`DEEPINFRA_BASE_URL` and `DEEPINFRA_API_KEY` aimed at the emulator: all that a model agno rebuilds keeps."""
    monkeypatch.setenv("DEEPINFRA_BASE_URL", emu.base_url)
    monkeypatch.setenv("DEEPINFRA_API_KEY", emu.api_key)
    return emu


@pytest.fixture
def registered() -> Any:
    """`agno_deepinfra.register()` for one test, undone after it."""
    import agno_deepinfra

    agno_deepinfra.register()
    yield
    agno_deepinfra.unregister()


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-process memories start empty in each test: the catalog cache, case corrections, the rebuild warning.

    Also the `Retry-After` the chat model's `_is_retryable_error` hands to `_get_retry_delay` (a
    context variable of this thread): agno's loop asks for a delay only right after a failure was
    classified, but a test whose last failure is final leaves it set for a later test that calls
    `_get_retry_delay` alone (mutmut runs its collecting and its clean session in one process).
    """
    import threading

    from agno_deepinfra import catalog, model_strings
    from agno_deepinfra.chat import model as chat

    monkeypatch.setattr(catalog, "_known_ids", {})
    monkeypatch.setattr(catalog, "_spellings", {})
    monkeypatch.setattr(catalog, "_known_tags", {})
    monkeypatch.setattr(model_strings, "_warned", threading.Event())
    chat._server_retry_hint.set(None)


@pytest.fixture(scope="module")
def exporter() -> Iterator[Any]:
    """agno's instrumentor on a private provider, as `instrument(tracer_provider=...)` allows; off after the module.

    For the tracing and redaction tests: an `InMemorySpanExporter` holding every span the module made.
    """
    from openinference.instrumentation.agno import AgnoInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = AgnoInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:  # pragma: no cover - left on by someone else
        instrumentor.uninstrument()
    instrumentor.instrument(tracer_provider=provider)
    yield memory
    instrumentor.uninstrument()
    provider.shutdown()
