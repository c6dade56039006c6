"""Tracing: every DeepInfra call in agno's traces, with its model, tokens and cost.

agno's `setup_tracing(db)` (and `AgentOS(tracing=True)`, which calls it) records each run as
OpenTelemetry spans in a database. The plugin adds an OpenInference LLM span for every model call,
on all four paths (run, arun, stream, async stream), with the model, the prompt, completion and
total tokens and DeepInfra's estimated cost; the embedder and the reranker add EMBEDDING and
RERANKER spans. The API key never appears in a span.

Needs the tracing extra: `pip install "agno-deepinfra[tracing]"`.

Run: `python cookbook/tracing.py`.
"""

import tempfile
from pathlib import Path

from _check import answered
from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.tracing import setup_tracing

from agno_deepinfra import DeepInfra, DeepInfraEmbedder

# ---------------------------------------------------------------------------
# Create a traced agent
# ---------------------------------------------------------------------------

db = SqliteDb(db_file=str(Path(tempfile.mkdtemp()) / "traces.db"))
setup_tracing(db=db)  # before or after importing agno_deepinfra: either order works


def get_population(city: str) -> str:
    """Get the population of a city.

    Args:
        city: The city to look up.
    """
    return {"Tokyo": "37 million", "Lagos": "16 million"}.get(city, "unknown")


agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"), tools=[get_population], db=db)


def print_traces() -> None:
    """Each trace in the db, with the model, tokens and cost of every model and embedding span."""
    traces, _ = db.get_traces(limit=10)
    for trace in sorted(traces, key=lambda t: t.start_time):
        print(f"Trace '{trace.name}': {trace.total_spans} spans, status {trace.status}")
        for span in sorted(db.get_spans(trace_id=trace.trace_id), key=lambda s: s.start_time):
            attributes = span.attributes
            kind = attributes.get("openinference.span.kind")
            if kind not in ("LLM", "EMBEDDING"):
                continue
            model = attributes.get("llm.model_name") or attributes.get("embedding.model_name")
            tokens = f"{attributes.get('llm.token_count.prompt')} in"
            if kind == "LLM":
                tokens += f" / {attributes['llm.token_count.completion']} out"
            tokens += f" / {attributes.get('llm.token_count.total')} total"
            cost = attributes.get("llm.cost.total") or 0
            print(f"  {kind:<9} {span.name:<24} {model}  tokens {tokens}  cost ${cost:.8f}  {span.duration_ms} ms")


# ---------------------------------------------------------------------------
# Run the agent and read its traces back
# ---------------------------------------------------------------------------

if __name__ == "__main__":
    output = answered(agent.run("What is the population of Tokyo?"))
    print(output.content)
    with DeepInfraEmbedder() as embedder:
        embedder.get_embedding("Tokyo is the capital of Japan.")
    print_traces()
