"""The chat model's OpenInference LLM span: one per model call, on every path, while agno's tracing is on.

agno's tracing (`setup_tracing`, `AgentOS(tracing=True)`) uses `openinference-instrumentation-agno`,
which wraps the model classes it finds under `agno.models` at instrument time; this class lives
outside, so `traced_model_call` makes the span itself unless the instrumentor wrapped the entry
point (see `_shared.tracing` for the tracers and the attribute names).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from agno_deepinfra._shared.redact import redacted
from agno_deepinfra._shared.tracing import (
    COST_TOTAL,
    HIDDEN_PARAMS,
    INPUT_MIME_TYPE,
    INPUT_VALUE,
    JSON,
    LLM_INPUT_MESSAGES,
    LLM_INVOCATION_PARAMETERS,
    LLM_MODEL_NAME,
    LLM_OUTPUT_MESSAGES,
    LLM_PROVIDER,
    LLM_TOOLS,
    MESSAGE_CONTENT,
    MESSAGE_ROLE,
    MESSAGE_TOOL_CALL_ID,
    MESSAGE_TOOL_CALLS,
    OUTPUT_MIME_TYPE,
    OUTPUT_VALUE,
    SPAN_KIND,
    TOKENS_CACHE_READ,
    TOKENS_COMPLETION,
    TOKENS_PROMPT,
    TOKENS_REASONING,
    TOKENS_TOTAL,
    TOOL_CALL_ARGUMENTS,
    TOOL_CALL_ID,
    TOOL_CALL_NAME,
    TOOL_JSON_SCHEMA,
    Recorder,
    agno_tracer,
    dumps,
    instrumentor_wraps,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

F = TypeVar("F", bound=Callable[..., Any])


# ------------------------------------------------------------------------ the chat model's span


def traced_model_call(method: F) -> F:
    """Give one of the model's four entry points an LLM span while agno's instrumentor is active.

    Off (the instrumentor never imported or not instrumenting), the call goes straight through:
    streams are returned as they are, so no chunk pays for a wrapper.
    """
    entry = method.__name__
    if inspect.iscoroutinefunction(method):

        @wraps(method)
        async def acall(model: Any, *args: Any, **kwargs: Any) -> Any:
            call = _open_model_span(model, entry, args, kwargs)
            if call is None:
                return await method(model, *args, **kwargs)
            call.attach()
            try:
                response = await method(model, *args, **kwargs)
            except BaseException as error:
                call.end(error)
                raise
            call.finish(response)
            return response

        return cast(F, acall)

    if inspect.isasyncgenfunction(method):

        @wraps(method)
        def astream(model: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            call = _open_model_span(model, entry, args, kwargs)
            stream = method(model, *args, **kwargs)
            return stream if call is None else call.astream(stream)

        return cast(F, astream)

    if inspect.isgeneratorfunction(method):

        @wraps(method)
        def stream(model: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            call = _open_model_span(model, entry, args, kwargs)
            chunks = method(model, *args, **kwargs)
            return chunks if call is None else call.stream(chunks)

        return cast(F, stream)

    @wraps(method)
    def invoke(model: Any, *args: Any, **kwargs: Any) -> Any:
        call = _open_model_span(model, entry, args, kwargs)
        if call is None:
            return method(model, *args, **kwargs)
        call.attach()
        try:
            response = method(model, *args, **kwargs)
        except BaseException as error:
            call.end(error)
            raise
        call.finish(response)
        return response

    return cast(F, invoke)


def _open_model_span(model: Any, entry: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _ModelCall | None:
    tracer = agno_tracer()
    if tracer is None or instrumentor_wraps(type(model), entry):
        return None
    from agno_deepinfra._shared.config import resolve_api_key

    messages = kwargs.get("messages", args[0] if args else None) or []
    tools = kwargs.get("tools", args[3] if len(args) > 3 else None) or []
    attributes = {
        SPAN_KIND: "LLM",
        LLM_MODEL_NAME: model.id,
        LLM_PROVIDER: model.provider,
        LLM_INVOCATION_PARAMETERS: _invocation_parameters(model),
        **_input_attributes(messages),
        **{f"{LLM_TOOLS}.{i}.{TOOL_JSON_SCHEMA}": dumps(tool) for i, tool in enumerate(tools)},
    }
    # Named as the instrumentor names the spans of agno's own models: "DeepInfra.invoke" and so on.
    return _ModelCall(model, tracer, f"{model.name}.{entry}", attributes, resolve_api_key(model.api_key))


class _ModelCall(Recorder):
    """An LLM span: the answer's content, tool calls, tokens and cost go on it at the end."""

    def __init__(self, model: Any, tracer: Tracer, name: str, attributes: dict[str, Any], secret: str | None) -> None:
        super().__init__(tracer, name, attributes, secret)
        self.model = model

    def finish(self, response: Any) -> None:
        usage = getattr(response, "response_usage", None)
        tool_calls = getattr(response, "tool_calls", None) or []
        self.set(_output_attributes(getattr(response, "content", None), tool_calls, usage))
        self.end()

    def stream(self, chunks: Iterator[Any]) -> Iterator[Any]:
        """The chunks, passed on as they come; the span ends with the stream."""
        seen = _StreamedAnswer()
        try:
            for chunk in chunks:
                seen.add(chunk)
                yield chunk
        except BaseException as error:
            self.end(error)
            raise
        self.set(seen.attributes(self.model))
        self.end()

    async def astream(self, chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Async twin of `stream`."""
        seen = _StreamedAnswer()
        try:
            async for chunk in chunks:
                seen.add(chunk)
                yield chunk
        except BaseException as error:
            self.end(error)
            raise
        self.set(seen.attributes(self.model))
        self.end()


class _StreamedAnswer:
    """What a stream delivered: its text, its tool-call deltas and its usage (the sum of its chunks')."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.tool_call_deltas: list[Any] = []
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        if isinstance(getattr(chunk, "content", None), str):
            self.content.append(chunk.content)
        self.tool_call_deltas.extend(getattr(chunk, "tool_calls", None) or [])
        usage = getattr(chunk, "response_usage", None)
        if usage is not None:  # each chunk's usage is its increment (see _usage.StreamUsage): they add up
            self.usage = usage if self.usage is None else self.usage + usage

    def attributes(self, model: Any) -> dict[str, Any]:
        tool_calls = model.parse_tool_calls(self.tool_call_deltas) if self.tool_call_deltas else []
        return _output_attributes("".join(self.content) or None, tool_calls, self.usage)


def _invocation_parameters(model: Any) -> str:
    """The request parameters as agno's instrumentor reads them, without headers or credentials.

    Credentials at any depth (`extra_query`, `extra_body`, `metadata`...) are hidden by the
    package's one rule (`_shared.redact`), which leaves counts such as `max_tokens` readable.
    """
    params = {key: value for key, value in model.get_request_params().items() if key not in HIDDEN_PARAMS}
    return dumps(redacted(params))


def _input_attributes(messages: list[Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {INPUT_MIME_TYPE: JSON}
    simple = []
    for index, message in enumerate(messages):
        prefix = f"{LLM_INPUT_MESSAGES}.{index}"
        content = message.get_content_string() if message.content is not None else None
        attributes[f"{prefix}.{MESSAGE_ROLE}"] = message.role
        attributes[f"{prefix}.{MESSAGE_CONTENT}"] = content
        attributes[f"{prefix}.{MESSAGE_TOOL_CALL_ID}"] = message.tool_call_id
        attributes.update(_tool_call_attributes(f"{prefix}.{MESSAGE_TOOL_CALLS}", message.tool_calls or []))
        simple.append({"role": message.role, "content": content})
    attributes[INPUT_VALUE] = dumps({"messages": simple})
    return attributes


def _output_attributes(content: str | None, tool_calls: list[dict[str, Any]], usage: Any) -> dict[str, Any]:
    prefix = f"{LLM_OUTPUT_MESSAGES}.0"
    attributes: dict[str, Any] = {
        OUTPUT_MIME_TYPE: JSON,
        OUTPUT_VALUE: dumps({"role": "assistant", "content": content, "tool_calls": tool_calls or None}),
        f"{prefix}.{MESSAGE_ROLE}": "assistant",
        f"{prefix}.{MESSAGE_CONTENT}": content,
        **_tool_call_attributes(f"{prefix}.{MESSAGE_TOOL_CALLS}", tool_calls),
    }
    if usage is not None:
        prompt, completion = getattr(usage, "input_tokens", 0) or 0, getattr(usage, "output_tokens", 0) or 0
        attributes[TOKENS_PROMPT] = prompt
        attributes[TOKENS_COMPLETION] = completion
        attributes[TOKENS_TOTAL] = getattr(usage, "total_tokens", 0) or prompt + completion
        attributes[TOKENS_CACHE_READ] = getattr(usage, "cache_read_tokens", 0) or None
        attributes[TOKENS_REASONING] = getattr(usage, "reasoning_tokens", 0) or None
        attributes[COST_TOTAL] = getattr(usage, "cost", None)
    return attributes


def _tool_call_attributes(prefix: str, tool_calls: list[Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for index, call in enumerate(tool_calls):
        call = call if isinstance(call, dict) else {}
        function = call.get("function") or {}
        arguments = function.get("arguments")
        attributes[f"{prefix}.{index}.{TOOL_CALL_ID}"] = call.get("id")
        attributes[f"{prefix}.{index}.{TOOL_CALL_NAME}"] = function.get("name")
        attributes[f"{prefix}.{index}.{TOOL_CALL_ARGUMENTS}"] = (
            arguments if isinstance(arguments, str) or arguments is None else dumps(arguments)
        )
    return attributes
