"""Deterministic unscripted chat answers: plain replies, tool calls, tool-result summaries and JSON mode.

The goal is that agents and cookbook recipes behave sensibly offline. When the request offers tools
and its last message is the user's, the emulator calls tools by this rule, first match wins:

1. `tool_choice` "none": no tool. `tool_choice` naming a function: that function.
2. The tools whose name the user's message mentions (a word of the name, `get_weather` -> "weather";
   words like "get" or "tool" do not count), all of them, in the order offered.
3. Failing that, the tools whose description shares a word of 4+ letters with the message.
4. Failing that, agno's knowledge search, `search_knowledge_base`, when it is offered
   (`Agent(knowledge=..., search_knowledge=True)`): an agent with knowledge searches on every question.
5. Failing that, with `tool_choice` "required": the first tool. Otherwise no tool: a plain answer.

Arguments are filled from the tool's JSON schema and the user's message (see schema_fill.py): a
string `query`, for one, gets the message itself. When the conversation ends with tool results, the answer
reports each result ("The get_weather tool returned: ...") and calls no tool (so agents never loop).
JSON mode yields an object valid for the schema agno put in the prompt. Script anything else with
`DeepInfraEmulator.queue(Reply(tool_calls=[ToolCall(...)]))`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agno_deepinfra.testing.catalog import ModelEntry
from agno_deepinfra.testing.schema_fill import Hints, SchemaFiller
from agno_deepinfra.testing.script import Reply, ToolCall
from agno_deepinfra.testing.text import content_text, stem, word_set, words

_ARITHMETIC = re.compile(r"(-?\d+(?:\.\d+)?)(\s*[+*/\u00d7\u00f7]\s*|\s+-\s+)(-?\d+(?:\.\d+)?)")
_PROPERTIES_BLOCK = re.compile(r"<json_field_properties>\s*(.*?)\s*</json_field_properties>", re.S)
_FIELDS_BLOCK = re.compile(r"<json_fields>\s*(.*?)\s*</json_fields>", re.S)
# agno's knowledge search tool (`Agent(search_knowledge=True)`): called whenever offered and nothing else matched.
KNOWLEDGE_SEARCH_TOOL = "search_knowledge_base"
# Words in tool names that say nothing about what the tool is for.
_GENERIC = word_set(
    "get set do run call use tool tools func function make the a an to of for and or by with from in on "
    "is it this that your you can will be"
)


def unscripted_reply(body: dict[str, Any], entry: ModelEntry) -> Reply:
    """The emulator's own answer to a chat request that nothing scripted."""
    messages = [message for message in body["messages"] if isinstance(message, dict)]
    user_text, images = _last_user(messages)
    hints = Hints.from_text(user_text)
    results = _trailing_tool_results(messages)
    if results:
        text = " ".join(results)
    else:
        calls = _tool_calls(body, hints) if messages and messages[-1].get("role") == "user" else []
        if calls:
            return Reply(tool_calls=calls, reasoning_content=_reasoning(body, entry, user_text, "field"))
        text = _plain_answer(user_text, images)
    json_mode, schema = _json_request(body, messages)
    content = json.dumps(_json_answer(schema, hints, text), ensure_ascii=False) if json_mode else text
    if not json_mode and _reasoning(body, entry, user_text, "think_tags"):
        content = f"<think>\n{_reasoning_text(user_text)}\n</think>\n\n{content}"
    if not json_mode and _reasoning(body, entry, user_text, "think_open"):  # the template opened <think>
        content = f"{_reasoning_text(user_text)}\n</think>\n\n{content}"
    return Reply(content=content, reasoning_content=_reasoning(body, entry, user_text, "field"))


def _last_user(messages: list[dict[str, Any]]) -> tuple[str, int]:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return "", 0


def _trailing_tool_results(messages: list[dict[str, Any]]) -> list[str]:
    """One sentence per tool result at the end of the conversation, each quoting the result verbatim."""
    tail: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        tail.append(message)
    if not tail:
        return []
    names = _tool_names_by_id(messages[: len(messages) - len(tail)])
    sentences = []
    for message in reversed(tail):
        name = message.get("name") or names.get(str(message.get("tool_call_id")), "tool")
        result = content_text(message.get("content"))[0].strip()
        end = "" if result.endswith((".", "!", "?")) else "."
        sentences.append(f"The {name} tool returned: {result}{end}")
    return sentences


