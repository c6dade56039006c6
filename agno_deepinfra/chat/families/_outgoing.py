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

    This runs for every request of a tool loop: one pass, and new dicts or lists only where
    something changes.
    """
    ids = None if profile.tool_call_ids == "server" else _Ids(profile.tool_call_ids)
    passback = profile.reasoning_passback == "tool_turns"
    for message, wire in zip(messages, formatted, strict=True):
        calls = wire.get("tool_calls")
        if calls:
            wire["tool_calls"] = [_wire_call(call, ids.assign(call) if ids else None) for call in calls]
            if passback and message.reasoning_content:
                wire[profile.reasoning_field] = message.reasoning_content
        elif ids and wire.get("role") == "tool":
            wire["tool_call_id"] = ids.known(wire.get("tool_call_id"))
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


def _wire_call(call: Any, new_id: str | None) -> Any:
    try:
        function = call["function"]
        arguments = function["arguments"]
    except (TypeError, KeyError):
        return call
    fixed = json_arguments(arguments)
    if new_id is None and (fixed is arguments or fixed == arguments):
        return call  # nothing to change: the stored dict travels as it is
    return {**call, "id": new_id or call.get("id"), "function": {**function, "arguments": fixed}}


class _Ids:
    """Tool-call ids in the family's form, assigned in order as the assistant messages come."""

    def __init__(self, policy: ToolCallIds) -> None:
        self.policy = policy
        self.ids: dict[str, str] = {}
        self.position = 0

    def assign(self, call: Any) -> str | None:
        """The id to send for an assistant message's tool call, or None to keep its own."""
        old = call.get("id") if isinstance(call, dict) else None
        self.position += 1
        if not isinstance(old, str):
            return None
        new = self.ids.get(old)
        if new is None:
            if self.policy == "mistral":
                new = _mistral_id(old)
            else:
                new = _kimi_id(old, (call.get("function") or {}).get("name", "tool"), self.position - 1)
            self.ids[old] = new
        return None if new == old else new

    def known(self, old: Any) -> Any:
        """A tool message's `tool_call_id`: the id its call was sent with."""
        return self.ids.get(old, old) if isinstance(old, str) else old


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
    previous = None
    for wire in formatted:
        role = wire.get("role")
        if role == previous == "user":
            break
        previous = role
    else:
        return formatted  # the common case: nothing to merge, no new list
    merged: list[Formatted] = []
    for wire in formatted:
        last = merged[-1] if merged else None
        if last is not None and wire.get("role") == "user" and last.get("role") == "user":
            merged[-1] = {**last, "content": _joined(last.get("content"), wire.get("content"))}
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
