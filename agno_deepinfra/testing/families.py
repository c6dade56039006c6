"""Open-model family behaviours the emulator can put on: leaked tool calls, id styles, template rules.

Switched per model (`DeepInfraEmulator.add_model(..., quirks=(...))`) or per scripted reply
(`Reply(leak="hermes", tool_index="omit")`). Each quirk, with its source, is in WIRE.md ("Model
families"). Quirks that refuse a request answer with the body the engine or DeepInfra sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from itertools import pairwise
from typing import Any

from agno_deepinfra.testing.catalog import ModelEntry
from agno_deepinfra.testing.outcome import ApiError
from agno_deepinfra.testing.script import Reply, ToolCall

# Quirks a model may have (a `leak:`, `ids:` or `tool_index:` quirk takes a value after the colon).
QUIRKS = (
    "tools_unsupported",
    "json_object_unsupported",
    "json_schema_unsupported",
    "response_format_suppresses_tools",
    "system_first",
    "alternate",
    "mistral_ids",
    "require_reasoning",
    "require_reasoning:moonshot",
    "reject_reasoning",
    "reject_reasoning:<unsupported|extra>",
    "strict_history_args",
    "leak:<grammar>",
    "ids:<kimi|mistral>",
    "tool_index:<omit|zero>",
)
GRAMMARS = ("hermes", "qwen_xml", "llama_json", "kimi", "deepseek", "harmony", "minimax")
_MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")
# The 400 for an assistant tool-call message without its reasoning, by API (sources in WIRE.md).
_REASONING_REQUIRED = {
    "deepseek": "The `reasoning_content` in the thinking mode must be passed back to the API.",
    "moonshot": "thinking is enabled but reasoning_content is missing in assistant tool call message at index {at}",
}


def _error(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None) -> ApiError:
    return ApiError(status, {"error": {"message": message, "type": kind, "param": param, "code": None}})


def quirk_value(entry: ModelEntry, name: str) -> str | None:
    """The value of a `name:value` quirk of the model, if it has one."""
    for quirk in entry.quirks:
        if quirk.startswith(name + ":"):
            return quirk.split(":", 1)[1]
    return None


def check_request(body: dict[str, Any], entry: ModelEntry) -> None:
    """Refuse a request the model's quirks refuse (405 unsupported features, template 400s)."""
    quirks = entry.quirks
    if not quirks:
        return
    model = body["model"]
    if "tools_unsupported" in quirks and body.get("tools"):
        raise _error(405, f"Tool calling is not supported for model: {model}", param="tools")
    kind = (body.get("response_format") or {}).get("type")
    if kind in ("json_object", "json_schema") and f"{kind}_unsupported" in quirks:
        raise _error(405, f"deepinfra error: {kind} response format is not supported for model: {model}")
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    roles = [m.get("role") for m in messages]
    if "system_first" in quirks and "system" in roles[1:]:
        raise _error(400, "System message must be at the beginning.", kind="BadRequestError")
    if "alternate" in quirks:
        turns = [role for role in roles if role != "system"]
        if any(a == b == "user" or a == b == "assistant" for a, b in pairwise(turns)):
            raise _error(
                400, "Conversation roles must alternate user/assistant/user/assistant/...", kind="BadRequestError"
            )
    require = "deepseek" if "require_reasoning" in quirks else quirk_value(entry, "require_reasoning")
    reject = "r1" if "reject_reasoning" in quirks else quirk_value(entry, "reject_reasoning")
    for at, message in enumerate(messages):
        if message.get("role") == "assistant":
            _check_reasoning(message, at, require, reject)
            _check_assistant(message, quirks)


def _check_reasoning(message: dict[str, Any], at: int, require: str | None, reject: str | None) -> None:
    """Sent-back reasoning refused where the API takes none, required where thinking needs it back."""
    if reject is not None and "reasoning_content" in message:
        if reject == "extra":  # a FastAPI server whose message model forbids extra fields
            loc = ["body", "messages", at, "reasoning_content"]
            item = {"type": "extra_forbidden", "loc": loc, "msg": "Extra inputs are not permitted"}
            raise ApiError(422, {"detail": [{**item, "input": message["reasoning_content"]}]})
        if reject == "unsupported":  # Groq's wording (Cerebras: the same with a dotted path)
            text = f"'messages.{at}' : for 'role:assistant' the following must be satisfied"
            raise _error(400, f"{text}[('messages.{at}' : property 'reasoning_content' is unsupported)]")
        raise _error(400, "reasoning_content is not supported in input messages", kind="BadRequestError")
    if require is not None and message.get("tool_calls") and not message.get("reasoning_content"):
        raise _error(400, _REASONING_REQUIRED[require].format(at=at))


