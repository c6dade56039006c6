"""The one place where DeepInfra failures become agno exceptions.

Every path (sync, async, streamed, and the embedder and reranker) maps errors here, so a user
sees the same types and the same message, DeepInfra's own text included, whichever path failed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx
import openai
from agno.exceptions import (
    AgnoError,
    ContextWindowExceededError,
    ModelAuthenticationError,
    ModelProviderError,
    ModelRateLimitError,
)

from agno_deepinfra._shared.error_text import (
    HTTPResponse,
    error_text,
    redact,
)
from agno_deepinfra._shared.retry_log import remember

# No room for the request now: rate limited (429), no capacity for the model (503), overloaded (529).
CAPACITY_STATUS_CODES = frozenset({429, 503, 529})
# Transient by nature: timeouts, too-early, no room now and server-side failures.
RETRYABLE_STATUS_CODES = frozenset({408, 425, 500, 502, 504}) | CAPACITY_STATUS_CODES
# Fail the same way on every attempt. 402 (out of funds) is DeepInfra's addition to agno's list.
NON_RETRYABLE_STATUS_CODES = frozenset({400, 401, 402, 403, 404, 413, 422})


def is_retryable(error: ModelProviderError) -> bool:
    """Whether another attempt could succeed.

    Errors raised by the plugin carry an explicit verdict (`retryable`); any other
    `ModelProviderError` follows agno's contract: client errors and context overflows are final,
    everything else is worth another try.
    """
    if isinstance(error, ContextWindowExceededError):
        return False
    verdict = getattr(error, "retryable", None)
    if verdict is not None:
        return bool(verdict)
    if error.status_code in NON_RETRYABLE_STATUS_CODES:
        return False
    message = str(error.message).lower()
    return not any(pattern in message for pattern in ModelProviderError.CONTEXT_WINDOW_PATTERNS)


# Characters of DeepInfra's text in an error's message; the whole text stays on the error as
# `detail`. agno's retry log prints the error two or three times per line: `_shared.retry_log`
# keeps one copy.
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


class DeepInfraError(ModelProviderError):
    """A DeepInfra failure: agno's `ModelProviderError`, plus what the retry policy needs.

    Args:
        message: what failed, with the model id, DeepInfra's text (120 characters) and a hint.

    Attributes:
        retryable: whether another attempt can succeed (None: decide from the status code).
        retry_after: seconds the server asked the client to wait (`Retry-After`), if any.
        detail: DeepInfra's whole error text (the message keeps its first 120 characters).
    """

    retryable: bool | None = None
    retry_after: float | None = None
    detail: str | None = None

    def __init__(self, message: str, *args: object, **kwargs: object) -> None:
        super().__init__(message, *args, **kwargs)  # type: ignore[arg-type]
        remember(message)  # agno's retry log line names it once (`_shared.retry_log`)


class DeepInfraRateLimitError(DeepInfraError, ModelRateLimitError):
    """DeepInfra has no room for the request now (429, 503, 529); an agno `ModelRateLimitError`."""


class DeepInfraContextWindowError(DeepInfraError, ContextWindowExceededError):
    """The prompt does not fit the model's context window; an agno `ContextWindowExceededError`."""


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


# ------------------------------------------------------------------ the retry verdict and Retry-After


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds asked for by `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = _number(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 and value == value else None  # reject negatives and NaN
