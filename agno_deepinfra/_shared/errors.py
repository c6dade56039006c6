"""The one place where DeepInfra failures become agno exceptions.

Every path (sync, async, streamed, and the embedder and reranker) maps errors here, so a user
sees the same types and the same message, DeepInfra's own text included, whichever path failed.
"""

from __future__ import annotations

import html
import json
import sys
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import openai
from agno.exceptions import (
    AgnoError,
    ContextWindowExceededError,
    ModelAuthenticationError,
    ModelProviderError,
    ModelRateLimitError,
)

from agno_deepinfra._shared.retry import CAPACITY_STATUS_CODES, RETRYABLE_STATUS_CODES, retry_after_seconds

MAX_TEXT = 300  # characters of a non-JSON body (an HTML proxy page) kept in a message
# Characters of a non-JSON body read for its text: a proxy's error page says what it has to say
# well within this (their inline styles included), and a larger body is not read further.
SCAN_LIMIT = 64 * 1024
# Characters of DeepInfra's text in an error's message. agno's retry log prints the error two or
# three times per line; the whole text stays on the error as `detail`.
MAX_MESSAGE_TEXT = 120

_HINTS = {
    401: "check DEEPINFRA_API_KEY (or api_key=...): DeepInfra did not accept the key",
    402: "the DeepInfra account needs funds or a payment method: https://deepinfra.com/dash/billing",
    403: "the key may not use this model or endpoint",
    404: "check the model id: agno_deepinfra.list_models() lists the ids DeepInfra serves",
    422: "DeepInfra rejected a request parameter: fix the value named above",
    429: "rate limited: DeepInfra allows 200 concurrent requests per model by default",
    503: "no capacity for this model right now",
}

# DeepInfra's error bodies nest two levels at most ({"error": {"message": ...}}); deeper is not theirs.
_MAX_NESTING = 8
# A key shorter than this is not redacted from error text: it would blank ordinary words.
MIN_SECRET = 8
REDACTED = "[REDACTED]"

# Context overflows come back as 400 with one of these phrases (agno's own list plus DeepInfra's wording).
_CONTEXT_PATTERNS = (*ModelProviderError.CONTEXT_WINDOW_PATTERNS, "context length", "context_length_exceeded")


def _with_httpx2(name: str, *found: type[Exception]) -> tuple[type[Exception], ...]:
    """Add httpx2's exception `name` when the openai SDK uses httpx2 (openai >= 3; earlier: httpx).

    openai has imported it by now if it uses it; importing it ourselves would cost ~70 ms for nothing.
    """
    httpx2 = sys.modules.get("httpx2")
    return found if httpx2 is None else (*found, getattr(httpx2, name))


# What the transport can raise while a request or a stream is in flight: the openai SDK's errors,
# httpx errors the SDK does not wrap (a connection cut mid-stream), and undecodable SSE payloads.
MAPPED_EXCEPTIONS = _with_httpx2("HTTPError", openai.OpenAIError, httpx.HTTPError, json.JSONDecodeError)
TIMEOUT_EXCEPTIONS = _with_httpx2("TimeoutException", openai.APITimeoutError, httpx.TimeoutException)


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


class DeepInfraError(ModelProviderError):
    """A DeepInfra failure: agno's `ModelProviderError`, plus what the retry policy needs.

    Attributes:
        retryable: whether another attempt can succeed (None: decide from the status code).
        retry_after: seconds the server asked the client to wait (`Retry-After`), if any.
        detail: DeepInfra's whole error text (the message keeps its first 120 characters).
    """

    retryable: bool | None = None
    retry_after: float | None = None
    detail: str | None = None


class DeepInfraRateLimitError(DeepInfraError, ModelRateLimitError):
    """DeepInfra has no room for the request now (429, 503, 529); an agno `ModelRateLimitError`."""


class DeepInfraContextWindowError(DeepInfraError, ContextWindowExceededError):
    """The prompt does not fit the model's context window; an agno `ContextWindowExceededError`."""


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


