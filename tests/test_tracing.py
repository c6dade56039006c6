"""Tracing: OpenInference spans for DeepInfra's model, embedder and reranker, read from an in-memory exporter.

In this process agno's instrumentor runs on a private tracer provider (no global one is set, so
other tests are untouched) and is switched off after the module. Set-ups that need the global
provider (`setup_tracing`, `AgentOS(tracing=True)`, a plain `AgnoInstrumentor().instrument()`, both
import orders) run in fresh interpreters: `tests/tracing_child.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agno.agent import Agent
from agno.db.in_memory import InMemoryDb
from agno.knowledge.document import Document
from paths import PATHS, run_path

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraReranker
from agno_deepinfra._shared import tracing as names
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply, ToolCall

try:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError as missing:  # pragma: no cover - the dev extra installs them
    pytest.skip(f"the tracing extra is not installed ({missing})", allow_module_level=True)

MakeModel = Callable[..., DeepInfra]
CHILD = Path(__file__).resolve().parent / "tracing_child.py"
SECRET = "sk-tracing-secret-0123456789"
ENTRY = {"run": "invoke", "arun": "ainvoke", "stream": "invoke_stream", "astream": "ainvoke_stream"}


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Callable[[str], list[ReadableSpan]]:
    """The finished spans of one OpenInference kind, since the start of the test."""
    exporter.clear()
    return lambda kind: [s for s in exporter.get_finished_spans() if (s.attributes or {}).get(names.SPAN_KIND) == kind]


@pytest.fixture(scope="module")
def keyed_session() -> Iterator[DeepInfraEmulator]:
    with DeepInfraEmulator(api_key=SECRET) as emulator:
        yield emulator


@pytest.fixture
def keyed(keyed_session: DeepInfraEmulator) -> DeepInfraEmulator:
    """An emulator that accepts only SECRET as the key, so the key surely travels on every request."""
    keyed_session.reset()
    return keyed_session


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def everything_in(span: ReadableSpan) -> str:
    """All the text a span carries: name, attributes, events and status."""
    events = [(event.name, dict(event.attributes or {})) for event in span.events]
    return json.dumps([span.name, attrs(span), events, span.status.description], default=str)


# ------------------------------------------------------------------------------ LLM spans


@pytest.mark.parametrize("path", PATHS)
def test_one_llm_span_per_model_call_on_every_path(
    make_model: MakeModel, spans: Callable[[str], list[ReadableSpan]], path: str
) -> None:
    agent = Agent(model=make_model(), db=InMemoryDb(), telemetry=False)  # keeps the run's metrics
    _, error = run_path(agent, path)
    assert error is None
    [llm] = spans("LLM")
    [run] = spans("AGENT")
    metrics = agent.get_last_run_output().metrics  # type: ignore[union-attr]
    assert llm.name == f"DeepInfra.{ENTRY[path]}"
    assert llm.parent is not None and llm.parent.span_id == run.context.span_id  # inside the agent's run
    assert attrs(llm)[names.LLM_MODEL_NAME] == "meta-llama/Meta-Llama-3.1-8B-Instruct"
    assert attrs(llm)[names.LLM_PROVIDER] == "DeepInfra"
    assert attrs(llm)[names.TOKENS_PROMPT] == metrics.input_tokens > 0  # type: ignore[union-attr]
    assert attrs(llm)[names.TOKENS_COMPLETION] == metrics.output_tokens > 0  # type: ignore[union-attr]
    assert attrs(llm)[names.TOKENS_TOTAL] == metrics.input_tokens + metrics.output_tokens  # type: ignore[union-attr]
    assert attrs(llm)[names.COST_TOTAL] == pytest.approx(metrics.cost) and metrics.cost > 0  # type: ignore[union-attr]
    assert "deterministic reply" in attrs(llm)["llm.output_messages.0.message.content"]
    assert attrs(llm)["llm.input_messages.0.message.content"] == "hello"
    assert llm.status.is_ok


@pytest.mark.parametrize("path", PATHS)
def test_tool_calls_and_every_step_of_a_run_are_traced(
    emu: DeepInfraEmulator, make_model: MakeModel, spans: Callable[[str], list[ReadableSpan]], path: str
) -> None:
    def get_weather(city: str) -> str:
        """Get the weather in a city.

        Args:
            city: The city.
        """
        return "Sunny, 21C"

    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    emu.queue(Reply(content="It is sunny."))
    content, error = run_path(Agent(model=make_model(), tools=[get_weather], telemetry=False), path)
    assert error is None and content == "It is sunny."
    first, second = spans("LLM")
    assert attrs(first)["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "get_weather"
    assert json.loads(attrs(first)["llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments"]) == {
        "city": "Paris"
    }
    assert attrs(second)["llm.input_messages.2.message.role"] == "tool"
    assert attrs(second)["llm.output_messages.0.message.content"] == "It is sunny."
    assert "get_weather" in attrs(first)["llm.tools.0.tool.json_schema"]


def test_invocation_parameters_are_recorded_without_the_key(
    keyed: DeepInfraEmulator, spans: Callable[[str], list[ReadableSpan]], exporter: InMemorySpanExporter
) -> None:
    model = DeepInfra(
        id="meta-llama/Meta-Llama-3.1-8B-Instruct",
        base_url=keyed.base_url,
        api_key=SECRET,
        temperature=0.2,
        top_k=40,
        extra_headers={"X-Trace-Key": SECRET},
        request_params={"user": "u-1", "metadata": {"api_key": SECRET}},
    )
    assert Agent(model=model, telemetry=False).run("hello").content
    [llm] = spans("LLM")
    params = json.loads(attrs(llm)[names.LLM_INVOCATION_PARAMETERS])
    assert params["temperature"] == 0.2 and params["extra_body"] == {"top_k": 40} and params["user"] == "u-1"
    assert "extra_headers" not in params
    assert all(SECRET not in everything_in(span) for span in exporter.get_finished_spans())


def test_the_key_is_scrubbed_from_every_text_on_our_spans(
    keyed: DeepInfraEmulator, spans: Callable[[str], list[ReadableSpan]]
) -> None:
    # Someone pastes the key into a prompt: agno's own AGENT span shows the prompt as given,
    # but the LLM span (ours) never carries the key, in input or in output (the emulator echoes it).
    model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=keyed.base_url, api_key=SECRET)
    assert SECRET in str(Agent(model=model, telemetry=False).run(f"my key is {SECRET}").content)
    [llm] = spans("LLM")
    assert SECRET not in everything_in(llm)
    assert "my key is <redacted>" in attrs(llm)["llm.input_messages.0.message.content"]


@pytest.mark.parametrize("path", PATHS)
def test_a_retried_failure_is_its_own_error_span_with_deepinfras_status_and_message(
    emu: DeepInfraEmulator,
    make_model: MakeModel,
    waits: list[float],
    spans: Callable[[str], list[ReadableSpan]],
    path: str,
) -> None:
    emu.queue(Fault.status(503, body={"detail": {"error": "No capacity available for the model"}}))
    emu.queue(Reply(content="recovered"))
    content, error = run_path(Agent(model=make_model(retries=1), telemetry=False), path)
    assert error is None and content == "recovered"
    failed, succeeded = spans("LLM")
    assert not failed.status.is_ok and "No capacity available for the model" in str(failed.status.description)
    assert attrs(failed)[names.HTTP_STATUS] == 503 and attrs(failed)[names.RETRYABLE] is True
    [event] = failed.events
    assert event.name == "exception" and "No capacity" in str((event.attributes or {})["exception.message"])
    assert succeeded.status.is_ok and attrs(succeeded)[names.TOKENS_TOTAL] > 0
    assert waits == [1]


def test_a_final_failure_is_an_error_span_marked_not_retryable(
    emu: DeepInfraEmulator, make_model: MakeModel, spans: Callable[[str], list[ReadableSpan]]
) -> None:
    emu.queue(Fault.status(401, body={"detail": {"error": "Invalid token"}}))
    _, error = run_path(Agent(model=make_model(retries=3), telemetry=False), "run")
    assert error is not None
    [failed] = spans("LLM")
    assert attrs(failed)[names.HTTP_STATUS] == 401 and attrs(failed)[names.RETRYABLE] is False
    assert "Invalid token" in str(failed.status.description)


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (400, "messages: a message has no role"),
        (404, "The model does not exist"),
        (422, "temperature: Input should be less than or equal to 2"),
    ],
)
def test_a_final_provider_error_is_marked_not_retryable(
    emu: DeepInfraEmulator, make_model: MakeModel, spans: Callable[[str], list[ReadableSpan]], status: int, text: str
) -> None:
    """400, 404 and 422 reach agno as `ModelProviderError`s: the span's verdict is the real classification's."""
    emu.queue(Fault.status(status, body={"detail": {"error": text}}))
    _, error = run_path(Agent(model=make_model(retries=3), telemetry=False), "run")
    assert error is not None and text in error
    [failed] = spans("LLM")  # one attempt: a final failure is not retried...
    assert attrs(failed)[names.HTTP_STATUS] == status
    assert attrs(failed)[names.RETRYABLE] is False  # ...and its span says so
    assert attrs(failed)[names.ERROR_TYPE] != "ModelAuthenticationError"
    assert text in str(failed.status.description)


# ------------------------------------------------------------------ embedder and reranker spans


@pytest.fixture
def embedder(keyed: DeepInfraEmulator) -> Iterator[DeepInfraEmbedder]:
    with DeepInfraEmbedder(base_url=keyed.base_url, api_key=SECRET, batch_size=2, dimensions=64) as made:
        yield made


def test_embedding_spans_carry_model_tokens_cost_and_text_count(
    embedder: DeepInfraEmbedder, spans: Callable[[str], list[ReadableSpan]], exporter: InMemorySpanExporter
) -> None:
    _, usage = embedder.get_embedding_and_usage("hello world")
    _, usages = asyncio.run(embedder.async_get_embeddings_batch_and_usage(["a", "b", "c"]))
    single, *batches = spans("EMBEDDING")
    assert len(batches) == 2  # one span per request: 3 texts in batches of 2
    assert attrs(single)[names.EMBEDDING_MODEL_NAME] == "Qwen/Qwen3-Embedding-0.6B"
    assert attrs(single)[names.EMBEDDING_TEXT_COUNT] == 1
    assert sorted(attrs(span)[names.EMBEDDING_TEXT_COUNT] for span in batches) == [1, 2]
    batch_tokens = [usage["prompt_tokens"] for usage in (usages[0], usages[2]) if usage]  # texts a+b, then c
    assert sorted(attrs(span)[names.TOKENS_PROMPT] for span in batches) == sorted(batch_tokens)
    assert usage is not None and attrs(single)[names.TOKENS_PROMPT] == usage["prompt_tokens"] > 0
    assert attrs(single)[names.COST_TOTAL] == pytest.approx(usage["estimated_cost"])
    assert json.loads(attrs(single)[names.EMBEDDING_INVOCATION_PARAMETERS])["dimensions"] == 64
    assert all(SECRET not in everything_in(span) for span in exporter.get_finished_spans())


@pytest.mark.parametrize("asynchronous", [False, True])
def test_embedder_retries_are_events_on_its_span(
    keyed: DeepInfraEmulator,
    embedder: DeepInfraEmbedder,
    slept: list[float],
    spans: Callable[[str], list[ReadableSpan]],
    asynchronous: bool,
) -> None:
    embedder.retries = 1
    keyed.queue(Fault.status(503, body={"detail": {"error": "No capacity available"}}), route="embeddings")
    vector = asyncio.run(embedder.async_get_embedding("hi")) if asynchronous else embedder.get_embedding("hi")
    assert len(vector) == 64
    [span] = spans("EMBEDDING")
    [retry] = span.events
    assert retry.name == names.RETRY_EVENT
    assert dict(retry.attributes or {})[names.HTTP_STATUS] == 503
    assert "No capacity available" in str(dict(retry.attributes or {})["exception.message"])
    assert span.status.is_ok and slept == [1.0]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_reranker_spans_carry_model_tokens_cost_and_document_count(
    keyed: DeepInfraEmulator,
    spans: Callable[[str], list[ReadableSpan]],
    exporter: InMemorySpanExporter,
    asynchronous: bool,
) -> None:
    docs = [Document(content=text) for text in ("Paris is in France.", "Lagos is in Nigeria.", "Rome is in Italy.")]
    with DeepInfraReranker(base_url=keyed.base_url, api_key=SECRET, top_n=2, raise_on_error=True) as reranker:
        query = "Where is Paris?"
        ranked = asyncio.run(reranker.arerank(query, docs)) if asynchronous else reranker.rerank(query, docs)
    assert len(ranked) == 2
    [span] = spans("RERANKER")
    assert attrs(span)[names.RERANKER_MODEL_NAME] == "Qwen/Qwen3-Reranker-0.6B"
    assert attrs(span)[names.RERANKER_QUERY] == query and attrs(span)[names.RERANKER_TOP_K] == 2
    assert attrs(span)[names.RERANKER_DOCUMENT_COUNT] == 3
    assert attrs(span)[names.TOKENS_PROMPT] > 0 and attrs(span)[names.COST_TOTAL] > 0
    assert all(SECRET not in everything_in(span) for span in exporter.get_finished_spans())


def test_a_failed_rerank_is_an_error_span(emu: DeepInfraEmulator, spans: Callable[[str], list[ReadableSpan]]) -> None:
    emu.queue(Fault.status(422, body={"detail": "documents: field required"}), route="inference")
    with DeepInfraReranker(base_url=emu.base_url, api_key=emu.api_key) as reranker:
        docs = [Document(content="a"), Document(content="b")]
        assert reranker.rerank("q", docs) == docs  # agno's convention: the input order, logged
    [span] = spans("RERANKER")
    assert not span.status.is_ok and attrs(span)[names.HTTP_STATUS] == 422
    assert "documents: field required" in str(span.status.description)


# ------------------------------------------------------------------------ names and set-ups


def test_attribute_names_are_openinferences() -> None:
    from openinference.semconv.trace import (
        MessageAttributes,
        OpenInferenceMimeTypeValues,
        RerankerAttributes,
        SpanAttributes,
        ToolAttributes,
        ToolCallAttributes,
    )

    ours_to_theirs = {
        names.SPAN_KIND: SpanAttributes.OPENINFERENCE_SPAN_KIND,
        names.INPUT_VALUE: SpanAttributes.INPUT_VALUE,
        names.INPUT_MIME_TYPE: SpanAttributes.INPUT_MIME_TYPE,
        names.OUTPUT_VALUE: SpanAttributes.OUTPUT_VALUE,
        names.OUTPUT_MIME_TYPE: SpanAttributes.OUTPUT_MIME_TYPE,
        names.LLM_MODEL_NAME: SpanAttributes.LLM_MODEL_NAME,
        names.LLM_PROVIDER: SpanAttributes.LLM_PROVIDER,
        names.LLM_INVOCATION_PARAMETERS: SpanAttributes.LLM_INVOCATION_PARAMETERS,
        names.LLM_INPUT_MESSAGES: SpanAttributes.LLM_INPUT_MESSAGES,
        names.LLM_OUTPUT_MESSAGES: SpanAttributes.LLM_OUTPUT_MESSAGES,
        names.LLM_TOOLS: SpanAttributes.LLM_TOOLS,
        names.TOKENS_PROMPT: SpanAttributes.LLM_TOKEN_COUNT_PROMPT,
        names.TOKENS_COMPLETION: SpanAttributes.LLM_TOKEN_COUNT_COMPLETION,
        names.TOKENS_TOTAL: SpanAttributes.LLM_TOKEN_COUNT_TOTAL,
        names.TOKENS_CACHE_READ: SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ,
        names.TOKENS_REASONING: SpanAttributes.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING,
        names.COST_TOTAL: SpanAttributes.LLM_COST_TOTAL,
        names.EMBEDDING_MODEL_NAME: SpanAttributes.EMBEDDING_MODEL_NAME,
        names.EMBEDDING_INVOCATION_PARAMETERS: SpanAttributes.EMBEDDING_INVOCATION_PARAMETERS,
        names.RERANKER_MODEL_NAME: RerankerAttributes.RERANKER_MODEL_NAME,
        names.RERANKER_QUERY: RerankerAttributes.RERANKER_QUERY,
        names.RERANKER_TOP_K: RerankerAttributes.RERANKER_TOP_K,
        names.MESSAGE_ROLE: MessageAttributes.MESSAGE_ROLE,
        names.MESSAGE_CONTENT: MessageAttributes.MESSAGE_CONTENT,
        names.MESSAGE_TOOL_CALL_ID: MessageAttributes.MESSAGE_TOOL_CALL_ID,
        names.MESSAGE_TOOL_CALLS: MessageAttributes.MESSAGE_TOOL_CALLS,
        names.TOOL_CALL_ID: ToolCallAttributes.TOOL_CALL_ID,
        names.TOOL_CALL_NAME: ToolCallAttributes.TOOL_CALL_FUNCTION_NAME,
        names.TOOL_CALL_ARGUMENTS: ToolCallAttributes.TOOL_CALL_FUNCTION_ARGUMENTS_JSON,
        names.TOOL_JSON_SCHEMA: ToolAttributes.TOOL_JSON_SCHEMA,
        names.JSON: OpenInferenceMimeTypeValues.JSON.value,
    }
    assert {ours: theirs for ours, theirs in ours_to_theirs.items() if ours != theirs} == {}


def run_child(emu: DeepInfraEmulator, setup: str, order: str, **extra_env: str) -> dict[str, Any]:
    """Run `tracing_child.py` against the emulator (with `extra_env` set); its report."""
    env = {**os.environ, "DEEPINFRA_BASE_URL": emu.root_url, "DEEPINFRA_API_KEY": emu.api_key, **extra_env}
    result = subprocess.run(
        [sys.executable, str(CHILD), setup, order], env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [report] = [line[len("REPORT ") :] for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    parsed: dict[str, Any] = json.loads(report)
    return parsed


def kinds(spans: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [span for span in spans if span["attributes"].get(names.SPAN_KIND) == kind]


@pytest.mark.parametrize("order", ["before", "after"])
@pytest.mark.parametrize("setup", ["plain", "setup_tracing"])
def test_every_path_is_traced_whichever_is_imported_first(emu: DeepInfraEmulator, setup: str, order: str) -> None:
    report = run_child(emu, setup, order)
    assert report["imported_before_tracing"] is (order == "before")
    assert report["errors"] == [None] * 4
    llm = kinds(report["spans"], "LLM")
    # one span per call, four calls (after `uninstrument()` the plain set-up's fifth call makes none)
    assert [span["name"] for span in llm] == [f"DeepInfra.{ENTRY[path]}" for path in PATHS]
    assert all(span["attributes"][names.TOKENS_TOTAL] > 0 and span["attributes"][names.COST_TOTAL] > 0 for span in llm)
    assert len(kinds(report["spans"], "EMBEDDING")) == 2 and len(kinds(report["spans"], "RERANKER")) == 2


def test_setup_tracing_stores_the_model_spans_in_agnos_sqlite_db(emu: DeepInfraEmulator) -> None:
    report = run_child(emu, "setup_tracing", "after")
    stored = kinds(report["db_spans"], "LLM")
    assert sorted(span["name"] for span in stored) == sorted(f"DeepInfra.{entry}" for entry in ENTRY.values())
    for span in stored:
        assert span["status"] == "OK"
        assert span["attributes"][names.LLM_MODEL_NAME] == "meta-llama/Meta-Llama-3.1-8B-Instruct"
        assert span["attributes"][names.TOKENS_PROMPT] > 0 and span["attributes"][names.TOKENS_COMPLETION] > 0
        assert span["attributes"][names.COST_TOTAL] > 0
    assert {span["name"] for span in kinds(report["db_spans"], "EMBEDDING")} == {"DeepInfraEmbedder.embed"}


@pytest.mark.parametrize("order", ["before", "after"])
def test_agentos_with_tracing_stores_the_model_spans(emu: DeepInfraEmulator, order: str) -> None:
    report = run_child(emu, "agentos", order)
    assert report["imported_before_tracing"] is (order == "before")
    assert report["responses"] == [200, 200]
    stored = kinds(report["db_spans"], "LLM")
    assert sorted(span["name"] for span in stored) == ["DeepInfra.ainvoke", "DeepInfra.ainvoke_stream"]
    assert all(span["attributes"][names.COST_TOTAL] > 0 for span in stored)


def test_an_instrumentor_that_wraps_our_class_itself_still_makes_one_span_per_call(emu: DeepInfraEmulator) -> None:
    # Stands in for a future instrumentor that finds classes outside agno.models: its span, not two.
    report = run_child(emu, "wrapped", "after")
    assert len(kinds(report["spans"], "LLM")) == 4


def test_global_provider_alone_traces_the_embedder_and_reranker_but_not_the_model(emu: DeepInfraEmulator) -> None:
    # As with agno's own models: LLM spans come with agno's instrumentor, not with any provider.
    report = run_child(emu, "global", "before")
    assert kinds(report["spans"], "LLM") == []
    assert len(kinds(report["spans"], "EMBEDDING")) == 2 and len(kinds(report["spans"], "RERANKER")) == 2


HIDDEN = {"OPENINFERENCE_HIDE_INPUTS": "true", "OPENINFERENCE_HIDE_OUTPUTS": "true"}


@pytest.mark.parametrize("setup", ["global", "plain"])
def test_openinference_switches_keep_prompts_off_every_tracer_path(emu: DeepInfraEmulator, setup: str) -> None:
    # "global": the embedder and reranker on the global provider alone; "plain": the instrumentor's tracer.
    report = run_child(emu, setup, "before", **HIDDEN)
    spans = report["spans"]
    [rerank, *_] = kinds(spans, "RERANKER")
    assert rerank["attributes"][names.RERANKER_QUERY] == "__REDACTED__"  # OpenInference's placeholder
    assert "Where is Paris?" not in json.dumps(spans)
    for llm in kinds(spans, "LLM"):
        assert llm["attributes"][names.INPUT_VALUE] == llm["attributes"][names.OUTPUT_VALUE] == "__REDACTED__"
        assert not [key for key in llm["attributes"] if key.startswith(("llm.input_messages", "llm.output_messages"))]
    assert len(kinds(spans, "LLM")) == (4 if setup == "plain" else 0)


def test_without_tracing_nothing_of_opentelemetry_is_imported(emu: DeepInfraEmulator) -> None:
    report = run_child(emu, "none", "before")
    assert report["errors"] == [None] * 4 and report["knowledge"] == [True, 2, True, 2]
    assert report["imported"] == []


def test_the_overhead_benchmark_runs() -> None:
    # The figures in CHANGELOG.md come from `python -m benchmarks.tracing_overhead`; this keeps it
    # runnable (in its quick mode; no timing is asserted).
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.tracing_overhead", "--quick"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("invoke", "ainvoke", "invoke_stream", "ainvoke_stream", "round trip", "Tracing on"):
        assert name in result.stdout
