"""Batch mode for the chat model: a `chat.completions.create` request in, a `ChatCompletion` (or a replayed stream) out.

`DeepInfra._create` / `_acreate` hand their request here when `batch_api` is set. The body sent
in the batch is exactly the real-time body, minus the stream fields (a batch has no streams). A
streamed run gets the whole answer as one chunk, usage included, through the same parsing as a
real stream. The answer's `BATCH_DATA_KEY` field (its batch, and whether it is replayed from the
journal) reaches agno as `provider_data["model_extra"]`, so `RunOutput.model_provider_data`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Protocol

from openai import OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import ValidationError

from agno_deepinfra._shared.errors import unusable_response_error
from agno_deepinfra._shared.http_stack import new_sync_http_client
from agno_deepinfra._shared.retry import RetryPolicy
from agno_deepinfra.batch._collector import aresult, result, submit
from agno_deepinfra.batch._journal import VOLATILE_FIELDS
from agno_deepinfra.batch.options import BATCH_DATA_KEY, BatchOptions, Target, account_of

ENDPOINT = "/v1/chat/completions"


class BatchChatModel(Protocol):
    """What batch mode needs of `DeepInfra` (kept as a protocol so the batch wing sits beneath the chat wing)."""

    name: str
    base_url: Any
    retries: int
    delay_between_retries: float
    exponential_backoff: bool
    max_retry_delay: float
    retry_jitter: float

    def _get_client_params(self) -> dict[str, Any]: ...


def _target(model: BatchChatModel) -> Target:
    params = model._get_client_params()  # raises before any request when no key is set

    def client() -> OpenAI:
        return OpenAI(**params, http_client=new_sync_http_client(params["base_url"]))

    account = account_of(str(params["api_key"]))
    return Target(ENDPOINT, str(model.base_url), client, RetryPolicy.of(model), model.name, account)


def _completion(body: dict[str, Any], model: BatchChatModel) -> ChatCompletion:
    try:
        return ChatCompletion.model_validate(body)
    except ValidationError as exc:
        problem = (
            f"a batch result that is not a chat completion ({exc.error_count()} problems: {exc.errors()[0]['msg']})"
        )
        raise unusable_response_error(problem, model_id=str(body.get("model")), model_name=model.name) from exc


def _body(request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The batch line's body, and whether the caller asked for a stream."""
    # The wire-ready body travels whole in `extra_body` (see `DeepInfra._chat_request`), model included.
    body = {key: value for key, value in request["extra_body"].items() if key not in VOLATILE_FIELDS}
    return body, bool(request.get("stream"))


def create(model: BatchChatModel, options: BatchOptions, request: dict[str, Any]) -> Any:
    """The completion (or replayed stream) for `request`, once its batch is done; blocks."""
    body, stream = _body(request)
    completion = _completion(result(submit(options, _target(model), body)), model)
    return ReplayedStream(completion) if stream else completion


async def acreate(model: BatchChatModel, options: BatchOptions, request: dict[str, Any]) -> Any:
    """Async twin of `create`: the event loop keeps running while the batch runs."""
    body, stream = _body(request)
    completion = _completion(await aresult(submit(options, _target(model), body)), model)
    return ReplayedStream(completion) if stream else completion


def answer_chunk(completion: ChatCompletion) -> ChatCompletionChunk:
    """The whole answer as one stream chunk: content, reasoning, tool calls, finish reason and usage."""
    choice = completion.choices[0]
    message = choice.message
    delta: dict[str, Any] = {"role": "assistant", "content": message.content}
    reasoning = (message.model_extra or {}).get("reasoning_content")
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    if message.tool_calls:
        delta["tool_calls"] = [
            {"index": index, **call.model_dump(exclude_none=True)} for index, call in enumerate(message.tool_calls)
        ]
    chunk = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": choice.finish_reason}],
        "usage": completion.usage.model_dump() if completion.usage is not None else None,
    }
    marker = (completion.model_extra or {}).get(BATCH_DATA_KEY)
    if marker is not None:  # where the answer came from, as on the whole completion
        chunk[BATCH_DATA_KEY] = marker
    return ChatCompletionChunk.model_validate(chunk)


class ReplayedStream:
    """Stands in for the SDK's `Stream` / `AsyncStream` (both context managers and iterables)."""

    def __init__(self, completion: ChatCompletion) -> None:
        self.chunks = [answer_chunk(completion)] if completion.choices else []

    def __enter__(self) -> ReplayedStream:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    async def __aenter__(self) -> ReplayedStream:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return iter(self.chunks)

    async def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        for chunk in self.chunks:
            yield chunk
