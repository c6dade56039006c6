"""Open models just work: what each model family needs, applied to requests, replies and streams.

`profiles` holds `ModelProfile` and the family table (data); `_markup` the tool-call grammars,
`_outgoing` the request rewrites, `_stream` the stream repairs, `_passback` the reasoning verdict
learned from a 400. `DeepInfra` calls the functions
below through thin hooks; every quirk is a profile field, not a branch in the model class.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import openai
from agno.models.response import ModelResponse
from agno.utils.prompts import get_json_output_prompt

from agno_deepinfra._shared.config import logger
from agno_deepinfra._shared.error_text import error_text
from agno_deepinfra._shared.errors import DeepInfraError
from agno_deepinfra.chat.families._markup import recover, start_markers
from agno_deepinfra.chat.families._outgoing import format_messages
from agno_deepinfra.chat.families._passback import after_reasoning_refusal
from agno_deepinfra.chat.families._stream import MarkupHold, ToolIndexer
from agno_deepinfra.chat.families.profiles import ModelProfile, learn, learned, profile_for, resolve, with_lessons

__all__ = [
    "ModelProfile",
    "StreamFixes",
    "after_405",
    "after_reasoning_refusal",
    "format_messages",
    "offered_names",
    "profile_of",
    "repair_response",
    "shape_request",
]


@lru_cache(maxsize=512)
def _cached_profile(model_id: str, tags: tuple[str, ...] | None) -> ModelProfile:
    return profile_for(model_id, tags)


def profile_of(
    model_id: str,
    override: ModelProfile | str | dict[str, Any] | None,
    tags: tuple[str, ...] | None,
    base_url: str = "",
) -> ModelProfile:
    """The model's profile: the user's override, else its id's family refined by cached catalog tags;
    then the server's reasoning verdict for `base_url`, when a 400 taught one (see `_passback`)."""
    profile = _cached_profile(model_id, tags) if override is None else resolve(model_id, override)
    return with_lessons(profile, base_url, model_id)


def offered_names(body: dict[str, Any]) -> frozenset[str]:
    """The names of the tools a request offers."""
    return frozenset(
        str(tool["function"].get("name"))
        for tool in body.get("tools") or ()
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    )


# ------------------------------------------------------------------------------------ requests


def tools_unsupported_error(model_id: str, model_name: str, detail: str) -> DeepInfraError:
    """The error for tools on a model that cannot call them: not retried, and says what to do."""
    error = DeepInfraError(
        message=(
            f"DeepInfra model '{model_id}' does not support tool calling: run this agent without tools, "
            "or pick a model tagged 'tools' in agno_deepinfra.list_models() (DeepInfra: "
            f"{detail[:120]})"
        ),
        status_code=405,
        model_name=model_name,
        model_id=model_id,
    )
    error.retryable, error.detail = False, detail
    return error


_RUNGS: tuple[str, ...] = ("json_schema", "json_object", "prompt")


def shape_request(body: dict[str, Any], profile: ModelProfile, base_url: str, model_name: str) -> None:
    """Fit a request body to what the model is known to support (in place; the body is the request's own).

    Tools on a model without tool calling fail at once, with no request. A `response_format` the
    model refused before steps down the structured-output ladder, adding agno's JSON prompt.
    """
    missing = learned(base_url, str(body["model"]))
    if body.get("tools") and (not profile.supports_tools or "tools" in missing):
        raise tools_unsupported_error(str(body["model"]), model_name, "learned from an earlier 405 in this process")
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")  # what agno chose; an explicit choice is a rung too
        ladder = [
            rung for rung in _RUNGS if (rung in profile.structured_output or rung == kind) and rung not in missing
        ]
        if body.get("tools") and not profile.response_format_with_tools:
            ladder = ["prompt"]
        _step_down(body, response_format, ladder)


def _step_down(body: dict[str, Any], response_format: dict[str, Any], ladder: list[str]) -> None:
    kind = response_format.get("type")
    if kind in ladder or kind not in ("json_schema", "json_object"):
        return
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        _add_json_prompt(body, spec.get("schema") or {})
    if "json_object" in ladder and kind == "json_schema":
        body["response_format"] = {"type": "json_object"}
    else:
        del body["response_format"]


def _add_json_prompt(body: dict[str, Any], schema: dict[str, Any]) -> None:
    """agno's JSON prompt, which agno leaves out when it sends a `json_schema`, on the system message."""
    prompt = get_json_output_prompt(schema)
    messages = list(body["messages"])
    if messages and messages[0].get("role") == "system" and isinstance(messages[0].get("content"), str):
        messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n{prompt}"}
    else:
        messages.insert(0, {"role": "system", "content": prompt})
    body["messages"] = messages