def _check_assistant(message: dict[str, Any], quirks: tuple[str, ...]) -> None:
    calls = message.get("tool_calls") or []
    for call in calls:
        call_id = str(call.get("id"))
        if "mistral_ids" in quirks and not _MISTRAL_ID.fullmatch(call_id):
            raise _error(
                400,
                f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9.",
                kind="BadRequestError",
            )
        arguments = (call.get("function") or {}).get("arguments")
        if "strict_history_args" in quirks and not _json_object(arguments):
            raise _error(400, "Expecting ',' delimiter: line 1 column 2 (char 1)", kind="BadRequestError")


def _json_object(text: Any) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (TypeError, ValueError):
        return False


def shape_reply(reply: Reply, body: dict[str, Any], entry: ModelEntry) -> Reply:
    """The reply as the model's quirks (or the reply's own `leak`) deliver it."""
    if not entry.quirks and reply.leak is None:
        return reply
    calls = reply.tool_calls
    if calls and "response_format_suppresses_tools" in entry.quirks and body.get("response_format"):
        return Reply(content=json.dumps({"answer": "no tool was called"}), usage=reply.usage)
    style = quirk_value(entry, "ids")
    if calls and style:
        calls = [replace(call, id=call.id or _styled_id(style, call.name, at)) for at, call in enumerate(calls)]
        reply = replace(reply, tool_calls=calls)
    grammar = reply.leak or quirk_value(entry, "leak")
    if not calls or grammar is None:
        return reply
    text = leaked_text(grammar, calls)
    content = f"{reply.content}\n{text}" if reply.content else text
    finish = "tool_calls" if grammar == "kimi" else "stop"  # Kimi on SGLang: `[]` with "tool_calls"
    return replace(reply, content=content, tool_calls=[], finish_reason=reply.finish_reason or finish, leak=None)


def _styled_id(style: str, name: str, at: int) -> str:
    return f"functions.{name}:{at}" if style == "kimi" else f"{abs(hash((name, at))) % 10**9:09d}"[:9]


def leaked_text(grammar: str, calls: list[ToolCall]) -> str:
    """The calls as the family's model writes them when the server's parser misses them."""
    rendered = [(call.name, _arguments(call)) for call in calls]
    if grammar == "hermes":
        return "\n".join(f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>" for n, a in rendered)
    if grammar == "qwen_xml":
        return "\n".join(
            f"<tool_call>\n<function={n}>\n"
            + "".join(f"<parameter={k}>\n{_plain(v)}\n</parameter>\n" for k, v in a.items())
            + "</function>\n</tool_call>"
            for n, a in rendered
        )
    if grammar == "llama_json":
        return "; ".join(json.dumps({"name": n, "parameters": a}) for n, a in rendered)
    if grammar == "kimi":
        inner = "".join(
            f"<|tool_call_begin|>functions.{n}:{i}<|tool_call_argument_begin|>{json.dumps(a)}<|tool_call_end|>"
            for i, (n, a) in enumerate(rendered)
        )
        return f"<|tool_calls_section_begin|>{inner}<|tool_calls_section_end|>"
    if grammar == "deepseek":
        inner = "".join(
            f"<\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>{n}\n```json\n"
            f"{json.dumps(a)}\n```<\uff5ctool\u2581call\u2581end\uff5c>"
            for n, a in rendered
        )
        return f"<\uff5ctool\u2581calls\u2581begin\uff5c>{inner}<\uff5ctool\u2581calls\u2581end\uff5c>"
    if grammar == "harmony":
        return "".join(
            f"<|channel|>commentary to=functions.{n} <|constrain|>json<|message|>{json.dumps(a)}<|call|>"
            for n, a in rendered
        )
    if grammar == "minimax":
        invokes = "".join(
            f'<invoke name="{n}">\n'
            + "".join(f'<parameter name="{k}">{_plain(v)}</parameter>\n' for k, v in a.items())
            + "</invoke>\n"
            for n, a in rendered
        )
        return f"<minimax:tool_call>\n{invokes}</minimax:tool_call>"
    raise ValueError(f"unknown tool-call grammar {grammar!r}; expected one of {', '.join(GRAMMARS)}")


def _arguments(call: ToolCall) -> dict[str, Any]:
    if isinstance(call.arguments, dict):
        return call.arguments
    try:
        value = json.loads(call.arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
