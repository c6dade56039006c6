"""What the request handlers hand to the HTTP server: transport-level actions, plus fault helpers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agno_deepinfra.testing.errors import detail_error, status_message
from agno_deepinfra.testing.script import Fault

Headers = tuple[tuple[bytes, bytes], ...]

JSON_TYPE = b"application/json"
HTML_TYPE = b"text/html; charset=utf-8"
DONE_EVENT = b"data: [DONE]\n\n"
MALFORMED_EVENT = b"data: {not json\n\n"
# Looks like the start of a chat completion, then stops: what a truncated proxy answer looks like.
MALFORMED_BODY = b'{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [{"message": {"content'


@dataclass(frozen=True)
class Respond:
    """A complete response with a `Content-Length` body."""

    status: int
    body: bytes
    content_type: bytes = JSON_TYPE
    headers: Headers = ()


@dataclass(frozen=True)
class Stream:
    """A server-sent-events response: each event is written and drained on its own.

    `abort` closes the socket after the events instead of ending the chunked body.
    """

    events: Iterable[bytes]  # iterated once, as the events are sent
    abort: bool = False


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""


@dataclass(frozen=True)
class Hang:
    """Keep the connection open and never answer."""


Action = Respond | Stream | Drop | Hang


@dataclass(frozen=True)
class Outcome:
    """An action, optionally after a delay in seconds; `slot` names the model whose cap slot it holds."""

    action: Action
    delay: float = 0.0
    slot: str | None = None


def dumps(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(status: int, value: Any, headers: Mapping[str, str] | None = None) -> Respond:
    """A JSON response."""
    extra: Headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items())
    return Respond(status, dumps(value), JSON_TYPE, extra)


class ApiError(Exception):
    """Raised by request validation; carries the error response to send."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.response = json_response(status, body)


def fault_action(fault: Fault) -> Action:
    """The action of a terminal fault (`status`, `drop`, `hang`)."""
    if fault.kind == "drop":
        return Drop()
    if fault.kind == "hang":
        return Hang()
    headers = tuple((k.encode("latin-1"), str(v).encode("latin-1")) for k, v in fault.headers.items())
    if fault.text is not None:
        return Respond(fault.status_code, fault.text.encode(), HTML_TYPE, headers)
    body = fault.body if fault.body is not None else detail_error(status_message(fault.status_code))
    return Respond(fault.status_code, dumps(body), JSON_TYPE, headers)


def modify_plain(response: Respond, modifier: Fault | None) -> Action:
    """Apply a stream-shaped fault to a non-streaming answer: drop_after drops, malformed_json breaks the body."""
    if modifier is None or modifier.kind == "no_done":
        return response
    if modifier.kind == "drop_after":
        return Drop()
    return Respond(200, MALFORMED_BODY, JSON_TYPE)
