"""`POST /v1/openai/chat/completions`: validation, then a scripted or unscripted reply, JSON or SSE."""

from __future__ import annotations

from functools import partial
from typing import Any

from agno_deepinfra.testing.catalog import Catalog
from agno_deepinfra.testing.chat_wire import ChatCall, StreamUsage, completion_json, stream_response
from agno_deepinfra.testing.errors import validation_error
from agno_deepinfra.testing.families import check_request, shape_reply
from agno_deepinfra.testing.outcome import Action, ApiError, json_response, modify_plain
from agno_deepinfra.testing.prompt_cache import PromptCache
from agno_deepinfra.testing.responder import unscripted_reply
from agno_deepinfra.testing.script import Fault, Reply
from agno_deepinfra.testing.text import prompt_tokens
from agno_deepinfra.testing.validation import require_dict, require_fit, require_model, validate_chat, wants_usage_chunk


def prepare_chat(
    raw: Any, catalog: Catalog, stream_usage: StreamUsage = "deepinfra", cache: PromptCache | None = None
) -> partial[Action]:
    """Validate a chat request (422, 404, 400 context overflow) and return its renderer.

    `stream_usage` says where a stream carries `usage` (see `chat_wire.StreamUsage`); `cache` is
    the emulator's prompt cache (see `prompt_cache.py`).
    """
    body = require_dict(raw)
    errors = validate_chat(body)
    if errors:
        raise ApiError(422, validation_error(errors))
    entry = require_model(catalog, body["model"], "chat", "chat completions")
    check_request(body, entry)
    prompt = prompt_tokens(body["messages"])
    require_fit(entry, prompt, body.get("max_tokens") or body.get("max_completion_tokens") or 0)
    call = ChatCall(
        model=body["model"],
        entry=entry,
        prompt_tokens=prompt,
        stream=body.get("stream") is True,
        include_usage=wants_usage_chunk(body),
        service_tier=body.get("service_tier"),
        stream_usage=stream_usage,
        cached_tokens=cache.cached_tokens(body) if cache is not None else 0,
    )
    return partial(render_chat, call, body)


def render_chat(call: ChatCall, body: dict[str, Any], reply: Reply | None, modifier: Fault | None) -> Action:
    """The response to a validated chat request."""
    answer = shape_reply(reply or unscripted_reply(body, call.entry), body, call.entry)
    if call.stream:
        return stream_response(call, answer, modifier)
    if answer.body is not None:
        return modify_plain(json_response(200, answer.body), modifier)
    return modify_plain(json_response(200, completion_json(call, answer)), modifier)
