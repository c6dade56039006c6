"""OpenInference spans for DeepInfra's chat, embedding and rerank calls; OpenTelemetry stays optional.

Why the chat model emits its own LLM spans. agno's tracing (`agno.tracing.setup_tracing`,
`AgentOS(tracing=True)`) is `openinference-instrumentation-agno`'s `AgnoInstrumentor`. When it
instruments, it walks the `agno.models` package, collects the `Model` subclasses defined there and
wraps their `invoke`, `ainvoke`, `invoke_stream` and `ainvoke_stream` in place (wrapt). `DeepInfra`
lives outside that package and overrides all four, so nothing of it is ever wrapped, whichever is
imported first; and the instrumentor has no hook for other classes. Letting `OpenAIChat`'s inherited
(wrapped) methods make the call would trade away our error mapping. So the four entry points are
decorated with `traced_model_call`, which, at every call, asks the instrumentor whether it is
active and then opens the span itself, with the instrumentor's own tracer: same tracer provider,
same `TraceConfig` (hidden inputs stay hidden), the span names and OpenInference attributes agno's
built-in models get, plus total tokens on every path and DeepInfra's cost. Asking at call time (not
at import) is what makes both import orders work, and `uninstrument()` stop the spans. Each attempt
of agno's retry loop is one call, so a failed attempt is its own error span (status, message, and
whether it is retried).

Never two spans for one call: if the instrumentor itself wrapped the method being called (a
future version that finds subclasses outside `agno.models`), it makes the span and we do not.

Embedder and reranker spans (EMBEDDING, RERANKER) go through the same tracer when the
instrumentor is active, else through the global tracer provider once one is set. agno's own
embedders and rerankers emit none.

Cost when tracing is off: OpenTelemetry is never imported here. When the instrumentor's module was
never imported it cannot be active, and one `sys.modules` lookup says so; the same holds for
`opentelemetry.trace` and the global provider. The key never reaches a span: invocation parameters
leave out headers and every credential `_shared.redact` finds, and every text put on a span (messages,
parameters, error messages) has the key's value replaced. OpenInference's switches
(`OPENINFERENCE_HIDE_INPUTS`, `OPENINFERENCE_HIDE_OUTPUTS`, ...) hold on every path: the
instrumentor's tracer applies its `TraceConfig`, and the global provider's tracer gets one too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar, cast

from agno.exceptions import AgnoError, ModelProviderError

from agno_deepinfra._shared.errors import is_retryable
from agno_deepinfra._shared.redact import REDACTED, redacted

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

# OpenInference semantic conventions (`openinference.semconv.trace`), spelt out so that nothing
# is imported when tracing is off; tests check every name against the installed conventions.
SPAN_KIND = "openinference.span.kind"
INPUT_VALUE = "input.value"
INPUT_MIME_TYPE = "input.mime_type"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME_TYPE = "output.mime_type"
LLM_MODEL_NAME = "llm.model_name"
LLM_PROVIDER = "llm.provider"
LLM_INVOCATION_PARAMETERS = "llm.invocation_parameters"
LLM_INPUT_MESSAGES = "llm.input_messages"
LLM_OUTPUT_MESSAGES = "llm.output_messages"
LLM_TOOLS = "llm.tools"
TOKENS_PROMPT = "llm.token_count.prompt"
TOKENS_COMPLETION = "llm.token_count.completion"
TOKENS_TOTAL = "llm.token_count.total"
TOKENS_CACHE_READ = "llm.token_count.prompt_details.cache_read"
TOKENS_REASONING = "llm.token_count.completion_details.reasoning"
COST_TOTAL = "llm.cost.total"
EMBEDDING_MODEL_NAME = "embedding.model_name"
EMBEDDING_INVOCATION_PARAMETERS = "embedding.invocation_parameters"
RERANKER_MODEL_NAME = "reranker.model_name"
RERANKER_QUERY = "reranker.query"
RERANKER_TOP_K = "reranker.top_k"
MESSAGE_ROLE = "message.role"
MESSAGE_CONTENT = "message.content"
MESSAGE_TOOL_CALL_ID = "message.tool_call_id"
MESSAGE_TOOL_CALLS = "message.tool_calls"
TOOL_CALL_ID = "tool_call.id"
TOOL_CALL_NAME = "tool_call.function.name"
TOOL_CALL_ARGUMENTS = "tool_call.function.arguments"
TOOL_JSON_SCHEMA = "tool.json_schema"
JSON = "application/json"
# Ours (no convention exists): how many texts or documents one request carried, and the failure.
EMBEDDING_TEXT_COUNT = "deepinfra.embedding.text_count"
RERANKER_DOCUMENT_COUNT = "deepinfra.reranker.document_count"
HTTP_STATUS = "http.response.status_code"  # OpenTelemetry's name
ERROR_TYPE = "error.type"  # OpenTelemetry's name
RETRYABLE = "deepinfra.retryable"
RETRY_EVENT = "deepinfra.retry"

_INSTRUMENTOR_MODULE = "openinference.instrumentation.agno"
# Request parameters never put on a span: headers (the rest goes through `_shared.redact`'s rule).
HIDDEN_PARAMS = ("extra_headers",)

F = TypeVar("F", bound=Callable[..., Any])


# ------------------------------------------------------------------------------------ tracers


def agno_tracer() -> Tracer | None:
    """The agno instrumentor's tracer while it is instrumenting, else None (checked on every call)."""
    module = sys.modules.get(_INSTRUMENTOR_MODULE)
    if module is None:  # never imported, so never instrumented: the common case costs one lookup
        return None
    instrumentor = _active_instrumentor(module)
    if instrumentor is None:
        return None
    tracer = getattr(instrumentor, "_tracer", None)  # its OITracer: its provider and TraceConfig
    return cast("Tracer", tracer) if tracer is not None else _global_tracer()