def is_context_overflow(status: int, text: str) -> bool:
    """Whether an error names the context length: DeepInfra's overlong prompts are 400s saying so.

    Any status but a capacity one counts, because agno's `ModelProviderError.classify`, which its
    retry loop applies to every chat error, decides the same way from the text alone.
    """
    lowered = text.lower()
    return status not in CAPACITY_STATUS_CODES and any(pattern in lowered for pattern in _CONTEXT_PATTERNS)


def error_class(status: int, text: str) -> tuple[type[DeepInfraError], bool]:
    """The one table: agno's error class and the retry verdict for an HTTP error, on every path.

    agno re-classifies chat errors (`ModelProviderError.classify`: 429 and 529 become
    `ModelRateLimitError`, a context-length phrase `ContextWindowExceededError`) and leaves those
    two types alone. Assigning them here, the same way, keeps chat, the embedder and the reranker
    in agreement and our `retryable` and `retry_after` on the error agno's loop sees. (401 is
    `ModelAuthenticationError`, built apart: it is not a `ModelProviderError` in agno.)

    | status | class | retried |
    |---|---|---|
    | 429, 503, 529 (no room now) | `DeepInfraRateLimitError` | yes, after `Retry-After` |
    | a context-length phrase (any other status) | `DeepInfraContextWindowError` | no |
    | 408, 425, 500, 502, 504 | `DeepInfraError` | yes (`Retry-After` honoured) |
    | any other | `DeepInfraError` | no |
    """
    if status in CAPACITY_STATUS_CODES:
        return DeepInfraRateLimitError, True
    if is_context_overflow(status, text):
        return DeepInfraContextWindowError, False
    return DeepInfraError, status in RETRYABLE_STATUS_CODES


def _short(text: str) -> str:
    text = text.rstrip(".")
    return text if len(text) <= MAX_MESSAGE_TEXT else text[: MAX_MESSAGE_TEXT - 3].rstrip() + "..."


def redact(text: str, secret: str | None) -> str:
    """`text` with the API key in use blanked out: a server or proxy may echo it in an error body.

    A key shorter than `MIN_SECRET` is left alone (no real key is; blanking it would garble words).
    """
    return text.replace(secret, REDACTED) if secret and len(secret) >= MIN_SECRET else text


def status_error(
    status: int,
    response: HTTPResponse,
    *,
    model_id: str,
    model_name: str,
    what: str = "model",
    secret: str | None = None,
) -> AgnoError:
    """The agno exception for an HTTP error response from DeepInfra (see `error_class`).

    `secret`: the API key the request carried, redacted wherever the server's text repeats it.
    """
    text = redact(error_text(response), secret)
    hint = _HINTS.get(status, "")
    # No closing period: agno's retry log appends ". Retrying in ...".
    message = f"DeepInfra HTTP {status} for {what} '{model_id}': {_short(text)}" + (f" ({hint})" if hint else "")
    if status == 401:
        auth_error = ModelAuthenticationError(message=message, status_code=401, model_name=model_name)
        auth_error.detail = text  # type: ignore[attr-defined]
        return auth_error
    kind, retryable = error_class(status, text)
    error = kind(message=message, status_code=status, model_name=model_name, model_id=model_id)
    error.retryable, error.detail = retryable, text
    if retryable:
        error.retry_after = retry_after_seconds(response.headers)
    return error


def transport_error(
    exc: BaseException,
    *,
    model_id: str,
    model_name: str,
    retryable: bool = True,
    what: str = "model",
    secret: str | None = None,
) -> DeepInfraError:
    """The agno exception for a failure with no HTTP status: refused, dropped, timed out, unparsable.

    `secret`: the API key the request carried, redacted wherever the failure's text repeats it.
    """
    timed_out = isinstance(exc, TIMEOUT_EXCEPTIONS) and not _refused(exc)
    status = 504 if timed_out else 502
    kind = "timed out" if timed_out else "failed"
    detail = redact(_describe(exc), secret)
    if isinstance(exc, json.JSONDecodeError):
        detail = f"the response is not valid JSON ({exc.msg} at character {exc.pos})"
    error = DeepInfraError(
        message=f"DeepInfra request {kind} for {what} '{model_id}': {detail}",
        status_code=status,
        model_name=model_name,
        model_id=model_id,
    )
    error.retryable = retryable
    return error


