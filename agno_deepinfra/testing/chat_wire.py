"""Chat replies on the wire: the `chat.completion` JSON and the SSE chunk sequence."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from agno_deepinfra.testing.catalog import ModelEntry
from agno_deepinfra.testing.families import quirk_value
from agno_deepinfra.testing.outcome import DONE_EVENT, MALFORMED_EVENT, Stream, dumps
from agno_deepinfra.testing.prompt_cache import CACHED_INPUT_FACTOR
from agno_deepinfra.testing.script import Fault, Reply, ToolCall
from agno_deepinfra.testing.text import count_tokens, split_even, word_pieces

# Where a stream carries `usage` (see WIRE.md, "Usage in streams"):
# "deepinfra": on the chunk whose finish_reason is set, on every stream (DeepInfra's documented wire);
# "openai": in a separate `choices: []` chunk, only when `stream_options.include_usage` is set;
# "both": both of the above, so a client can be checked for counting one stream's usage twice.
StreamUsage = Literal["deepinfra", "openai", "both"]
STREAM_USAGE_STYLES: tuple[StreamUsage, ...] = ("deepinfra", "openai", "both")


@dataclass(frozen=True)
class ChatCall:
    """A validated chat request: what the renderers need from it."""

    model: str
    entry: ModelEntry
    prompt_tokens: int
    stream: bool
    include_usage: bool
    service_tier: str | None
    stream_usage: StreamUsage = "deepinfra"
    cached_tokens: int = 0  # prompt tokens served from the prompt cache (see prompt_cache.py)

    @property
    def usage_on_finish(self) -> bool:
        """Whether the finish chunk carries `usage` (DeepInfra's placement)."""
        return usage_on_finish(self.stream_usage)

    @property
    def usage_chunk(self) -> bool:
        """Whether a separate `choices: []` usage chunk follows the finish chunk (OpenAI's placement)."""
        return usage_chunk(self.stream_usage, self.include_usage)


def usage_on_finish(style: StreamUsage) -> bool:
    """Whether a stream's finish chunk carries `usage` under `style`."""
    return style != "openai"


def usage_chunk(style: StreamUsage, include_usage: bool) -> bool:
    """Whether a stream ends with a `choices: []` usage chunk under `style` and `stream_options.include_usage`."""
    return style != "deepinfra" and include_usage


def tool_call_json(call: ToolCall) -> dict[str, Any]:
    """A tool call as it appears in an assistant message."""
    arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, ensure_ascii=False)
    call_id = call.id or f"call_{uuid.uuid4().hex[:24]}"
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def usage_json(call: ChatCall, reply: Reply, tool_calls: list[dict[str, Any]]) -> dict[str, Any]:
    """`usage` with DeepInfra's `estimated_cost`; `Reply.usage` overrides the token counts."""
    completion = 0
    for text in (reply.content, reply.reasoning_content):
        completion += count_tokens(text) if text else 0
    for tool_call in tool_calls:
        completion += count_tokens(tool_call["function"]["name"] + tool_call["function"]["arguments"])
    override = reply.usage or {}
    prompt = int(override.get("prompt_tokens", call.prompt_tokens))
    completion = int(override.get("completion_tokens", completion))
    # A scripted usage is reported exactly as scripted: no cache hit is added to it.
    cached = 0 if override else min(call.cached_tokens, prompt)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(override.get("total_tokens", prompt + completion)),
        "estimated_cost": call.entry.cost(prompt, completion),
    }
    if cached:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
        saved = call.entry.cost(cached) * (1 - CACHED_INPUT_FACTOR)
        usage["estimated_cost"] = round(usage["estimated_cost"] - saved, 12)
    return usage


def finish_reason(reply: Reply) -> str:
    """The reply's finish reason: explicit, else "tool_calls" or "stop"."""
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def completion_json(call: ChatCall, reply: Reply) -> dict[str, Any]:
    """The non-streaming `chat.completion` body."""
    tool_calls = [tool_call_json(tool_call) for tool_call in reply.tool_calls or ()]
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "name": None, "tool_calls": None}
    if tool_calls or reply.tool_calls == []:  # `[]` as scripted: Kimi on SGLang sends it
        message["tool_calls"] = tool_calls
    if reply.reasoning_content is not None:
        message["reasoning_content"] = reply.reasoning_content
    body: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(reply), "logprobs": None}],
        "usage": usage_json(call, reply, tool_calls),
    }
    if call.service_tier is not None:
        body["service_tier"] = call.service_tier
    return body