def _active_instrumentor(module: Any) -> Any:
    # BaseInstrumentor is a singleton: `AgnoInstrumentor._instance` is the one `setup_tracing`,
    # `AgentOS` and users instrument with. Read it without constructing one.
    instrumentor = getattr(getattr(module, "AgnoInstrumentor", None), "_instance", None)
    if instrumentor is None or not getattr(instrumentor, "is_instrumented_by_opentelemetry", False):
        return None
    return instrumentor


def instrumentor_wraps(model_type: type, entry: str) -> bool:
    """Whether the instrumentor wrapped the `entry` method this class resolves to (then it makes the span)."""
    instrumentor = _active_instrumentor(sys.modules.get(_INSTRUMENTOR_MODULE))
    wrapped_classes = getattr(instrumentor, "_original_model_call_methods", None) or {}
    owner = next((cls for cls in model_type.__mro__ if entry in vars(cls)), None)
    return owner in wrapped_classes


_cached_tracer: tuple[object, Tracer] | None = None


def _global_tracer() -> Tracer | None:
    """A tracer of the global provider once one is set; None while OpenTelemetry is absent or unset."""
    global _cached_tracer
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:  # never imported: no provider can have been set
        return None
    provider = trace.get_tracer_provider()
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None  # spans would go nowhere
    if _cached_tracer is None or _cached_tracer[0] is not provider:
        _cached_tracer = (provider, _masked(provider.get_tracer("agno_deepinfra")))
    return _cached_tracer[1]


def _masked(tracer: Tracer) -> Tracer:
    """The tracer behind OpenInference's `TraceConfig`, as the instrumentor's own tracer is.

    So `OPENINFERENCE_HIDE_INPUTS`, `OPENINFERENCE_HIDE_OUTPUTS` and the other switches
    OpenInference defines (read from the environment when the provider is first used) hold on
    this path too. Without `openinference-instrumentation` (not installed with the tracing
    extra) the tracer is used as it is.
    """
    try:
        from openinference.instrumentation import OITracer, TraceConfig
    except ImportError:  # pragma: no cover - the tracing extra installs it
        return tracer
    return cast("Tracer", OITracer(tracer, config=TraceConfig()))


def _knowledge_tracer() -> Tracer | None:
    return agno_tracer() or _global_tracer()


# --------------------------------------------------------------------------------- the spans


