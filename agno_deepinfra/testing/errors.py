"""DeepInfra-shaped error bodies: FastAPI `detail` shapes, OpenAI's `error` object, `DeepError`'s plain string.

WIRE.md ("Error surface") tables every shape, status and `Retry-After`, with sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Texts modelled on what DeepInfra's gateway answers for each status.
STATUS_MESSAGES: dict[int, str] = {
    400: "Bad request",
    401: "Authentication required: invalid or missing API key",
    402: "Payment required: your account balance is too low",
    403: "Forbidden",
    404: "Model is not available",
    409: "Conflict",
    413: "Request entity too large",
    422: "Unprocessable entity",
    429: "Rate limited: too many concurrent requests for this model, if you retry in just a bit, "
    "it should get resolved",
    500: "Internal server error",
    502: "Bad gateway",
    503: "No capacity available for the model, please retry",
    504: "Gateway timeout",
}


def status_message(status: int) -> str:
    """The default DeepInfra-like text for an HTTP status."""
    return STATUS_MESSAGES.get(status, f"Request failed with status {status}")


def detail_error(message: str) -> dict[str, Any]:
    """`{"detail": {"error": message}}`, DeepInfra's most common error body."""
    return {"detail": {"error": message}}


def deep_error(message: str) -> dict[str, Any]:
    """`{"error": message}`: DeepInfra's `DeepError` (native routes; the official SDK reads it)."""
    return {"error": message}


def unknown_model(model_id: str, snapshot_date: str) -> dict[str, Any]:
    """DeepInfra's 404 for a model it does not serve, plus a note that the emulator's catalog is a snapshot.

    DeepInfra answers `Model is not available`; the note after it tells a test author why an id
    DeepInfra serves today can be missing here, and how to add it.
    """
    # Short, the instruction first: an error message keeps 120 characters of the server's text.
    note = (
        f" (emulator: catalog is a snapshot of {snapshot_date}; "
        f"emulator.add_model({model_id!r}) or POST /_emulator/models serves it)"
    )
    return detail_error(STATUS_MESSAGES[404] + note)


def not_found() -> dict[str, Any]:
    """FastAPI's body for an unknown path or model page."""
    return {"detail": "Not Found"}


def field_error(loc: tuple[str | int, ...], msg: str, kind: str, value: Any) -> dict[str, Any]:
    """One item of a FastAPI 422 `detail` list."""
    return {"loc": ["body", *loc], "msg": msg, "type": kind, "input": value}


def validation_error(items: list[dict[str, Any]]) -> dict[str, Any]:
    """FastAPI's 422 body: `{"detail": [{"loc", "msg", "type", "input"}, ...]}`."""
    return {"detail": items}


def openai_error(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """The OpenAI-style body DeepInfra's OpenAI-compatible routes use for model-level errors."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def context_overflow(limit: int, prompt: int, completion: int) -> dict[str, Any]:
    """The 400 body for a request that does not fit the model's context window."""
    message = (
        f"This model's maximum context length is {limit} tokens. However, you requested {prompt + completion} "
        f"tokens ({prompt} in the messages, {completion} in the completion). "
        "Please reduce the length of the messages or completion."
    )
    return openai_error(message, "invalid_request_error", "context_length_exceeded", "messages")


@dataclass(frozen=True)
class ErrorShape:
    """One shape of error body DeepInfra answers with (WIRE.md, "Error surface", lists them all)."""

    name: str
    status: int  # a status this shape comes with
    body: Any  # the JSON body, or a `str` for a non-JSON page
    message: str  # the text a client should show from it
    source: str


# Every error body shape, with a typical status. The emulator's own answers use each of them;
# `Fault.status(code, body=shape.body)` (or `text=` for the page) scripts any of them on any route.
ERROR_SHAPES: tuple[ErrorShape, ...] = (
    ErrorShape(
        "detail-error",
        404,
        detail_error("Model is not available"),
        "Model is not available",
        "DeepInfra's gateway; LiteLLM's DeepInfra rerank error parser reads detail.error",
    ),
    ErrorShape("detail-string", 404, not_found(), "Not Found", "FastAPI's default body for an unknown path"),
    ErrorShape(
        "validation",
        422,
        validation_error(
            [field_error(("temperature",), "Input should be less than or equal to 2", "less_than_equal", 3)]
        ),
        "temperature: Input should be less than or equal to 2",
        "DeepInfra's OpenAPI spec: HTTPValidationError",
    ),
    ErrorShape(
        "openai-error",
        400,
        context_overflow(8192, 9000, 100),
        "This model's maximum context length is 8192 tokens",
        "OpenAI's error object, on DeepInfra's OpenAI-compatible routes",
    ),
    ErrorShape(
        "plain-error",
        404,
        deep_error("Model not found"),
        "Model not found",
        "DeepInfra's OpenAPI spec: DeepError; the official SDK's extract_error_message",
    ),
    ErrorShape(
        "html-page",
        502,
        "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        "502 Bad Gateway",
        "a proxy in front of the API",
    ),
)
