"""Tool calls a server's parser missed, recovered from the text of the answer.

When DeepInfra's parser for a model's native tool-call syntax misses, the call arrives as text in
`content` (`tool_calls` null, or `[]` with `finish_reason: "tool_calls"`), and agno would hand the
markup to the user as the answer. Each grammar below reads one family's syntax (sources in
`testing/WIRE.md`, "Leaked tool calls"). A call is recovered only when it names a tool the request
offered, and only outside code fences, inline code, quotes and block quotes: a model that shows or
explains a call is not taken to make one.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from agno_deepinfra.chat.families.profiles import Markup

_decoder = json.JSONDecoder()
Call = dict[str, Any]  # {"id", "type": "function", "function": {"name", "arguments": <JSON text>}}
# A parser reads one call (or section) starting at `start`: (end, [(name, arguments, id)]) or None.
Parser = Callable[[str, int], tuple[int, list[tuple[str, Any, str | None]]] | None]

# Bounds on the work one reply can cause: the text read, and the start markers tried in it.
MAX_TEXT = 200_000
MAX_ATTEMPTS = 32
_QUOTES = "\"'`\u201c\u2018\u00ab"
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.M)
_INLINE_CODE = re.compile(r"`[^`\n]+`")


def _json_at(text: str, at: int) -> tuple[Any, int] | None:
    """The JSON value starting at or after whitespace from `at`, and where it ends."""
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    try:
        return _decoder.raw_decode(text, at)
    except ValueError:
        return None


def _value(raw: str) -> Any:
    """An XML-style parameter's value: JSON when it parses as JSON, else the text itself."""
    text = raw.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _arguments(raw: Any) -> Any:
    """Arguments given as an object, or as a string holding one."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _named_json(obj: Any, *keys: str) -> tuple[str, Any] | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    for key in keys:
        if key in obj:
            return obj["name"], _arguments(obj[key])
    return obj["name"], {}


def _hermes(text: str, start: int) -> tuple[int, list[tuple[str, Any, str | None]]] | None:
    found = _json_at(text, start + len("<tool_call>"))  # Qwen3-Coder's XML in the same wrapper fails here
    if found is None:
        return None
    call = _named_json(found[0], "arguments", "parameters")
    if call is None:
        return None
    close = re.compile(r"\s*</tool_call>").match(text, found[1])
    return (close.end() if close else found[1]), [(call[0], call[1], None)]


_XML_FUNCTION = re.compile(r"(?:<tool_call>\s*)?<function=([^>\s]+)>(.*?)</function>(?:\s*</tool_call>)?", re.S)
_XML_PARAMETER = re.compile(r"<parameter=([^>\s]+)>(.*?)</parameter>", re.S)


def _qwen_xml(text: str, start: int) -> tuple[int, list[tuple[str, Any, str | None]]] | None:
    match = _XML_FUNCTION.match(text, start)
    if match is None:
        return None
    arguments = {name: _value(value) for name, value in _XML_PARAMETER.findall(match.group(2))}
    return match.end(), [(match.group(1), arguments, None)]


def _llama_json(text: str, start: int) -> tuple[int, list[tuple[str, Any, str | None]]] | None:
    at = start + len("<|python_tag|>") if text.startswith("<|python_tag|>", start) else start
    calls: list[tuple[str, Any, str | None]] = []
    while (found := _json_at(text, at)) is not None:
        call = _named_json(found[0], "parameters", "arguments")
        if call is None or not ("parameters" in found[0] or "arguments" in found[0]):
            break
        calls.append((call[0], call[1], None))
        at = found[1]
        separator = re.compile(r"\s*;").match(text, at)  # Llama 3.2 separates parallel calls with ";"
        at = separator.end() if separator else at
    return (at, calls) if calls else None


_KIMI_CALL = re.compile(r"<\|tool_call_begin\|>\s*(functions\.([\w.\-]+):(\d+))\s*<\|tool_call_argument_begin\|>", re.S)


def _kimi(text: str, start: int) -> tuple[int, list[tuple[str, Any, str | None]]] | None:
    end_marker = text.find("<|tool_calls_section_end|>", start)
    stop = len(text) if end_marker == -1 else end_marker
    calls: list[tuple[str, Any, str | None]] = []
    at = start + len("<|tool_calls_section_begin|>")
    while (match := _KIMI_CALL.search(text, at, stop)) is not None:
        found = _json_at(text, match.end())
        if found is None:
            return None
        calls.append((match.group(2), found[0], match.group(1)))
        close = text.find("<|tool_call_end|>", found[1], stop)
        at = found[1] if close == -1 else close + len("<|tool_call_end|>")
    if not calls:
        return None
    return (stop if end_marker == -1 else end_marker + len("<|tool_calls_section_end|>")), calls


_DS_BEGIN, _DS_END = "<\uff5ctool\u2581calls\u2581begin\uff5c>", "<\uff5ctool\u2581calls\u2581end\uff5c>"
_DS_CALL = re.compile(
    "<\uff5ctool\u2581call\u2581begin\uff5c>(?:function)?(?:<\uff5ctool\u2581sep\uff5c>)?([\\w.\\-]+)"
    "(?:<\uff5ctool\u2581sep\uff5c>)?\\s*(?:```(?:json)?)?",
)
_DS_CALL_END = re.compile("\\s*(?:```)?\\s*<\uff5ctool\u2581call\u2581end\uff5c>")


def _deepseek(text: str, start: int) -> tuple[int, list[tuple[str, Any, str | None]]] | None:
    at = start + len(_DS_BEGIN) if text.startswith(_DS_BEGIN, start) else start
    calls: list[tuple[str, Any, str | None]] = []
    while (match := _DS_CALL.match(text, at)) is not None:
        found = _json_at(text, match.end())
        if found is None:
            return None
        calls.append((match.group(1), found[0], None))
        close = _DS_CALL_END.match(text, found[1])
        at = close.end() if close else found[1]
        at += len(text[at:]) - len(text[at:].lstrip())
    if not calls:
        return None
    return (at + len(_DS_END) if text.startswith(_DS_END, at) else at), calls


_HARMONY = re.compile(
    r"(?:<\|start\|>assistant)?(?:<\|channel\|>\s*commentary\s*)?to=functions\.([\w.\-]+)"
    r"[^<\n]*(?:<\|constrain\|>\s*\w+\s*)?<\|message\|>",
)


def _harmony(text: str, start: int) -> tuple[int, list[tuple[str, Any, str | None]]] | None:
    match = _HARMONY.match(text, start)
    if match is None:
        return None
    found = _json_at(text, match.end())
    if found is None:
        return None
    end = found[1]
    tail = re.compile(r"\s*<\|call\|>").match(text, end)
    return (tail.end() if tail else end), [(match.group(1), found[0], None)]


_MINIMAX = re.compile(r"<minimax:tool_call>(.*?)(?:</minimax:tool_call>|$)", re.S)
_INVOKE = re.compile(r"<invoke name=\"([^\"]+)\">(.*?)</invoke>", re.S)
_MINIMAX_PARAMETER = re.compile(r"<parameter name=\"([^\"]+)\">(.*?)</parameter>", re.S)


def _minimax(text: str, start: int) -> tuple[int, list[tuple[str, Any, str | None]]] | None:
    match = _MINIMAX.match(text, start)
    if match is None:
        return None
    calls: list[tuple[str, Any, str | None]] = [
        (name, {key: _value(value) for key, value in _MINIMAX_PARAMETER.findall(body)}, None)
        for name, body in _INVOKE.findall(match.group(1))
    ]
    return (match.end(), calls) if calls else None


# Each grammar: the markers that start it (also what a stream watches for), and its parser.
GRAMMARS: dict[Markup, tuple[tuple[str, ...], Parser]] = {
    "hermes": (("<tool_call>",), _hermes),
    "qwen_xml": (("<tool_call>", "<function="), _qwen_xml),
    "llama_json": (('{"name"', "<|python_tag|>"), _llama_json),
    "kimi": (("<|tool_calls_section_begin|>",), _kimi),
    "deepseek": ((_DS_BEGIN, "<\uff5ctool\u2581call\u2581begin\uff5c>"), _deepseek),
    "harmony": (("<|start|>assistant<|channel|>commentary", "<|channel|>commentary to=", "to=functions."), _harmony),
    "minimax": (("<minimax:tool_call>",), _minimax),
}


@lru_cache(maxsize=64)
def start_markers(grammars: tuple[Markup, ...]) -> tuple[str, ...]:
    """Every marker that may start a call of one of `grammars` (what a stream holds text back on)."""
    return tuple(dict.fromkeys(marker for grammar in grammars for marker in GRAMMARS[grammar][0]))


def _shown_spans(text: str) -> list[tuple[int, int]]:
    """Where the text shows code rather than acting: fenced blocks and inline code spans."""
    spans: list[tuple[int, int]] = []
    fences = [match.start() for match in _FENCE.finditer(text)]
    for opening, closing in zip(fences[::2], [*fences[1::2], len(text)], strict=False):
        spans.append((opening, closing + 3))
    spans.extend((match.start(), match.end()) for match in _INLINE_CODE.finditer(text))
    return spans


def is_shown(text: str, at: int, spans: list[tuple[int, int]]) -> bool:
    """Whether a marker at `at` is quoted or shown as code (so not a call the model makes)."""
    if any(begin <= at < end for begin, end in spans):
        return True
    line_start = text.rfind("\n", 0, at) + 1
    before = text[line_start:at].rstrip()
    if text[line_start:at].lstrip().startswith(">"):
        return True  # a Markdown block quote
    return bool(before) and before[-1] in _QUOTES


def _llama_start(text: str, at: int) -> bool:
    """Bare JSON is a call only at the start of a line (Llama 3 emits the call alone)."""
    return at == 0 or text[at - 1] == "\n" or text[:at].strip() == ""


def recover(text: str, grammars: tuple[Markup, ...], offered: frozenset[str]) -> tuple[str, list[Call]] | None:
    """The text without the recovered calls, and the calls; None when nothing was recovered.

    Markup naming a tool that was not offered, or that is quoted or shown as code, stays in the text.
    """
    if len(text) > MAX_TEXT:
        return None  # no model writes a call into this much text; a hostile server must not stall us
    spans: list[tuple[int, int]] | None = None
    found: list[tuple[int, int, list[tuple[str, Any, str | None]]]] = []
    attempts = 0
    for grammar in grammars:
        markers, parse = GRAMMARS[grammar]
        for marker in markers:
            at = text.find(marker)
            while at != -1:
                if any(begin <= at < end for begin, end, _ in found):
                    at = text.find(marker, at + 1)
                    continue
                attempts += 1
                if attempts > MAX_ATTEMPTS:
                    break  # each attempt may read to the end of the text: bounded, so never quadratic
                spans = _shown_spans(text) if spans is None else spans
                parsed = None
                if not is_shown(text, at, spans) and (grammar != "llama_json" or _llama_start(text, at)):
                    parsed = parse(text, at)
                if parsed is not None and parsed[1] and all(name in offered for name, _, _ in parsed[1]):
                    found.append((at, parsed[0], parsed[1]))
                    at = text.find(marker, parsed[0])
                else:
                    at = text.find(marker, at + 1)
    if not found:
        return None
    found.sort(key=lambda item: item[0])
    kept: list[str] = []
    calls: list[Call] = []
    position = 0
    for begin, end, made in found:
        if begin < position:
            continue
        kept.append(text[position:begin])
        position = end
        calls.extend(_call(name, arguments, call_id) for name, arguments, call_id in made)
    kept.append(text[position:])
    return "".join(kept).strip(), calls


def _call(name: str, arguments: Any, call_id: str | None) -> Call:
    if not isinstance(arguments, dict):
        arguments = {}
    return {
        "id": call_id or f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }


def json_arguments(arguments: Any) -> str:
    """Tool-call arguments as a JSON object's text (see `_json_arguments`).

    A tool loop sends the same history again on every call, so each short argument string is
    checked once: the answers are kept (up to `_CHECKED_LIMIT`, then the memory starts over).
    """
    if type(arguments) is not str:
        return _json_text(arguments)
    fixed = _checked.get(arguments)
    if fixed is None:
        fixed = _json_arguments(arguments)
        if len(arguments) <= _CACHED_LENGTH:
            if len(_checked) >= _CHECKED_LIMIT:
                _checked.clear()
            _checked[arguments] = fixed
    return fixed


_CACHED_LENGTH = 2048  # longer arguments are checked on every call, not kept
_CHECKED_LIMIT = 4096
_checked: dict[str, str] = {}


def _json_text(arguments: Any) -> str:
    return json.dumps(arguments if isinstance(arguments, dict) else {}, ensure_ascii=False)


def _json_arguments(arguments: str) -> str:
    """Tool-call arguments as a JSON object's text: as given when valid, a Python literal converted,
    anything else `"{}"` (agno already told the model in the tool result what went wrong)."""
    try:
        if isinstance(json.loads(arguments), dict):
            return arguments
    except ValueError:
        pass
    try:
        value = ast.literal_eval(arguments)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return "{}"
    if not isinstance(value, dict):
        return "{}"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return "{}"
