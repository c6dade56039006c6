"""The error mapping in `_shared/errors.py`, at the function boundary (no sockets).

These pin what `make mutation` found unguarded: the edges of the text extraction and shortening,
the errors built for unusable and incomplete answers, the connection-versus-timeout decision
and the openai-3 (`httpx2`) exception lists. Expected texts are this package's own wording.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest

from agno_deepinfra._shared.error_text import (
    MAX_TEXT,
    _plain_text,
    _text_from_body,
    _validation_item,
    error_text,
    text_of,
)
from agno_deepinfra._shared.errors import (
    MAX_MESSAGE_TEXT,
    DeepInfraContextWindowError,
    DeepInfraError,
    _refused,
    _short,
    _with_httpx2,
    error_class,
    incomplete_response_error,
    map_error,
    status_error,
    transport_error,
    unusable_response_error,
)
from agno_deepinfra.testing.errors import ERROR_SHAPES, ErrorShape


class Httpx2Error(Exception):
    pass


def test_openai_3s_httpx2_errors_are_mapped_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "httpx2", raising=False)  # openai < 3: httpx only
    assert _with_httpx2("HTTPError", ValueError) == (ValueError,)
    monkeypatch.setitem(sys.modules, "httpx2", SimpleNamespace(HTTPError=Httpx2Error))
    assert _with_httpx2("HTTPError", ValueError) == (ValueError, Httpx2Error)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (3.5, "3.5"),  # neither text, list nor object: the JSON itself
        ({"msg": "bare msg"}, "bare msg"),
        ({"message": 7, "msg": "the text"}, "the text"),
    ],
)
def test_error_text_from_unusual_bodies(body: Any, expected: str) -> None:
    assert _text_from_body(body) == expected


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("a plain string", "a plain string"),
        ({"msg": "no location"}, "no location"),
        ({"loc": ["body", "messages", 0, "role"], "msg": "bad"}, "messages.0.role: bad"),
        ({"loc": ["query", "x"]}, "query.x: "),
    ],
)
def test_a_validation_item_names_the_field_and_the_problem(item: Any, expected: str) -> None:
    assert _validation_item(item) == expected


def test_a_proxy_page_is_kept_whole_up_to_the_limit_and_cut_with_an_ellipsis_beyond() -> None:
    assert _plain_text("x" * MAX_TEXT) == "x" * MAX_TEXT
    assert _plain_text("y" * (MAX_TEXT + 1)) == "y" * (MAX_TEXT - 3) + "..."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bad request..", "Bad request"),  # no closing period: agno appends ". Retrying in ..."
        (".hidden.", ".hidden"),
        ("limit: MAX", "limit: MAX"),
        ("a" * (MAX_MESSAGE_TEXT - 4) + " " + "b" * 10, "a" * (MAX_MESSAGE_TEXT - 4) + "..."),  # no space before "..."
        ("ends in space. ", "ends in space. "),
        ("z" * MAX_MESSAGE_TEXT, "z" * MAX_MESSAGE_TEXT),
        ("w" * (MAX_MESSAGE_TEXT + 1), "w" * (MAX_MESSAGE_TEXT - 3) + "..."),
    ],
)
def test_the_message_keeps_deepinfras_text_short(text: str, expected: str) -> None:
    assert _short(text) == expected


def test_a_context_overflow_is_final() -> None:
    assert error_class(400, "This model's maximum context length is 8192 tokens") == (
        DeepInfraContextWindowError,
        False,
    )


def test_a_status_without_a_hint_adds_nothing_after_deepinfras_text() -> None:
    error = status_error(500, httpx.Response(500, json={"detail": "boom"}), model_id="m/x", model_name="DeepInfra")
    assert error.message == "DeepInfra HTTP 500 for model 'm/x': boom"


@pytest.mark.parametrize(("delivered", "retryable"), [(False, True), (True, False)])
def test_an_incomplete_answer_is_retried_only_when_nothing_was_delivered(delivered: bool, retryable: bool) -> None:
    error = incomplete_response_error("no choices", model_id="m/x", model_name="DeepInfra", delivered=delivered)
    assert error.message == "DeepInfra returned an incomplete response for model 'm/x': no choices"
    assert (error.status_code, error.model_id, error.model_name) == (502, "m/x", "DeepInfra")
    assert error.retryable is retryable


def test_an_unusable_answer_is_a_final_502() -> None:
    error = unusable_response_error("3 embeddings for 2 inputs", model_id="m/e", model_name="DeepInfraEmbedder")
    assert isinstance(error, DeepInfraError)
    assert error.message == "DeepInfra returned an unusable response for model 'm/e': 3 embeddings for 2 inputs"
    assert (error.status_code, error.model_id, error.model_name) == (502, "m/e", "DeepInfraEmbedder")
    assert error.retryable is False


def caused_by(exc: BaseException, cause: BaseException, *, implicit: bool = False) -> BaseException:
    if implicit:
        exc.__context__ = cause
    else:
        exc.__cause__ = cause
    return exc


@pytest.mark.parametrize("implicit", [False, True])
def test_a_connect_timeout_over_a_refused_connection_is_a_failed_connection(implicit: bool) -> None:
    """httpx-aiohttp reports a refused connection as `ConnectTimeout`; the cause says what happened."""
    exc = caused_by(httpx.ConnectTimeout("connect"), ConnectionRefusedError("refused"), implicit=implicit)
    assert _refused(exc) is True
    error = transport_error(exc, model_id="m/x", model_name="DeepInfra")
    assert error.status_code == 502 and "request failed" in error.message


def test_a_timeout_with_no_connection_error_beneath_stays_a_timeout() -> None:
    exc = caused_by(httpx.ReadTimeout("read"), TimeoutError("slow"))
    assert _refused(exc) is False
    error = transport_error(exc, model_id="m/x", model_name="DeepInfra")
    assert error.status_code == 504 and "request timed out" in error.message


def test_a_cause_cycle_ends() -> None:
    first, second = httpx.ReadTimeout("a"), TimeoutError("b")
    first.__cause__, second.__cause__ = second, first
    assert _refused(first) is False


def test_an_unparsable_answer_says_where_the_json_broke() -> None:
    try:
        json.loads("{not json")
    except json.JSONDecodeError as exc:
        error = transport_error(exc, model_id="m/x", model_name="DeepInfra", retryable=False, what="reranker")
    assert error.message == (
        "DeepInfra request failed for reranker 'm/x': "
        "the response is not valid JSON (Expecting property name enclosed in double quotes at character 1)"
    )
    assert (error.status_code, error.model_id, error.model_name, error.retryable) == (502, "m/x", "DeepInfra", False)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (caused_by(httpx.ReadTimeout("read"), TimeoutError("slow")), "ReadTimeout: read <- TimeoutError: slow"),
        (caused_by(httpx.ReadTimeout(""), TimeoutError("")), "ReadTimeout"),
        (caused_by(httpx.ReadTimeout("read"), TimeoutError("")), "ReadTimeout: read"),
        (caused_by(httpx.ConnectError("refused: port 1"), OSError("refused")), "ConnectError: refused: port 1"),
    ],
)
def test_a_transport_failure_names_the_innermost_useful_cause(exc: BaseException, expected: str) -> None:
    error = transport_error(exc, model_id="m/x", model_name="DeepInfra")
    assert error.message.endswith(f"for model 'm/x': {expected}")
    assert error.retryable is True


def api_status_error(status: int, body: Any) -> Exception:
    request = httpx.Request("POST", "http://127.0.0.1/v1/openai/chat/completions")
    return openai.APIStatusError("failed", response=httpx.Response(status, json=body, request=request), body=body)


@pytest.mark.parametrize("delivered", [False, True])
def test_map_error_reads_the_status_and_never_retries_after_delivery(delivered: bool) -> None:
    error = map_error(
        api_status_error(503, {"detail": "busy"}), model_id="m/x", model_name="DeepInfra", delivered=delivered
    )
    assert isinstance(error, DeepInfraError) and error.status_code == 503
    assert (error.model_id, error.model_name) == ("m/x", "DeepInfra")
    expected = "DeepInfra HTTP 503 for model 'm/x': busy (no capacity for this model right now)"
    if delivered:
        expected += " (the stream broke after output was delivered; not retried)"
    assert (error.message, error.retryable) == (expected, not delivered)


def test_map_error_of_a_transport_failure_is_a_502_or_504() -> None:
    refused = caused_by(httpx.ConnectError("connect"), ConnectionRefusedError("refused"))
    assert map_error(refused, model_id="m/x", model_name="DeepInfra").status_code == 502
    error = map_error(httpx.ReadTimeout("read"), model_id="m/x", model_name="DeepInfra")
    assert isinstance(error, DeepInfraError)
    assert (error.status_code, error.model_id, error.model_name) == (504, "m/x", "DeepInfra")
    assert error.message == "DeepInfra request timed out for model 'm/x': ReadTimeout: read"
    assert error.retryable is True  # nothing was delivered unless the caller says so


def test_a_json_body_without_text_falls_back_to_the_reason_phrase() -> None:
    assert error_text(httpx.Response(503, json={"detail": ""})) == "Service Unavailable"


@pytest.mark.parametrize("status", [401, 404, 503])
def test_a_status_error_carries_the_model_and_deepinfras_whole_text(status: int) -> None:
    text = "x" * (MAX_MESSAGE_TEXT + 50)
    error = status_error(status, httpx.Response(status, json={"detail": text}), model_id="m/x", model_name="DeepInfra")
    assert (error.status_code, error.model_name, error.detail) == (status, "DeepInfra", text)  # type: ignore[attr-defined]
    if status != 401:  # agno's ModelAuthenticationError has no model_id
        assert error.model_id == "m/x"  # type: ignore[attr-defined]


@pytest.mark.parametrize("shape", [s for s in ERROR_SHAPES if not isinstance(s.body, str)], ids=lambda s: s.name)
def test_text_of_a_parsed_error_body_is_deepinfras_text(shape: ErrorShape) -> None:
    """A batch line's error arrives as parsed JSON, not a response: the same text as from an HTTP error."""
    assert text_of(shape.body).startswith(shape.message)


