"""`POST /v1/openai/completions`: the legacy OpenAI Completions API, JSON or SSE.

Shapes (sources in WIRE.md): the request is DeepInfra's `OpenAICompletionsIn` (`model`, `prompt`,
`max_tokens`, `temperature`, `top_p`, `n`, `stop`, `echo`, `stream`, `stream_options`, ...); the
answer is OpenAI's `text_completion` object with DeepInfra's `usage.estimated_cost`. A stream sends
`choices[0].text` pieces, then a chunk with `finish_reason` that carries `usage` (DeepInfra's
"Completions" page reads `event.usage` there), placed as the emulator's `stream_usage` says.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from agno_deepinfra.testing.catalog import Catalog, ModelEntry
from agno_deepinfra.testing.chat_wire import StreamUsage, usage_chunk, usage_on_finish
from agno_deepinfra.testing.errors import field_error, validation_error
from agno_deepinfra.testing.outcome import (
    DONE_EVENT,
    MALFORMED_EVENT,
    Action,
    ApiError,
    Stream,
    dumps,
    json_response,
    modify_plain,
)
from agno_deepinfra.testing.responder import unscripted_reply
from agno_deepinfra.testing.script import Fault, Reply
from agno_deepinfra.testing.text import count_tokens, split_even, word_pieces
from agno_deepinfra.testing.validation import (
    CHAT_RANGES,
    check_range,
    missing,
    require_dict,
    require_fit,
    require_model,
    wants_usage_chunk,
)

# `OpenAICompletionsIn` bounds beyond the chat ones.
_N_RANGE = ((1, True), (4, True))


@dataclass(frozen=True)
class CompletionCall:
    """A validated completions request: what the renderers need from it."""

    model: str
    entry: ModelEntry
    prompt: str
    prompt_tokens: int
    echo: bool
    stream: bool
    include_usage: bool
    stream_usage: StreamUsage


def prepare_completions(raw: Any, catalog: Catalog, stream_usage: StreamUsage = "deepinfra") -> partial[Action]:
    """Validate a completions request (422, 404, 400 wrong model kind or context overflow); return its renderer."""
    body = require_dict(raw)
    errors = _errors(body)
    if errors:
        raise ApiError(422, validation_error(errors))
    entry = require_model(catalog, body["model"], "chat", "completions")
    prompt = body["prompt"] if isinstance(body["prompt"], str) else body["prompt"][0]
    tokens = count_tokens(prompt)
    require_fit(entry, tokens, body.get("max_tokens") or 0)
    call = CompletionCall(
        model=body["model"],
        entry=entry,
        prompt=prompt,
        prompt_tokens=tokens,
        echo=body.get("echo") is True,
        stream=body.get("stream") is True,
        include_usage=wants_usage_chunk(body),
        stream_usage=stream_usage,
    )
    return partial(render_completion, call)


def _errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if not isinstance(body.get("model"), str):
        errors.append(missing("model", body))
    prompt = body.get("prompt")
    if prompt is None:
        errors.append(missing("prompt", body))
    elif not (
        isinstance(prompt, str) or (isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str))
    ):
        # DeepInfra: "input prompt - a single string is currently supported".
        errors.append(field_error(("prompt",), "Input should be a valid string", "string_type", prompt))
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens"):
        value = body.get(name)
        low, high = CHAT_RANGES[name]
        if value is not None and (error := check_range(name, value, low, high)):
            errors.append(error)
    if body.get("n") is not None and (error := check_range("n", body["n"], *_N_RANGE)):
        errors.append(error)
    return errors


def _single_string_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)


def render_completion(call: CompletionCall, reply: Reply | None, modifier: Fault | None) -> Action:
    """The response to a validated completions request."""
    answer = reply or Reply(content=_unscripted_text(call))
    if call.stream:
        return _stream(call, answer, modifier)
    if answer.body is not None:
        return modify_plain(json_response(200, answer.body), modifier)
    return modify_plain(json_response(200, completion_json(call, answer)), modifier)


def _unscripted_text(call: CompletionCall) -> str:
    # The chat responder's answer to the prompt as a user message (arithmetic, echo of the text).
    return unscripted_reply({"messages": [{"role": "user", "content": call.prompt}]}, call.entry).content or ""


def _text(call: CompletionCall, reply: Reply) -> str:
    return (call.prompt if call.echo else "") + (reply.content or "")


def usage_json(call: CompletionCall, reply: Reply) -> dict[str, Any]:
    """`usage` with DeepInfra's `estimated_cost`; `Reply.usage` overrides the token counts."""
    override = reply.usage or {}
    prompt = int(override.get("prompt_tokens", call.prompt_tokens))
    completion = int(override.get("completion_tokens", count_tokens(reply.content) if reply.content else 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(override.get("total_tokens", prompt + completion)),
        "estimated_cost": call.entry.cost(prompt, completion),
    }


def completion_json(call: CompletionCall, reply: Reply) -> dict[str, Any]:
    """The non-streaming `text_completion` body."""
    choice = {"index": 0, "text": _text(call, reply), "logprobs": None, "finish_reason": reply.finish_reason or "stop"}
    return {**_head(call), "choices": [choice], "usage": usage_json(call, reply)}


def _head(call: CompletionCall) -> dict[str, Any]:
    return {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": call.model,
    }


def _stream(call: CompletionCall, reply: Reply, modifier: Fault | None) -> Stream:
    """SSE `text_completion` chunks, shaped by a stream fault (`drop_after`, `malformed_json`, `no_done`)."""
    head = _head(call)
    text = _text(call, reply)
    pieces = split_even(text, reply.chunks) if reply.chunks else word_pieces(text)
    kind = modifier.kind if modifier else None
    if kind == "malformed_json":
        return Stream([_event(head, pieces[0]), MALFORMED_EVENT, DONE_EVENT])
    if kind == "drop_after" and modifier is not None:
        return Stream([_event(head, piece) for piece in pieces[: modifier.count]], abort=True)
    usage = usage_json(call, reply)
    on_finish, separate = usage_on_finish(call.stream_usage), usage_chunk(call.stream_usage, call.include_usage)

    def events() -> Iterator[bytes]:
        yield from (_event(head, piece) for piece in pieces if piece)
        yield _event(head, "", reply.finish_reason or "stop", usage if on_finish else None)
        if separate:
            yield b"data: " + dumps({**head, "choices": [], "usage": usage}) + b"\n\n"
        if kind != "no_done":
            yield DONE_EVENT

    return Stream(events())


def _event(head: dict[str, Any], text: str, finish: str | None = None, usage: dict[str, Any] | None = None) -> bytes:
    chunk: dict[str, Any] = {**head, "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}]}
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + dumps(chunk) + b"\n\n"
