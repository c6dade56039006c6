"""What tracing support costs a DeepInfra call when tracing is off (and, for scale, when it is on).

`python -m benchmarks.tracing_overhead [--quick]` prints, through the package's public API only:
- the hook on the chat model's four entry points: `DeepInfra.invoke` (and its three twins) against
  the same function undecorated (`inspect.unwrap`), both called on a stand-in object at which the
  method's own body stops on its first line, so only the hook differs;
- one `invoke` and one `DeepInfraEmbedder` request through an in-process transport
  (`httpx.MockTransport`: no socket, no server, a canned answer);
each first with OpenTelemetry never imported, then imported with no provider set nor agno's
instrumentor on, then (the requests) with agno's instrumentor on, writing spans to an in-memory
exporter: a request's cost with the instrumentor on, minus its cost before, is what a span costs.
For scale: one `invoke` round trip to the local emulator. Each figure is the best of 7 repeats of
a `timeit` loop in this process's CPU time (the round trip: wall time), alternating the repeats
of the figures compared (the usual way to read a micro-benchmark: the best run is the one least
disturbed by the rest of the machine). `--quick`
runs a thousandth of the loops: a smoke test, its figures too noisy to quote.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any

os.environ.setdefault("AGNO_TELEMETRY", "false")

REPEATS = 7
SCALE = 1000 if "--quick" in sys.argv[1:] else 1  # loops are divided by this
ENTRY_POINTS = ("invoke", "ainvoke", "invoke_stream", "ainvoke_stream")
BASE_URL = "http://127.0.0.1:9/v1/openai"  # never contacted: the transport answers in-process
CHOICE = {"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}
COMPLETION = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [CHOICE]}
EMBEDDING = {"object": "list", "model": "m", "data": [{"object": "embedding", "index": 0, "embedding": [0.25] * 8}]}


def per_call_ns(
    *statements: Callable[[], object], number: int = 200_000, wall: bool = False, repeats: int = REPEATS
) -> list[float]:
    """Best of `repeats` timings of each statement in ns per call, their repeats alternated (load hits all alike).

    Timed in CPU time of this process (`time.process_time`), which other processes on a shared
    machine disturb far less than wall time; `wall=True` for the round trip, whose server shares the process.
    """
    number = max(1, number // SCALE)
    timers = [
        timeit.Timer(statement, timer=time.perf_counter if wall else time.process_time) for statement in statements
    ]
    best = [float("inf")] * len(statements)
    for _ in range(repeats):
        for index, timer in enumerate(timers):
            best[index] = min(best[index], timer.timeit(number) / number * 1e9)
    return best


def print_hooks() -> None:
    """ns per call of the four entry points, undecorated and with the hook, tracing off."""
    from agno_deepinfra import DeepInfra

    stand_in = object()  # the method's body fails on its first line, alike with and without the hook
    for name in ENTRY_POINTS:
        hooked = getattr(DeepInfra, name)
        plain, with_hook = per_call_ns(_calling(inspect.unwrap(hooked), stand_in), _calling(hooked, stand_in))
        print(
            f"  {name:<15} undecorated {plain:7.0f}   with the hook {with_hook:7.0f}   added {with_hook - plain:6.0f}"
        )


def _calling(function: Callable[..., Any], model: object) -> Callable[[], object]:
    # A coroutine is run until its body stops; a stream is created and dropped: when off, the hook
    # returns the method's own generator, so no chunk pays anything.
    def call() -> object:
        try:
            result = function(model, [], None)
            if asyncio.iscoroutine(result):
                result.send(None)
        except AttributeError as stopped:
            return stopped
        return result

    return call


def _in_process() -> tuple[Callable[[], object], Callable[[], object]]:
    """One `invoke` and one embedding request, each answered by an in-process transport."""
    import httpx
    from agno.models.message import Message

    from agno_deepinfra import DeepInfra, DeepInfraEmbedder

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=EMBEDDING if request.url.path.endswith("/embeddings") else COMPLETION)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=BASE_URL, api_key="k", http_client=client)
    embedder = DeepInfraEmbedder(id="BAAI/bge-m3", base_url=BASE_URL, api_key="k", client=client)
    messages = [Message(role="user", content="hi")]

    def invoke() -> object:
        return model.invoke(messages, Message(role="assistant"))

    def embed() -> object:
        return embedder.get_embedding("hi")

    reply, vector = invoke(), embed()  # both reach the transport and get its answer, or this fails
    if getattr(reply, "content", None) != "Hello" or vector != [0.25] * 8:
        raise RuntimeError(f"unexpected answers: {reply!r}, {vector!r}")
    return invoke, embed


def request_us(label: str) -> None:
    """Print µs per in-process `invoke` and per embedding request."""
    invoke_us, embed_us = (ns / 1000 for ns in per_call_ns(*_in_process(), number=2_000))
    print(f"  {label}: invoke {invoke_us:6.1f} µs, embedding request {embed_us:6.1f} µs (in-process transport)")


def round_trip_us() -> float:
    """µs per `DeepInfra.invoke` round trip to the local emulator (for scale), tracing off."""
    from agno.models.message import Message

    from agno_deepinfra import DeepInfra
    from agno_deepinfra.testing import DeepInfraEmulator

    with DeepInfraEmulator() as emu:
        model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url, api_key=emu.api_key)
        messages = [Message(role="user", content="hi")]
        return per_call_ns(lambda: model.invoke(messages, Message(role="assistant")), number=200, wall=True)[0] / 1000


def span_us() -> list[float]:
    """µs per in-process `invoke` and embedding request, with agno's instrumentor off then on (spans to memory).

    Each repeat times all four, switching the instrumentor on and off between them, so load on the
    machine hits both states alike; the best of REPEATS is kept for each.
    """
    from openinference.instrumentation.agno import AgnoInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    requests = _in_process()
    best = [float("inf")] * 4
    for _ in range(REPEATS):
        best[:2] = map(min, best[:2], per_call_ns(*requests, number=2_000, repeats=1))
        AgnoInstrumentor().instrument(tracer_provider=provider)
        try:
            best[2:] = map(min, best[2:], per_call_ns(*requests, number=2_000, repeats=1))
        finally:
            AgnoInstrumentor().uninstrument()
    return [ns / 1000 for ns in best]


def main() -> int:
    assert "opentelemetry" not in sys.modules
    print(f"Tracing off, OpenTelemetry never imported (ns of CPU per call, best of {REPEATS}):")
    print_hooks()
    request_us("requests")
    assert "opentelemetry" not in sys.modules, "the hooks imported OpenTelemetry"

    import opentelemetry.trace  # noqa: F401  (installed and imported, but nothing set up)

    print("Tracing off, OpenTelemetry imported, no provider set, no instrumentor:")
    print_hooks()
    print(f"For scale: one invoke round trip to the local emulator: {round_trip_us():.0f} µs")
    invoke_off, embed_off, invoke_on, embed_on = span_us()
    print("Tracing on (agno's instrumentor, in-memory exporter), against off, repeats alternated:")
    print(f"  off: invoke {invoke_off:6.1f} µs, embedding request {embed_off:6.1f} µs (in-process transport)")
    print(f"  on:  invoke {invoke_on:6.1f} µs, embedding request {embed_on:6.1f} µs")
    print(f"  a span adds: LLM {invoke_on - invoke_off:.1f} µs, embedding {embed_on - embed_off:.1f} µs per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