def incomplete_response_error(
    detail: str, *, model_id: str, model_name: str, delivered: bool = False
) -> DeepInfraError:
    """A 200 response that cannot be used: no choices, or a stream that stopped before the end."""
    error = DeepInfraError(
        message=f"DeepInfra returned an incomplete response for model '{model_id}': {detail}",
        status_code=502,
        model_name=model_name,
        model_id=model_id,
    )
    error.retryable = not delivered
    return error


def unusable_response_error(problem: str, *, model_id: str, model_name: str, what: str = "model") -> DeepInfraError:
    """A well-formed answer that does not fit the request (wrong shape, count or field); never retried."""
    error = DeepInfraError(
        message=f"DeepInfra returned an unusable response for {what} '{model_id}': {problem}",
        status_code=502,
        model_name=model_name,
        model_id=model_id,
    )
    error.retryable = False  # the same request would most likely get the same answer
    return error


def _refused(exc: BaseException) -> bool:
    """Whether the cause chain shows a failed connection rather than a timeout.

    httpx-aiohttp (the `async_transport="aiohttp"` adapter) reports every aiohttp connection
    failure, a refused connection or a server that hung up, as `httpx.ConnectTimeout`; the aiohttp
    or OS error beneath it says what happened.
    """
    seen: BaseException | None = exc
    for _ in range(8):  # cause chains are short; the bound guards against cycles
        if seen is None:
            return False
        if isinstance(seen, ConnectionError):
            return True
        if type(seen).__module__.startswith("aiohttp") and not isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(exc: BaseException) -> str:
    """The innermost useful description of a transport failure (the SDK's own text is generic)."""
    parts = [f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in parts[0]:
        parts.append(f"{type(cause).__name__}: {cause}")
    return " <- ".join(parts)


def map_error(
    exc: Exception, *, model_id: str, model_name: str, delivered: bool = False, secret: str | None = None
) -> AgnoError:
    """Map one of `MAPPED_EXCEPTIONS` to agno's exceptions.

    Args:
        exc: what the openai SDK or httpx raised.
        model_id: the DeepInfra model the request was for.
        model_name: the agno model's name.
        delivered: part of a stream already reached the consumer, so a retry would splice answers.
        secret: the API key the request carried; never repeated in the error's text (see `redact`).
    """
    _scrub(exc, secret)  # it stays on the error as its cause, and a printed traceback shows the cause
    if isinstance(exc, openai.APIStatusError):
        error = status_error(exc.status_code, exc.response, model_id=model_id, model_name=model_name, secret=secret)
    else:
        error = transport_error(exc, model_id=model_id, model_name=model_name, secret=secret)
    if delivered and isinstance(error, DeepInfraError):
        error.retryable = False
        error.message = f"{error.message} (the stream broke after output was delivered; not retried)"
    return error


def _scrub(exc: BaseException, secret: str | None) -> None:
    """Redact `secret` from the text of the SDK's own exception (its message repeats the error body)."""
    if redact(str(exc), secret) == str(exc):
        return
    exc.args = tuple(redact(arg, secret) if isinstance(arg, str) else arg for arg in exc.args)
    if isinstance(getattr(exc, "message", None), str):  # openai's APIError keeps the text here too
        exc.message = redact(exc.message, secret)  # type: ignore[attr-defined]


def text_of(body: Any) -> str:
    """DeepInfra's message from a parsed error body of any shape (a batch line's `body` or `error`)."""
    try:
        return _text_from_body(body)
    except RecursionError:  # a list item nested past what `str` or `json.dumps` goes
        return f"an error body of type {type(body).__name__}"
