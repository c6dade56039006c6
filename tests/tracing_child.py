"""A fresh interpreter for the tracing tests: the global tracer provider can be set only once per process.

`python tests/tracing_child.py SETUP ORDER` sets tracing up one way (`plain`, `setup_tracing`,
`agentos`, `global`, `none`, `wrapped`), importing `agno_deepinfra` before or after it (`before`,
`after`), runs DeepInfra calls against the emulator named by DEEPINFRA_BASE_URL and prints one JSON
object: the finished spans, the spans read back from agno's SQLite db (where one is used) and what
was imported.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import tempfile
from typing import Any

os.environ["AGNO_TELEMETRY"] = "false"
MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
HERE = os.path.dirname(os.path.abspath(__file__))


def main(setup: str, order: str) -> None:
    sys.path.insert(0, HERE)
    if order == "before":
        importlib.import_module("agno_deepinfra.chat")
    imported_first = "agno_deepinfra.chat" in sys.modules
    memory, db = start_tracing(setup)
    report: dict[str, Any] = {"imported_before_tracing": imported_first}
    if setup == "agentos":
        report["responses"] = run_agentos(db, memory, report)
    else:
        from paths import PATHS, run_path

        report["errors"] = [run_path(agent(), path)[1] for path in PATHS]
        report["knowledge"] = run_knowledge()
    if setup == "plain":  # after uninstrument(), DeepInfra calls make no span any more
        from openinference.instrumentation.agno import AgnoInstrumentor

        AgnoInstrumentor().uninstrument()
        agent().run("after uninstrument")
    report["spans"] = [describe(span) for span in memory.get_finished_spans()] if memory else []
    report["db_spans"] = read_db(db) if db is not None else []
    report["imported"] = sorted(name for name in ("opentelemetry", "openinference") if name in sys.modules)
    print("REPORT " + json.dumps(report, default=str))  # agno logs to stdout too


def start_tracing(setup: str) -> tuple[Any, Any]:
    """Set tracing up the way `setup` names; the in-memory exporter and the SQLite db (or None)."""
    if setup == "none":
        return None, None
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    db = None
    if setup in ("setup_tracing", "agentos"):
        from agno.db.sqlite import SqliteDb

        db = SqliteDb(db_file=os.path.join(tempfile.mkdtemp(), "traces.db"))
        if setup == "setup_tracing":
            from agno.tracing import setup_tracing

            setup_tracing(db=db)
            join_global_provider(memory)
        # AgentOS sets tracing up itself, in `run_agentos`, and the memory exporter joins it there.
        return memory, db
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    if setup in ("plain", "wrapped"):
        import openinference.instrumentation.agno as instrumentation

        if setup == "wrapped":  # a future instrumentor that also wraps classes outside agno.models
            from agno_deepinfra import DeepInfra

            found = instrumentation.find_model_subclasses
            instrumentation.find_model_subclasses = lambda: [DeepInfra, *found()]
        instrumentation.AgnoInstrumentor().instrument()
    return memory, db


def join_global_provider(memory: Any) -> None:
    """Also send the spans of the provider agno set up to the in-memory exporter."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(memory))  # type: ignore[attr-defined]


def model() -> Any:
    from agno_deepinfra import DeepInfra

    return DeepInfra(id=MODEL_ID)


def agent(**kwargs: Any) -> Any:
    from agno.agent import Agent

    return Agent(model=model(), telemetry=False, **kwargs)


def run_knowledge() -> list[int]:
    """One embedding and one rerank, sync and async: how many vectors and documents came back."""
    from agno.knowledge.document import Document

    from agno_deepinfra import DeepInfraEmbedder, DeepInfraReranker

    docs = [Document(content="Paris is in France."), Document(content="Lagos is in Nigeria.")]
    with DeepInfraEmbedder() as embedder, DeepInfraReranker(raise_on_error=True) as reranker:
        vector = embedder.get_embedding("hello")
        ranked = reranker.rerank("Where is Paris?", docs)
        avector = asyncio.run(embedder.async_get_embedding("hello"))
        aranked = asyncio.run(reranker.arerank("Where is Paris?", docs))
    return [len(vector) > 0, len(ranked), len(avector) > 0, len(aranked)]


def run_agentos(db: Any, memory: Any, report: dict[str, Any]) -> list[int]:
    """Two runs through AgentOS's HTTP API (FastAPI's TestClient), streamed and not.

    The agent's model is set after AgentOS set tracing up, so with ORDER=after `agno_deepinfra` is
    first imported once tracing is on.
    """
    from agno.agent import Agent
    from agno.os import AgentOS
    from fastapi.testclient import TestClient

    os_agent = Agent(id="traced-agent", db=db, telemetry=False)
    report["imported_before_tracing"] = "agno_deepinfra.chat" in sys.modules
    app = AgentOS(agents=[os_agent], tracing=True).get_app()
    join_global_provider(memory)
    os_agent.model = model()
    statuses = []
    with TestClient(app) as client:
        for stream in ("false", "true"):
            response = client.post("/agents/traced-agent/runs", data={"message": "hello", "stream": stream})
            statuses.append(response.status_code)
    return statuses


def read_db(db: Any) -> list[dict[str, Any]]:
    """Every span agno's exporter wrote to the SQLite db, as agno's own `get_spans` returns them."""
    traces = db.get_traces(limit=100)
    traces = traces[0] if isinstance(traces, tuple) else traces
    spans = [span for record in traces for span in db.get_spans(trace_id=record.trace_id)]
    return [
        {"name": s.name, "status": s.status_code, "message": s.status_message, "attributes": s.attributes}
        for s in spans
    ]


def describe(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "attributes": dict(span.attributes or {}),
        "status": span.status.status_code.name,
        "message": span.status.description,
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
        "trace_id": span.context.trace_id,
        "span_id": span.context.span_id,
        "parent_id": span.parent.span_id if span.parent else None,
    }


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