def _tool_names_by_id(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Tool names by call id, from the assistant message that made the calls."""
    for message in reversed(messages):
        calls = message.get("tool_calls")
        if message.get("role") == "assistant" and isinstance(calls, list):
            functions = [(c.get("id"), c.get("function")) for c in calls if isinstance(c, dict)]
            return {str(i): str(f.get("name", "tool")) for i, f in functions if isinstance(f, dict)}
    return {}


def _tool_calls(body: dict[str, Any], hints: Hints) -> list[ToolCall]:
    """The tool calls the module docstring's rule picks for this request (none: an empty list)."""
    tools = [
        t["function"] for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return []
    if isinstance(choice, dict):
        function = choice.get("function")
        wanted = function.get("name") if isinstance(function, dict) else None
        chosen = [tool for tool in tools if tool.get("name") == wanted]
    else:
        chosen = _matching_tools(tools, hints.text)
        if not chosen:
            chosen = [tool for tool in tools if tool.get("name") == KNOWLEDGE_SEARCH_TOOL]
        if not chosen and choice == "required":
            chosen = tools[:1]
    return [_call(tool, hints) for tool in chosen]


def _matching_tools(tools: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Tools whose name words appear in the text; failing that, tools whose description words do."""
    said = {stem(word) for word in words(text)}
    by_name = [tool for tool in tools if _name_words(str(tool.get("name", ""))) & said]
    if by_name:
        return by_name
    return [tool for tool in tools if _description_words(str(tool.get("description") or "")) & said]


def _name_words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ").replace(".", " ")
    return {stem(word) for word in words(spaced) if word not in _GENERIC}


def _description_words(description: str) -> set[str]:
    return {stem(word) for word in words(description) if len(word) >= 4 and word not in _GENERIC}


def _call(tool: dict[str, Any], hints: Hints) -> ToolCall:
    parameters = tool.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    defs = parameters.get("$defs") or parameters.get("definitions") or {}
    arguments = SchemaFiller(hints, defs, all_properties=False).value(parameters)
    return ToolCall(str(tool.get("name", "tool")), arguments if isinstance(arguments, dict) else {})


def _plain_answer(user_text: str, images: int) -> str:
    snippet = " ".join(user_text.split())
    if not snippet and not images:
        return "Hello! This is a deterministic reply from the DeepInfra emulator."
    if len(snippet) > 120:
        snippet = snippet[:117] + "..."
    parts = []
    answer = _arithmetic(user_text)
    if answer is not None:
        parts.append(f"The answer is {answer}.")
    parts.append(f'You said: "{snippet}".')
    if images:
        parts.append(f"I see {images} image{'s' if images > 1 else ''}.")
    parts.append("This is a deterministic reply from the DeepInfra emulator.")
    return " ".join(parts)


def _arithmetic(text: str) -> str | None:
    match = _ARITHMETIC.search(text)
    if match is None:
        return None
    left, op, right = float(match.group(1)), match.group(2).strip(), float(match.group(3))
    if op in "/\u00f7" and right == 0:
        return None
    value = {"+": left + right, "-": left - right, "*": left * right, "\u00d7": left * right}.get(
        op, left / (right or 1)
    )
    return str(int(value)) if value == int(value) else f"{value:g}"


def _reasoning(body: dict[str, Any], entry: ModelEntry, user_text: str, style: str) -> str | None:
    """The model's reasoning text when it reasons in `style` and thinking is not switched off."""
    if entry.reasoning != style:
        return None
    template = body.get("chat_template_kwargs")
    reasoning = body.get("reasoning")
    if isinstance(template, dict) and template.get("enable_thinking") is False:
        return None
    if (isinstance(reasoning, dict) and reasoning.get("enabled") is False) or body.get("reasoning_effort") == "none":
        return None
    return _reasoning_text(user_text)


def _reasoning_text(user_text: str) -> str:
    snippet = " ".join(user_text.split())[:80]
    return f'The user wrote "{snippet}". I should answer briefly and directly.'


def _json_request(body: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[bool, Any]:
    """Whether JSON is wanted, and the schema: `json_schema` format, else the one agno put in the prompt."""
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_schema":
        spec = response_format.get("json_schema") if isinstance(response_format, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
            return True, spec["schema"]
    schema = _prompt_schema(messages)
    return (kind in ("json_object", "json_schema") or schema is not None), schema


def _prompt_schema(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The schema in agno's JSON prompt (`<json_field_properties>` or `<json_fields>`), if any."""
    for message in messages:
        if message.get("role") not in ("system", "developer"):
            continue
        text = content_text(message.get("content"))[0]
        if "<json_field" not in text:
            continue
        found = _PROPERTIES_BLOCK.search(text)
        if found:
            properties = _loads(found.group(1))
            if isinstance(properties, dict):
                defs = properties.pop("$defs", {})
                return {"type": "object", "properties": properties, "$defs": defs}
        found = _FIELDS_BLOCK.search(text)
        if found:
            return _fields_schema(found.group(1))
    return None


def _fields_schema(block: str) -> dict[str, Any]:
    fields = _loads(block)
    if isinstance(fields, dict):
        is_schema = "properties" in fields or "type" in fields
        return fields if is_schema else {"type": "object", "properties": fields}
    names = fields if isinstance(fields, list) else [name.strip() for name in re.split(r"[,\n]", block)]
    return {"type": "object", "properties": {str(name): {"type": "string"} for name in names if name}}


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _json_answer(schema: dict[str, Any] | None, hints: Hints, text: str) -> Any:
    if schema is None:
        return {"answer": text}
    defs = schema.get("$defs") or schema.get("definitions") or {}
    return SchemaFiller(hints, defs if isinstance(defs, dict) else {}, all_properties=True).value(schema)