SECRET = "sk-live-0123456789abcdef"


def test_a_key_in_a_transport_failure_never_reaches_the_error_or_its_cause() -> None:
    """The SDK's exception repeats what failed; its text, args and `message` lose the key, and so does ours."""
    sdk_error = openai.APIConnectionError(
        message=f"Connection error: proxy said Bearer {SECRET}",
        request=httpx.Request("POST", "http://127.0.0.1/v1/openai/chat/completions"),
    )
    error = map_error(sdk_error, model_id="m/x", model_name="DeepInfra", secret=SECRET)
    surfaces = [str(error), error.message, str(sdk_error), sdk_error.message, *map(str, sdk_error.args)]
    assert all(SECRET not in text for text in surfaces), surfaces
    assert "<redacted>" in str(error) and "<redacted>" in sdk_error.message
    wrapped = caused_by(openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1/")), OSError(SECRET))
    assert SECRET not in str(map_error(wrapped, model_id="m/x", model_name="DeepInfra", secret=SECRET))  # its cause
    plain = httpx.ConnectError(f"connect failed for key {SECRET}")
    assert SECRET not in str(map_error(plain, model_id="m/x", model_name="DeepInfra", secret=SECRET))
    assert SECRET not in str(plain) and "<redacted>" in str(plain)


def test_a_key_of_the_shortest_redacted_length_is_redacted() -> None:
    from agno_deepinfra._shared.error_text import MIN_SECRET, redact

    key = "k" * MIN_SECRET
    assert redact(f"bad key {key}", key) == "bad key <redacted>"
    assert redact("bad key kkk", "kkk") == "bad key kkk"  # shorter: ordinary words would go blank


def test_an_error_body_that_is_no_json_is_named_by_its_type() -> None:
    assert text_of({1, 2}) == "an error body of type set"  # json.dumps refuses it
    nested: list[Any] = []
    for _ in range(100_000):  # past what `str` or `json.dumps` can walk
        nested = [nested]
    assert text_of(nested) == "an error body of type list"


def test_the_error_keeps_agnos_positional_arguments() -> None:
    error = DeepInfraError("DeepInfra HTTP 503 for model 'm/x': busy", 503, "DeepInfra", "m/x")
    assert (error.status_code, error.model_name, error.model_id) == (503, "DeepInfra", "m/x")
