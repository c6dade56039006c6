"""What tracing support costs a DeepInfra call when tracing is off (and, for scale, when it is on).

`python -m benchmarks.tracing_overhead [--quick]` prints nanoseconds per call of:
- the hook on the chat model's entry points (`traced_model_call`) against the same function
  undecorated, for each of the four kinds of entry point, with OpenTelemetry never imported;
- the embedder's and reranker's hook (`embedding_span` and its no-op `with`), the same way;
- the same hooks once OpenTelemetry is imported but no provider is set, nor agno's instrumentor on;
- for scale: one `invoke` round trip to the local emulator, and the hook with agno's instrumentor
  on, writing spans to an in-memory exporter.
Each figure is the best of 7 repeats of a `timeit` loop (the usual way to read a micro-benchmark:
the best run is the one least disturbed by the rest of the machine). `--quick` runs a thousandth
of the loops: a smoke test, its figures too noisy to quote.
"""

from __future__ import annotations

import asyncio
import os
import sys
import timeit
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

os.environ.setdefault("AGNO_TELEMETRY", "false")

REPEATS = 7
SCALE = 1000 if "--quick" in sys.argv[1:] else 1  # loops are divided by this


def per_call_ns(statement: Callable[[], object], number: int = 200_000) -> float:
    """Best of REPEATS timings of `statement`, in nanoseconds per call."""
    number = max(1, number // SCALE)
    return min(timeit.repeat(statement, number=number, repeat=REPEATS)) / number * 1e9


class _Model:
    """The four kinds of entry point, doing nothing, so only the hook is measured."""

    id = "m"
    name = "DeepInfra"
    provider = "DeepInfra"
    api_key = "k"

    def invoke(self, messages: list[Any]) -> int:
        return 1

    async def ainvoke(self, messages: list[Any]) -> int:
        return 1

    def invoke_stream(self, messages: list[Any]) -> Iterator[int]:
        yield 1

    async def ainvoke_stream(self, messages: list[Any]) -> AsyncIterator[int]:
        yield 1


def hook_rows() -> list[tuple[str, float, float]]:
    """(entry point, ns undecorated, ns with the hook) for the four kinds, tracing off."""
    from agno_deepinfra._tracing import traced_model_call

    model = _Model()
    rows = []
    for name in ("invoke", "ainvoke", "invoke_stream", "ainvoke_stream"):
        plain = getattr(_Model, name)
        hooked = traced_model_call(plain)
        rows.append((name, per_call_ns(_calling(plain, model)), per_call_ns(_calling(hooked, model))))
    return rows


def _calling(function: Callable[..., Any], model: _Model) -> Callable[[], object]:
    # A coroutine is run to its end (it never suspends); a stream is created and dropped: when off,
    # the hook returns the method's own generator, so no chunk pays anything.
    def call() -> object:
        result = function(model, [])
        if asyncio.iscoroutine(result):
            try:
                result.send(None)
            except StopIteration as done:
                return done.value
        return result

    return call


def knowledge_ns(number: int = 200_000) -> float:
    """ns per `with embedding_span(...) as span: span.response(body)`, the embedder's and reranker's hook."""
    from agno_deepinfra._tracing import embedding_span

    body = {"usage": {"prompt_tokens": 1}}

    def call() -> object:
        with embedding_span("m", 1, body, "k") as span:
            return span.response(body)

    return per_call_ns(call, number=number)


def round_trip_us() -> float:
    """µs per `DeepInfra.invoke` round trip to the local emulator (for scale), tracing off."""
    from agno.models.message import Message

    from agno_deepinfra import DeepInfra
    from agno_deepinfra.testing import DeepInfraEmulator

    with DeepInfraEmulator() as emu:
        model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url, api_key=emu.api_key)
        messages = [Message(role="user", content="hi")]
        return per_call_ns(lambda: model.invoke(messages, Message(role="assistant")), number=200) / 1000


def traced_rows() -> tuple[float, float]:
    """ns per hooked `invoke` and per embedding hook with agno's instrumentor on (in-memory exporter)."""
    from openinference.instrumentation.agno import AgnoInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agno_deepinfra._tracing import traced_model_call

    class Traced(_Model):
        def get_request_params(self) -> dict[str, Any]:
            return {"temperature": 0.2}

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    AgnoInstrumentor().instrument(tracer_provider=provider)
    try:
        hooked = traced_model_call(Traced.invoke)
        model = Traced()
        llm = per_call_ns(lambda: hooked(model, []), number=2_000)
        knowledge = knowledge_ns(2_000)
    finally:
        AgnoInstrumentor().uninstrument()
    return llm, knowledge


def main() -> int:
    assert "opentelemetry" not in sys.modules
    print("Tracing off, OpenTelemetry never imported (ns per call, best of 7):")
    for name, plain, hooked in hook_rows():
        print(f"  {name:<15} undecorated {plain:7.0f}   with the hook {hooked:7.0f}   added {hooked - plain:6.0f}")
    print(f"  embedder/reranker hook (no-op span)       {knowledge_ns():7.0f}")
    assert "opentelemetry" not in sys.modules, "the hooks imported OpenTelemetry"

    import opentelemetry.trace  # noqa: F401  (installed and imported, but nothing set up)

    print("Tracing off, OpenTelemetry imported, no provider set, no instrumentor:")
    for name, plain, hooked in hook_rows():
        print(f"  {name:<15} undecorated {plain:7.0f}   with the hook {hooked:7.0f}   added {hooked - plain:6.0f}")
    print(f"  embedder/reranker hook (no-op span)       {knowledge_ns():7.0f}")

    print(f"For scale: one invoke round trip to the local emulator: {round_trip_us():.0f} µs")
    llm, knowledge = traced_rows()
    print(
        f"Tracing on (agno's instrumentor, in-memory exporter): LLM span {llm / 1000:.1f} µs, "
        f"embedding span {knowledge / 1000:.1f} µs per call"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
