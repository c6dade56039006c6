"""Deterministic values for a JSON schema, borrowing names, numbers and words from the user's text.

Used for unscripted tool-call arguments and JSON-mode answers, so agents get plausible, valid input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agno_deepinfra.testing.text import word_set

_CAPITALISED = re.compile(r"[A-Z][\w'\u2019.-]*(?:\s+[A-Z][\w'\u2019-]*)*")
_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_NAME_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

# Sentence openers that are capitalised but are not names.
_OPENERS = word_set(
    "what what's whats how who where when which why please can could would will should is are do does did "
    "tell give show find get search compare check look list write summarize summarise explain make create "
    "use call run i i'm im the a an hi hello hey my our let let's lets"
)
_ENTITY_PARTS = word_set(
    "city location place country town region destination origin name person company state area address "
    "venue team author artist"
)
_CODE_PARTS = word_set("tz timezone zone ticker symbol currency code iata unit units")
_PATH_PARTS = word_set("path file filename filepath")
# A file name with an extension, optionally inside directories ("/tmp/notes/meeting.wav", "a.png").
_PATH = re.compile(r"(?<![\w/])(?:~|\.{1,2})?/?(?:[\w.-]+/)*[\w-]+\.[A-Za-z][A-Za-z0-9]{1,4}\b")


def _strip_openers(phrase: str) -> str:
    parts = phrase.split()
    while parts and parts[0].lower().strip(".,'\u2019") in _OPENERS:
        parts.pop(0)
    return " ".join(parts).rstrip(".,;:!?'\u2019")


def _names(text: str) -> list[str]:
    """Capitalised phrases; a sentence's first word is capitalised anyway, so it only counts as a fallback."""
    names, fallback = [], []
    for match in _CAPITALISED.finditer(text):
        phrase = match.group()
        before = text[: match.start()].rstrip()
        if not before or before.endswith((".", "!", "?", ":")):
            fallback.append(_strip_openers(phrase))
            phrase = phrase.partition(" ")[2]
        name = _strip_openers(phrase)
        if name:
            names.append(name)
    return names or [name for name in fallback if name]


@dataclass(frozen=True)
class Hints:
    """What the user's text offers: the text itself, capitalised names, acronyms and numbers."""

    text: str
    entities: tuple[str, ...] = ()
    acronyms: tuple[str, ...] = ()
    numbers: tuple[float, ...] = ()
    paths: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, text: str) -> Hints:
        """Extract hints from a user message."""
        acronyms = tuple(_ACRONYM.findall(text))
        names = _names(text)
        # Prefer real names ("Paris") over acronyms ("UTC") for entity-like parameters.
        names.sort(key=lambda name: name.isupper())
        numbers = tuple(float(number) for number in _NUMBER.findall(text))
        return cls(" ".join(text.split()), tuple(names), acronyms, numbers, tuple(_PATH.findall(text)))

    def short_text(self, limit: int = 200) -> str:
        """The text, shortened for use as a string value."""
        return self.text if len(self.text) <= limit else self.text[: limit - 3] + "..."


@dataclass
class SchemaFiller:
    """Builds a value valid for a JSON schema; `all_properties=False` fills only required properties."""

    hints: Hints
    defs: dict[str, Any] = field(default_factory=dict)
    all_properties: bool = True
    _numbers_used: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.defs, dict):  # schemas from requests are untrusted
            self.defs = {}

    def value(self, schema: Any, name: str = "", depth: int = 0) -> Any:
        """A value for `schema` (a property called `name`)."""
        if not isinstance(schema, dict) or depth > 8:
            return self._string(name, {})
        schema = self._deref(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._enum(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return self._union(schema[key], name, depth)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._deref(part) if isinstance(part, dict) else {})
            return self.value(merged, name, depth + 1)
        return self._typed(self._type_of(schema), schema, name, depth)

    def _typed(self, kind: str, schema: dict[str, Any], name: str, depth: int) -> Any:
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            min_items = schema.get("minItems")
            count = min(max(1, min_items if isinstance(min_items, int) else 1), 50)
            return [self.value(schema.get("items", {"type": "string"}), name, depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            return self._number(schema, kind == "integer")
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return self._string(name, schema)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        if self.all_properties or not isinstance(required, list):
            names = list(properties)
        else:
            extra = [key for key in required if isinstance(key, str) and key not in properties]
            names = [key for key in properties if key in required] + extra
        return {key: self.value(properties.get(key, {"type": "string"}), key, depth + 1) for key in names}

    def _union(self, options: list[Any], name: str, depth: int) -> Any:
        for option in options:
            if isinstance(option, dict) and self._deref(option).get("type") != "null":
                return self.value(option, name, depth + 1)
        return None

    def _deref(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return schema
        target = self.defs.get(ref.rsplit("/", 1)[-1])
        if not isinstance(target, dict):
            return {"type": "string"}
        # agno's prompt format lists a nested model's fields directly, without a "properties" wrapper.
        if "properties" in target or "enum" in target or isinstance(target.get("type"), str):
            return target
        return {"type": "object", "properties": target}

    @staticmethod
    def _type_of(schema: dict[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((item for item in kind if item != "null"), "null")
        if isinstance(kind, str):
            return kind
        if "properties" in schema:
            return "object"
        return "array" if "items" in schema else "string"

    def _enum(self, options: list[Any]) -> Any:
        lowered = self.hints.text.lower()
        for option in options:
            if isinstance(option, str) and re.search(rf"\b{re.escape(option.lower())}\b", lowered):
                return option
        return options[0]

    def _number(self, schema: dict[str, Any], integer: bool) -> float | int:
        numbers = self.hints.numbers
        value = numbers[self._numbers_used] if self._numbers_used < len(numbers) else 1.0
        self._numbers_used += 1
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if isinstance(low, (int, float)) and value < low:
            value = float(low) + (1 if "exclusiveMinimum" in schema else 0)
        if isinstance(high, (int, float)) and value > high:
            value = float(high) - (1 if "exclusiveMaximum" in schema else 0)
        return int(value) if integer else value

    def _string(self, name: str, schema: dict[str, Any]) -> str:
        value = self._string_for(name, schema.get("format"))
        max_length, min_length = schema.get("maxLength"), schema.get("minLength")
        if isinstance(max_length, int):
            value = value[:max_length]
        if isinstance(min_length, int) and len(value) < min_length:
            value = value.ljust(min_length, "x")
        return value

    def _string_for(self, name: str, fmt: Any) -> str:
        formats = {"date": "2024-01-01", "date-time": "2024-01-01T00:00:00Z", "email": "user@example.com"}
        if isinstance(fmt, str) and fmt in formats:
            return formats[fmt]
        if fmt in ("uri", "url"):
            return "https://example.com"
        parts = {part.lower() for part in _NAME_PARTS.findall(name)}
        hints = self.hints
        if parts & _PATH_PARTS and hints.paths:
            return hints.paths[0]
        if parts & _CODE_PARTS and (hints.acronyms or hints.entities):
            return (hints.acronyms or hints.entities)[0]
        if parts & _ENTITY_PARTS and (hints.entities or hints.acronyms):
            return (hints.entities or hints.acronyms)[0]
        return hints.short_text() or name or "example"
