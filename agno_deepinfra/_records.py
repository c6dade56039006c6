"""What agno stores of a model: plain JSON, with no secret in it.

agno writes `model.to_dict()` into every session record and saved agent, and skips saving the
whole session (with only a warning) when `json.dumps` refuses a value: the next turn then goes
out without history. So the record is made JSON here, whatever the constructor was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

# Header names whose values are credentials; agno's `to_dict` writes `extra_headers` as given.
_SECRET_HEADER_MARKERS = ("authorization", "key", "token", "secret", "cookie")
REDACTED = "<redacted>"


def stored_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` as JSON types only, with credential-bearing header values redacted."""
    record = {str(key): jsonable(value) for key, value in data.items()}
    if isinstance(record.get("extra_headers"), dict):
        record["extra_headers"] = {
            name: REDACTED if any(marker in name.lower() for marker in _SECRET_HEADER_MARKERS) else value
            for name, value in record["extra_headers"].items()
        }
    return record


def jsonable(value: Any) -> Any:
    """The closest JSON value: containers element-wise, timeouts as their dict, the rest as text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    as_dict = getattr(value, "as_dict", None)  # httpx.Timeout (and httpx2's, under openai 3)
    if callable(as_dict):
        return jsonable(as_dict())
    model_dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(model_dump):
        return jsonable(model_dump(mode="json"))
    return str(value)  # URLs, paths, decimals: their text is what a reader of the record wants