def after_405(
    error: openai.APIStatusError, request: dict[str, Any], profile: ModelProfile, base_url: str, model_name: str
) -> dict[str, Any] | None:
    """After a 405: learn what the model lacks; the request to send instead, or None to fail.

    A refused response format is sent once more a rung down (no agno retry is used up); tools
    on a model without tool calling become `tools_unsupported_error`, raised here.
    """
    if error.status_code != 405:
        return None
    body = request["extra_body"]
    model_id = str(body["model"])
    text = error_text(error.response)
    lowered = text.lower()
    if _param(error) == "tools" or "tool calling is not supported" in lowered:
        learn(base_url, model_id, "tools")
        raise tools_unsupported_error(model_id, model_name, text) from error
    kind = (body.get("response_format") or {}).get("type")
    if ("response format" not in lowered and "response_format" not in lowered) or kind not in (
        "json_schema",
        "json_object",
    ):
        return None
    learn(base_url, model_id, kind)
    logger.warning("DeepInfra model %r refused response_format %r; using the next rung of its ladder", model_id, kind)
    retried = {**body}
    shape_request(retried, profile, base_url, model_name)
    return {**request, "extra_body": retried}


def _param(error: openai.APIStatusError) -> Any:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        return inner.get("param") if isinstance(inner, dict) else None
    return None


def thinking_disabled(body: dict[str, Any]) -> bool:
    """Whether the request switches thinking off (then a template that opens `<think>` does not)."""
    template = body.get("chat_template_kwargs")
    reasoning = body.get("reasoning")
    return (
        (isinstance(template, dict) and (template.get("enable_thinking") is False or template.get("thinking") is False))
        or (isinstance(reasoning, dict) and reasoning.get("enabled") is False)
        or body.get("reasoning_effort") == "none"
    )


# ------------------------------------------------------------------------------------- replies


def repair_response(
    response: ModelResponse, finish_reason: str | None, profile: ModelProfile, body: dict[str, Any], model_id: str
) -> ModelResponse:
    """A whole reply: tool calls leaked into the text recovered; a cut-short answer warned about."""
    content = response.content
    if profile.tool_markup and not response.tool_calls and isinstance(content, str) and "tools" in body:
        marked = any(marker in content for marker in start_markers(profile.tool_markup))  # cheap first look
        found = recover(content, profile.tool_markup, offered_names(body)) if marked else None
        if found is not None:
            response.content, response.tool_calls = found[0] or None, found[1]
    if finish_reason == "length":
        warn_truncated(model_id)
    return response


def warn_truncated(model_id: str) -> None:
    logger.warning(
        "DeepInfra model %r stopped at max_tokens (finish_reason 'length'): the answer is cut short; "
        "raise max_tokens (thinking models can spend it all on reasoning)",
        model_id,
    )


class StreamFixes:
    """A stream's family repairs: tool-call indexes, leaked tool calls held back and recovered.

    `holding` says whether plain content chunks need `response` at all: only when leaked tool
    calls may be in the text (tools offered, a family grammar); other chunks skip it.
    """

    def __init__(self, profile: ModelProfile, offered: frozenset[str], model_id: str) -> None:
        self.model_id = model_id
        self.indexer = ToolIndexer()
        self.hold = MarkupHold(profile.tool_markup, offered) if offered and profile.tool_markup else None
        self.holding = self.hold is not None
        self.saw_tool_calls = False

    def response(self, response: ModelResponse, finish_reason: str | None) -> ModelResponse:
        """After agno parsed a chunk, before agno collects it: each tool call its own index; text
        held from a start marker; at the end, leaked calls recovered; a cut-short end warned about."""
        if response.tool_calls:  # the chunk's own delta objects: agno merges them by index later
            self.saw_tool_calls = True
            self.indexer.fix(response.tool_calls)
        if self.hold is not None:
            if isinstance(response.content, str):
                response.content = self.hold.feed(response.content) or None
            if finish_reason is not None:
                text, calls = self.hold.finish(self.saw_tool_calls)
                if text:
                    response.content = (response.content or "") + text
                if calls:
                    response.tool_calls = [*(response.tool_calls or []), *calls]  # type: ignore[list-item]  # agno's stream type
        if finish_reason == "length":
            warn_truncated(self.model_id)
        return response
