"""DeepInfra's own words from an error body of any shape: JSON, FastAPI's lists, or a proxy's HTML page.

Read in linear time and bounded (a hostile page must never stall the event loop), with the API key
in use blanked out wherever a server or proxy echoes it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any, Protocol

from agno_deepinfra._shared.redact import REDACTED  # the one placeholder for a hidden credential

MAX_TEXT = 300  # characters of a non-JSON body (an HTML proxy page) kept in a message
# Characters of a non-JSON body read for its text: a proxy's error page says what it has to say
# well within this (their inline styles included), and a larger body is not read further.
SCAN_LIMIT = 64 * 1024
# DeepInfra's error bodies nest two levels at most ({"error": {"message": ...}}); deeper is not theirs.
_MAX_NESTING = 8
# A key shorter than this is not redacted from error text: it would blank ordinary words.
MIN_SECRET = 8


class HTTPResponse(Protocol):
    """What the error mapping reads of a response (httpx's and httpx2's both fit)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    @property
    def reason_phrase(self) -> str: ...
    def json(self) -> Any: ...


def error_text(response: HTTPResponse) -> str:
    """DeepInfra's own message from any of its error body shapes, shortened when it is not JSON."""
    try:
        text = _text_from_body(response.json())
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        text = _plain_text(response.text)
    return text or response.reason_phrase or f"HTTP {response.status_code}"


def _text_from_body(body: Any) -> str:
    for _ in range(_MAX_NESTING):
        if isinstance(body, str):
            return body
        if isinstance(body, list):  # FastAPI validation errors: [{"loc": [...], "msg": ...}, ...]
            return "; ".join(_validation_item(item) for item in body)
        if not isinstance(body, dict):
            break
        inner = next((body[key] for key in ("detail", "error") if body.get(key) is not None), None)
        if inner is None:
            texts = [body[key] for key in ("message", "msg") if isinstance(body.get(key), str)]
            return str(texts[0]) if texts else _json_text(body)
        body = inner
    return _json_text(body)


def _json_text(body: Any) -> str:
    """The start of `body` as JSON (a body of no known shape, or nested past `_MAX_NESTING`)."""
    try:
        return json.dumps(body)[:MAX_TEXT]
    except (ValueError, TypeError, RecursionError):
        return f"an error body of type {type(body).__name__}"


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return _json_text(item) if isinstance(item, (list, dict)) else str(item)
    loc = item.get("loc")
    location = ".".join(str(part) for part in (loc if isinstance(loc, list) else []) if part != "body")
    message = str(item.get("msg", ""))
    return f"{location}: {message}" if location else message


def _plain_text(text: str) -> str:
    """Strip markup from a proxy page so the message stays readable.

    Linear in the page: only its first `SCAN_LIMIT` characters are read, each once (a scan with
    `str.find`, never a backtracking pattern, so an unclosed `<script` or a page of `<` costs no
    more than any other page of that size).
    """
    page = text[:SCAN_LIMIT]
    lowered = page.lower()
    parts: list[str] = []
    closing: dict[str, int] = {}  # the `>` ending the next `</script` / `</style` (-1: none left)
    position = 0
    while (start := page.find("<", position)) >= 0:
        parts.append(page[position:start])
        end = page.find(">", start + 1)
        if end < 0:  # no tag closes after here: the rest is text
            position = start
            break
        name = _raw_text_element(lowered, start)
        if name is not None:  # the element and its content go; an unclosed one is a tag like any other
            known = closing.get(name)
            if known is None or 0 <= known < start:  # each stretch of the page is searched once
                close = lowered.find("</" + name, start)
                known = closing[name] = page.find(">", close) if close >= 0 else -1
            if known >= 0:
                end = known
        parts.append(" ")
        position = end + 1
    parts.append(page[position:])
    collapsed = " ".join(html.unescape("".join(parts)).split())
    return collapsed if len(collapsed) <= MAX_TEXT else collapsed[: MAX_TEXT - 3] + "..."


def _raw_text_element(lowered: str, start: int) -> str | None:
    """`script` or `style` when a tag of that name opens at `start` (its content is not text)."""
    for name in ("script", "style"):
        after = lowered[start + 1 + len(name) : start + 2 + len(name)]  # the name must end there
        if lowered.startswith(name, start + 1) and not (after.isalnum() or after == "_"):
            return name
    return None


def redact(text: str, secret: str | None) -> str:
    """`text` with the API key in use blanked out: a server or proxy may echo it in an error body.

    A key shorter than `MIN_SECRET` is left alone (no real key is; blanking it would garble words).
    """
    return text.replace(secret, REDACTED) if secret and len(secret) >= MIN_SECRET else text


def text_of(body: Any) -> str:
    """DeepInfra's message from a parsed error body of any shape (a batch line's `body` or `error`)."""
    try:
        return _text_from_body(body)
    except RecursionError:  # a list item nested past what `str` or `json.dumps` goes
        return f"an error body of type {type(body).__name__}"