class Recorder:
    """One span of ours: attributes scrubbed of the key, the outcome recorded once, then ended."""

    def __init__(self, tracer: Tracer, name: str, attributes: dict[str, Any], secret: str | None) -> None:
        self.secret = secret
        self.span: Span = tracer.start_span(name, attributes=self._clean(attributes))
        self._token: object | None = None

    def set(self, attributes: Mapping[str, Any]) -> None:
        self.span.set_attributes(self._clean(attributes))

    def _clean(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        return {key: self.scrub(value) for key, value in attributes.items() if value is not None}

    def scrub(self, value: Any) -> Any:
        if self.secret and isinstance(value, str) and self.secret in value:
            return value.replace(self.secret, REDACTED)
        return value

    def attach(self) -> None:
        """Make the span current (children nest under it) until `end`.

        Only where the same thread or task ends it: never across a stream's yields, whose consumer
        may close the stream from another context (streams' spans are never made current).
        """
        from opentelemetry import context, trace

        self._token = context.attach(trace.set_span_in_context(self.span))

    def end(self, error: BaseException | None = None) -> None:
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        if self._token is not None:
            context.detach(cast(Any, self._token))
            self._token = None
        if error is None:
            self.span.set_status(Status(StatusCode.OK))
        elif isinstance(error, Exception):  # GeneratorExit and the like: the caller stopped, nothing failed
            self.set(error_attributes(error))
            message = self.scrub(f"{type(error).__name__}: {_message(error)}")
            self.span.add_event("exception", {"exception.type": type(error).__name__, "exception.message": message})
            self.span.set_status(Status(StatusCode.ERROR, message))
        self.span.end()


def error_attributes(error: Exception) -> dict[str, Any]:
    attributes: dict[str, Any] = {ERROR_TYPE: type(error).__name__}
    if isinstance(error, AgnoError):  # the plugin's failures: DeepInfra's status, and the retry verdict
        attributes[HTTP_STATUS] = getattr(error, "provider_status_code", None) or error.status_code
        # agno's loop and ours retry only `ModelProviderError`s (an authentication error is final)
        attributes[RETRYABLE] = isinstance(error, ModelProviderError) and is_retryable(error)
    return attributes


def _message(error: BaseException) -> str:
    return str(getattr(error, "message", None) or error)


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


# ------------------------------------------------------------------ embedder and reranker spans


class _Noop:
    """Stands in for a span when tracing is off: every method does nothing."""

    def __enter__(self) -> _Noop:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def response(self, body: Any) -> Any:
        return body


_NOOP = _Noop()
# The knowledge span in progress in this thread or task, for `note_retry`.
_current: ContextVar[_KnowledgeCall | None] = ContextVar("agno_deepinfra_knowledge_span", default=None)


class _KnowledgeCall(Recorder):
    """An EMBEDDING or RERANKER span around one request and its retries; current while it runs."""

    def __enter__(self) -> _KnowledgeCall:
        self.attach()
        self._previous = _current.set(self)
        return self

    def __exit__(self, exc_type: object, error: BaseException | None, tb: object) -> None:
        _current.reset(self._previous)
        self.end(error)

    def response(self, body: Any) -> Any:
        """Record a response body's tokens and cost on the span; the body passes through unchanged."""
        if isinstance(body, dict):
            self.set(_knowledge_usage(body))
        return body

    def retry(self, error: Exception, attempt: int, wait: float) -> None:
        event = {**error_attributes(error), "attempt": attempt, "wait_seconds": wait}
        event["exception.message"] = self.scrub(_message(error))
        self.span.add_event(RETRY_EVENT, event)


KnowledgeSpan = _KnowledgeCall | _Noop


def _knowledge_usage(body: dict[str, Any]) -> dict[str, Any]:
    """Tokens and cost (USD) from an OpenAI-shaped `usage` (embeddings) or DeepInfra's native body (rerank)."""
    usage = body.get("usage")
    if isinstance(usage, dict):
        prompt = usage.get("prompt_tokens")
        return {
            TOKENS_PROMPT: prompt,
            TOKENS_TOTAL: usage.get("total_tokens", prompt),
            COST_TOTAL: usage.get("estimated_cost"),
        }
    status = body.get("inference_status")
    status = status if isinstance(status, dict) else {}
    prompt = body.get("input_tokens", status.get("tokens_input"))
    return {TOKENS_PROMPT: prompt, TOKENS_TOTAL: prompt, COST_TOTAL: status.get("cost")}


def embedding_span(model_id: str, texts: int, payload: Mapping[str, Any], secret: str | None) -> KnowledgeSpan:
    """`with embedding_span(...) as span:` around one embeddings request; a no-op when tracing is off."""
    tracer = _knowledge_tracer()
    if tracer is None:
        return _NOOP
    params = redacted({key: value for key, value in payload.items() if key != "input"})
    attributes = {
        SPAN_KIND: "EMBEDDING",
        EMBEDDING_MODEL_NAME: model_id,
        EMBEDDING_INVOCATION_PARAMETERS: dumps(params),
        EMBEDDING_TEXT_COUNT: texts,
    }
    return _KnowledgeCall(tracer, "DeepInfraEmbedder.embed", attributes, secret)


def reranker_span(model_id: str, query: str, documents: int, top_k: int | None, secret: str | None) -> KnowledgeSpan:
    """`with reranker_span(...) as span:` around one rerank request; a no-op when tracing is off."""
    tracer = _knowledge_tracer()
    if tracer is None:
        return _NOOP
    attributes = {
        SPAN_KIND: "RERANKER",
        RERANKER_MODEL_NAME: model_id,
        RERANKER_QUERY: query,
        RERANKER_TOP_K: top_k,
        RERANKER_DOCUMENT_COUNT: documents,
    }
    return _KnowledgeCall(tracer, "DeepInfraReranker.rerank", attributes, secret)


def note_retry(error: Exception, attempt: int, wait: float) -> None:
    """Record a failed attempt that will be retried on the knowledge span in progress, if any."""
    call = _current.get()
    if call is not None:
        call.retry(error, attempt, wait)
