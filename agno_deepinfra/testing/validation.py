"""Request validation that mirrors DeepInfra's FastAPI 422 answers (pydantic v2 messages)."""

from __future__ import annotations

from typing import Any

from agno_deepinfra.testing.catalog import SNAPSHOT_DATE, Catalog, ModelEntry, ModelKind
from agno_deepinfra.testing.errors import context_overflow, detail_error, field_error, unknown_model, validation_error
from agno_deepinfra.testing.outcome import ApiError

Bound = tuple[float, bool]  # (limit, inclusive)

# field: (lower bound, upper bound); None means unbounded.
CHAT_RANGES: dict[str, tuple[Bound | None, Bound | None]] = {
    "temperature": ((0, True), (2, True)),
    "top_p": ((0, False), (1, True)),
    "min_p": ((0, True), (1, True)),
    "top_k": ((0, True), None),
    "repetition_penalty": ((0, False), None),
    "presence_penalty": ((-2, True), (2, True)),
    "frequency_penalty": ((-2, True), (2, True)),
    "max_tokens": ((1, True), None),
}
SERVICE_TIERS = ("default", "priority", "flex")  # flex: DI-docs chat/overview.mdx (20% off, may queue)


def _fmt(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def check_range(name: str, value: Any, low: Bound | None, high: Bound | None) -> dict[str, Any] | None:
    """A 422 item when `value` is not a number within the bounds, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return field_error((name,), "Input should be a valid number", "float_type", value)
    if low is not None and (value < low[0] or (value == low[0] and not low[1])):
        kind, relation = (
            ("greater_than_equal", "greater than or equal to") if low[1] else ("greater_than", "greater than")
        )
        return field_error((name,), f"Input should be {relation} {_fmt(low[0])}", kind, value)
    if high is not None and (value > high[0] or (value == high[0] and not high[1])):
        kind, relation = ("less_than_equal", "less than or equal to") if high[1] else ("less_than", "less than")
        return field_error((name,), f"Input should be {relation} {_fmt(high[0])}", kind, value)
    return None


def missing(name: str, body: Any) -> dict[str, Any]:
    """The 422 item for a required field that is absent."""
    return field_error((name,), "Field required", "missing", body)


def validate_chat(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every 422 item for a chat request (empty when valid)."""
    errors: list[dict[str, Any]] = []
    if not isinstance(body.get("model"), str):
        errors.append(missing("model", body))
    messages = body.get("messages")
    if messages is None:
        errors.append(missing("messages", body))
    elif not isinstance(messages, list):
        errors.append(field_error(("messages",), "Input should be a valid list", "list_type", messages))
    elif not messages:
        errors.append(
            field_error(("messages",), "List should have at least 1 item after validation, not 0", "too_short", [])
        )
    else:
        errors.extend(_message_errors(messages))
    for name, (low, high) in CHAT_RANGES.items():
        value = body.get(name)
        if value is not None and (error := check_range(name, value, low, high)):
            errors.append(error)
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        errors.append(field_error(("tools",), "Input should be a valid list", "list_type", tools))
    tier = body.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS:
        errors.append(
            field_error(("service_tier",), "Input should be 'default', 'priority' or 'flex'", "literal_error", tier)
        )
    stop = body.get("stop")
    if isinstance(stop, list) and len(stop) > 4:
        msg = f"List should have at most 4 items after validation, not {len(stop)}"
        errors.append(field_error(("stop",), msg, "too_long", stop))
    return errors


def _message_errors(messages: list[Any]) -> list[dict[str, Any]]:
    errors = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            errors.append(field_error(("messages", index), "Input should be a valid dictionary", "dict_type", message))
        elif not isinstance(message.get("role"), str):
            errors.append(field_error(("messages", index, "role"), "Field required", "missing", message))
    return errors


def require_dict(body: Any) -> dict[str, Any]:
    """The JSON body as an object; anything else is a 422, as FastAPI answers."""
    if not isinstance(body, dict):
        item = field_error(
            (), "Input should be a valid dictionary or object to extract fields from", "model_attributes_type", body
        )
        raise ApiError(422, validation_error([item]))
    return body


def require_model(catalog: Catalog, model_id: str, kind: ModelKind, purpose: str) -> ModelEntry:
    """The catalog entry for `model_id`: 404 when unknown, 400 when it is the wrong kind of model."""
    entry = catalog.get(model_id)
    if entry is None:
        raise ApiError(404, unknown_model(model_id, SNAPSHOT_DATE))
    if entry.kind != kind:
        raise ApiError(400, detail_error(f"Model {model_id} is a {entry.kind} model and does not support {purpose}"))
    return entry


def require_fit(entry: ModelEntry, prompt: int, completion: Any) -> None:
    """DeepInfra's 400 when the prompt plus the completion asked for exceeds the model's context."""
    completion = completion if isinstance(completion, int) else 0
    if prompt + completion > entry.context_length:
        raise ApiError(400, context_overflow(entry.context_length, prompt, completion))


def wants_usage_chunk(body: dict[str, Any]) -> bool:
    """Whether a stream asked for OpenAI's separate usage chunk (`stream_options.include_usage`)."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True
