"""The retry policy and the error text extraction, at the payload boundary (no sockets)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agno.exceptions import ContextWindowExceededError, ModelAuthenticationError, ModelProviderError

from agno_deepinfra._shared.error_text import error_text
from agno_deepinfra._shared.errors import is_retryable, retry_after_seconds, status_error
from agno_deepinfra._shared.retry import retry_delay


def response(
    status: int, body: Any = None, text: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers={"content-type": "text/html", **(headers or {})})
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"detail": {"error": "Model is not available"}}, "Model is not available"),
        ({"detail": "Not Found"}, "Not Found"),
        (
            {
                "detail": [
                    {"loc": ["body", "temperature"], "msg": "too hot", "type": "x"},
                    {"loc": ["body"], "msg": "m"},
                ]
            },
            "temperature: too hot; m",
        ),
        ({"error": {"message": "bad request", "type": "invalid_request_error", "code": 400}}, "bad request"),
        ({"error": "plain error"}, "plain error"),
        ({"message": "bare message"}, "bare message"),
        ({"something": "else"}, '{"something": "else"}'),
    ],
)
def test_error_text_reads_every_body_shape(body: Any, expected: str) -> None:
    assert error_text(response(400, body)) == expected


def test_error_text_shortens_html_pages() -> None:
    page = "<html><head><style>p{}</style></head><body><h1>502 Bad Gateway</h1>" + "<p>x</p>" * 500 + "</body></html>"
    text = error_text(response(502, text=page))
    assert text.startswith("502 Bad Gateway")
    assert "<" not in text
    assert len(text) <= 300


def test_error_text_of_an_empty_body_is_the_reason() -> None:
    assert error_text(httpx.Response(503, content=b"")) == "Service Unavailable"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-4"}, None),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert retry_after_seconds(headers, now=now) == expected


def test_delay_schedule_and_hint() -> None:
    assert [retry_delay(k, base=0.2, exponential=True) for k in range(3)] == [0.2, 0.4, 0.8]
    assert retry_delay(5, base=0.2, exponential=False) == 0.2
    assert retry_delay(0, base=1, exponential=False, server_hint=7, cap=5) == 5
    assert retry_delay(0, base=9, exponential=False, server_hint=1, cap=5) == 9


def test_a_paced_retry_waits_what_the_server_asked_for_and_no_more() -> None:
    """Under `max_concurrency="auto"` the limiter holds retries back: the schedule would only idle freed slots."""
    assert retry_delay(3, base=1, exponential=True, server_hint=1.0, paced=True) == 1.0
    assert retry_delay(3, base=1, exponential=True, server_hint=1.0) == 8.0  # unpaced: the schedule wins
    assert retry_delay(3, base=1, exponential=True, server_hint=90, cap=60, paced=True) == 60
    assert retry_delay(3, base=1, exponential=True, paced=True) == 8.0  # no Retry-After: the schedule


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (425, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (529, True),
        (400, False),
        (401, False),
        (402, False),
        (403, False),
        (404, False),
        (409, False),
        (413, False),
        (422, False),
        (501, False),
    ],
)
def test_statuses_from_deepinfra(status: int, retryable: bool) -> None:
    error = status_error(status, response(status, {"detail": "x"}), model_id="m", model_name="DeepInfra")
    if status == 401:  # in agno, ModelAuthenticationError is not a ModelProviderError: agno never retries it
        assert isinstance(error, ModelAuthenticationError) and not isinstance(error, ModelProviderError)
        return
    assert isinstance(error, ModelProviderError) and error.status_code == status
    assert is_retryable(error) is retryable


def test_context_overflow_becomes_agnos_type() -> None:
    body = {"error": {"message": "This model's maximum context length is 4096 tokens. However, you requested 9000"}}
    error = status_error(400, response(400, body), model_id="m", model_name="DeepInfra")
    assert isinstance(error, ContextWindowExceededError)
    assert not is_retryable(error)


def test_402_from_agno_code_is_final_too() -> None:
    assert is_retryable(ModelProviderError("Insufficient balance", status_code=402)) is False
