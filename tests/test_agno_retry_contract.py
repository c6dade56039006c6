"""agno's retry contract still holds with `DeepInfra` where agno's tests use `OpenAIChat`.

These restate, in this project's words, what agno's own retry unit tests check of a model:
the classification of bare `ModelProviderError`s, the delay schedule, and the loop's attempt
counts with `invoke` replaced by a function that fails.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from agno.exceptions import ModelProviderError
from agno.models.openai import OpenAIChat

from agno_deepinfra import DeepInfra

MODELS = [pytest.param(DeepInfra, id="DeepInfra"), pytest.param(OpenAIChat, id="OpenAIChat")]


def build(cls: type, **kwargs: Any) -> Any:
    return cls(id="some-model", api_key="unused", **kwargs)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_client_statuses_are_final(cls: type, status: int) -> None:
    assert build(cls)._is_retryable_error(ModelProviderError("nope", status_code=status)) is False


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(cls: type, status: int) -> None:
    assert build(cls)._is_retryable_error(ModelProviderError("try later", status_code=status)) is True


@pytest.mark.parametrize("cls", MODELS)
def test_default_status_is_retried(cls: type) -> None:
    assert build(cls)._is_retryable_error(ModelProviderError("unknown")) is True


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize(
    "message",
    ["context_length_exceeded", "This model's MAXIMUM CONTEXT LENGTH is 8192", "Payload Too Large", "token limit"],
)
def test_context_messages_are_final_even_on_500(cls: type, message: str) -> None:
    assert build(cls)._is_retryable_error(ModelProviderError(message, status_code=500)) is False


@pytest.mark.parametrize("cls", MODELS)
def test_delay_schedules(cls: type) -> None:
    exponential = build(cls, delay_between_retries=1, exponential_backoff=True)
    assert [exponential._get_retry_delay(k) for k in range(4)] == [1, 2, 4, 8]
    linear = build(cls, delay_between_retries=2)
    assert [linear._get_retry_delay(k) for k in range(4)] == [2, 2, 2, 2]


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize(("status", "retries", "expected_calls"), [(500, 3, 4), (500, 0, 1), (401, 3, 1)])
def test_loop_attempts_with_a_failing_invoke(cls: type, status: int, retries: int, expected_calls: int) -> None:
    model = build(cls, retries=retries, delay_between_retries=0)
    calls = 0

    def failing(**_: Any) -> Any:
        nonlocal calls
        calls += 1
        raise ModelProviderError("failure", status_code=status)

    with patch.object(model, "invoke", side_effect=failing), pytest.raises(ModelProviderError):
        model._invoke_with_retry(messages=[])
    assert calls == expected_calls


@pytest.mark.parametrize("cls", MODELS)
async def test_async_stream_loop_attempts(cls: type) -> None:
    model = build(cls, retries=2, delay_between_retries=0)
    calls = 0

    async def failing(**_: Any) -> Any:
        nonlocal calls
        calls += 1
        raise ModelProviderError("failure", status_code=503)
        yield  # an async generator, like the real one

    with patch.object(model, "ainvoke_stream", side_effect=failing), pytest.raises(ModelProviderError):
        async for _ in model._ainvoke_stream_with_retry(messages=[]):
            pass
    assert calls == 3


@pytest.mark.parametrize("cls", MODELS)
def test_success_after_failures_stops_the_loop(cls: type) -> None:
    model = build(cls, retries=3, delay_between_retries=0)
    outcomes: list[Any] = [ModelProviderError("e", status_code=500), ModelProviderError("e", status_code=503), "ok"]

    def flaky(**_: Any) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with patch.object(model, "invoke", side_effect=flaky):
        assert model._invoke_with_retry(messages=[]) == "ok"
    assert outcomes == []