class ChunkEnvelope:
    """Serialises chunks around a pre-built prefix, so each event costs one small `json.dumps`."""

    def __init__(self, call: ChatCall) -> None:
        tier = f',"service_tier":{json.dumps(call.service_tier)}' if call.service_tier else ""
        head = (
            f'data: {{"id":"chatcmpl-{uuid.uuid4().hex}","object":"chat.completion.chunk",'
            f'"created":{int(time.time())},"model":{json.dumps(call.model)}{tier}'
        )
        self._head = head.encode()
        self._delta_prefix = self._head + b',"choices":[{"index":0,"delta":'
        self._open_suffix = b',"logprobs":null,"finish_reason":null}]}\n\n'

    def event(self, delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None) -> bytes:
        """One `data: {...}` event carrying `delta` (and a finish reason, maybe with `usage`, on the last one)."""
        if finish is None:
            return self._delta_prefix + dumps(delta) + self._open_suffix
        tail = b"" if usage is None else b',"usage":' + dumps(usage)
        return (
            self._delta_prefix + dumps(delta) + b',"logprobs":null,"finish_reason":%s}]%s}\n\n' % (dumps(finish), tail)
        )

    def usage_event(self, usage: dict[str, Any]) -> bytes:
        """OpenAI's separate `choices: []` event with `usage` (see `ChatCall.usage_chunk`)."""
        return self._head + b',"choices":[],"usage":' + dumps(usage) + b"}\n\n"


def body_deltas(reply: Reply, tool_calls: list[dict[str, Any]], tool_index: str = "ok") -> list[dict[str, Any]]:
    """The content-carrying deltas, in order: reasoning, content, then tool calls (name first, arguments split).

    `tool_index` "omit" leaves `index` out of tool-call deltas, "zero" sends 0 for every call
    (engines that do so: WIRE.md, "Model families").
    """
    deltas: list[dict[str, Any]] = []
    if reply.reasoning_content:
        deltas.extend({"reasoning_content": piece} for piece in word_pieces(reply.reasoning_content))
    if reply.content:
        pieces = split_even(reply.content, reply.chunks) if reply.chunks else word_pieces(reply.content)
        deltas.extend({"content": piece} for piece in pieces)
    for position, tool_call in enumerate(tool_calls):
        function = tool_call["function"]
        index = {} if tool_index == "omit" else {"index": 0 if tool_index == "zero" else position}
        head = {**index, "id": tool_call["id"], "type": "function"}
        deltas.append({"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]})
        arguments = function["arguments"]
        pieces = split_even(arguments, max(2, len(arguments) // 24)) if len(arguments) >= 2 else [arguments, ""]
        deltas.extend({"tool_calls": [{**index, "function": {"arguments": piece}}]} for piece in pieces)
    return deltas


def stream_response(call: ChatCall, reply: Reply, modifier: Fault | None) -> Stream:
    """The SSE events of a reply, shaped by a stream fault (`drop_after`, `malformed_json`, `no_done`)."""
    envelope = ChunkEnvelope(call)
    role = {"role": "assistant", "content": ""}
    kind = modifier.kind if modifier else None
    if kind == "malformed_json":
        return Stream([envelope.event(role), MALFORMED_EVENT, DONE_EVENT])
    tool_calls = [tool_call_json(tool_call) for tool_call in reply.tool_calls or ()]
    index_style = reply.tool_index or quirk_value(call.entry, "tool_index") or "ok"
    deltas = body_deltas(reply, tool_calls, index_style)
    if kind == "drop_after" and modifier is not None:
        kept = deltas[: modifier.count]
        if kept:
            kept[0] = {"role": "assistant", **kept[0]}
        return Stream([envelope.event(delta) for delta in kept], abort=True)

    def events() -> Iterator[bytes]:
        # Serialised one at a time as they are sent: the first token leaves before the last is built.
        yield envelope.event(role)
        yield from (envelope.event(delta) for delta in deltas)
        usage = usage_json(call, reply, tool_calls)
        yield envelope.event({}, finish_reason(reply), usage if call.usage_on_finish else None)
        if call.usage_chunk:
            yield envelope.usage_event(usage)
        if kind != "no_done":
            yield DONE_EVENT

    return Stream(events())
