"""The outgoing request, shaped to the model's family; agno's stored messages are never touched.

agno formats its `Message` objects into dicts for every request; everything here rewrites those
dicts (new ones where something changes), so the session agno saves keeps what the model said.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from agno.models.message import Message
from agno.utils.message import normalize_tool_messages

from agno_deepinfra.chat.families._markup import json_arguments
from agno_deepinfra.chat.families.profiles import ModelProfile, ToolCallIds

_KIMI_ID = re.compile(r"functions\.[\w.\-]+:\d+")
Formatted = dict[str, Any]


def wire_messages(messages: list[Message], formatted: list[Formatted], profile: ModelProfile) -> list[Formatted]:
    """`formatted` (agno's dicts for `messages`, in order) rewritten for the family.

    - tool-call ids in the family's form (`ModelProfile.tool_call_ids`), the same in assistant and
      tool messages; the server's own ids otherwise, as it sent them;
    - tool-call arguments as valid JSON objects (a Python literal converted, anything else `{}`);
    - the model's reasoning sent back on assistant tool-call messages where the family wants it;
    - one leading system message, and no two user messages in a row, where the template says so.
    """
    ids = _id_map(messages, profile.tool_call_ids)
    passback = profile.reasoning_passback == "tool_turns"
    for message, wire in zip(messages, formatted, strict=True):
        calls = wire.get("tool_calls")
        if calls:
            wire["tool_calls"] = [_wire_call(call, ids) for call in calls]
            if passback and message.reasoning_content:
                wire[profile.reasoning_field] = message.reasoning_content
        elif ids and wire.get("role") == "tool" and wire.get("tool_call_id") in ids:
            wire["tool_call_id"] = ids[wire["tool_call_id"]]
    if profile.single_leading_system:
        formatted = _one_leading_system(formatted)
    if profile.strict_alternation:
        formatted = _merge_consecutive_users(formatted)
    return formatted


def format_messages(
    model: Any, messages: list[Message], compress_tool_results: bool, profile: ModelProfile
) -> list[Formatted]:
    """agno's formatting of `messages` (without its tool-call id rewrite), then `wire_messages`."""
    messages = normalize_tool_messages(messages)
    formatted = [model._format_message(message, compress_tool_results) for message in messages]
    return wire_messages(messages, formatted, profile)


def _wire_call(call: Any, ids: dict[str, str]) -> Any:
    try:
        function = call["function"]
        arguments = function["arguments"]
    except (TypeError, KeyError):
        return call
    fixed = json_arguments(arguments)
    new_id = ids.get(call.get("id")) if ids else None
    if new_id is None and (fixed is arguments or fixed == arguments):
        return call  # nothing to change: the stored dict travels as it is
    return {**call, "id": new_id or call.get("id"), "function": {**function, "arguments": fixed}}


def _id_map(messages: list[Message], policy: ToolCallIds) -> dict[str, str]:
    """Old id -> the id to send, for every tool call whose id does not fit the family's form."""
    if policy == "server":
        return {}
    ids: dict[str, str] = {}
    position = 0
    for message in messages:
        if message.role != "assistant" or not message.tool_calls:
            continue
        for call in message.tool_calls:
            old = call.get("id")
            name = (call.get("function") or {}).get("name", "tool")
            if isinstance(old, str) and old not in ids:
                new = _mistral_id(old) if policy == "mistral" else _kimi_id(old, name, position)
                if new != old:
                    ids[old] = new
            position += 1
    return ids


@lru_cache(maxsize=4096)
def _mistral_id(old: str) -> str:
    """9 letters and digits; derived from the old id, so every request sends the same one."""
    if len(old) == 9 and old.isascii() and old.isalnum():
        return old
    return hashlib.sha1(old.encode()).hexdigest()[:9]


def _kimi_id(old: str, name: str, position: int) -> str:
    return old if _KIMI_ID.fullmatch(old) else f"functions.{name}:{position}"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _one_leading_system(formatted: list[Formatted]) -> list[Formatted]:
    systems = [wire for wire in formatted if wire.get("role") == "system"]
    if not systems or (len(systems) == 1 and formatted[0] is systems[0]):
        return formatted
    merged = {"role": "system", "content": "\n\n".join(_text(wire.get("content")) for wire in systems)}
    return [merged, *(wire for wire in formatted if wire.get("role") != "system")]


def _merge_consecutive_users(formatted: list[Formatted]) -> list[Formatted]:
    merged: list[Formatted] = []
    for wire in formatted:
        previous = merged[-1] if merged else None
        if previous is not None and wire.get("role") == "user" and previous.get("role") == "user":
            merged[-1] = {**previous, "content": _joined(previous.get("content"), wire.get("content"))}
        else:
            merged.append(wire)
    return merged


def _joined(first: Any, second: Any) -> Any:
    if isinstance(first, str) and isinstance(second, str):
        return f"{first}\n\n{second}"
    parts: list[Any] = []
    for content in (first, second):
        parts.extend(content if isinstance(content, list) else [{"type": "text", "text": _text(content)}])
    return parts
