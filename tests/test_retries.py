"""Retries, backoff and DeepInfra's errors, driven through agno's own invocation loop.

Attempt counts come from the emulator's request log; waits from the `waits` fixture, which
records what agno's loop asks to sleep instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from agno.agent import Agent
from agno.exceptions import (
    ContextWindowExceededError,
    ModelAuthenticationError,
    ModelProviderError,
    ModelRateLimitError,
)
from agno.models.message import Message
from agno.run.base import RunStatus
from paths import PATHS, run_path

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply

MakeModel = Callable[..., DeepInfra]


# ---------------------------------------------------------------------- attempt counts


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("retries", [0, 1, 3])
def test_exactly_retries_plus_one_attempts(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float], path: str, retries: int
) -> None:
    emu.always(Fault.status(503))
    _, error = run_path(Agent(model=make_model(retries=retries, delay_between_retries=0.5)), path)
    assert error is not None and "503" in error
    assert len(emu.requests_for("chat")) == retries + 1
    assert waits == [0.5] * retries


@pytest.mark.parametrize("path", PATHS)
def test_success_after_transient_failures(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float], path: str
) -> None:
    emu.queue(Fault.status(500))
    emu.queue(Fault.status(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>"))
    emu.queue(Reply(content="recovered"))
    content, error = run_path(
        Agent(model=make_model(retries=2, delay_between_retries=0.2, exponential_backoff=True)), path
    )
    assert error is None
    assert content == "recovered"
    assert waits == [0.2, 0.4]
    assert len(emu.requests_for("chat")) == 3


def test_openai_client_retries_are_off_unless_asked(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.always(Fault.status(503))
    assert make_model().get_client().max_retries == 0
    Agent(model=make_model(max_retries=1)).run("hi")
    # The user asked for one SDK retry: the two layers multiply (1 agno attempt x 2 SDK attempts).
    assert len(emu.requests_for("chat")) == 2


# ---------------------------------------------------------------------------- Retry-After


def test_retry_after_seconds_raises_the_wait(emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float]) -> None:
    emu.queue(Fault.status(429, headers={"Retry-After": "1"}))
    emu.queue(Reply(content="after the wait"))
    output = Agent(model=make_model(retries=1, delay_between_retries=0)).run("hi")
    assert output.content == "after the wait"
    assert waits == [1.0]


def test_retry_after_http_date(emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float]) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    emu.queue(Fault.status(503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    emu.queue(Reply(content="ok"))
    Agent(model=make_model(retries=1, delay_between_retries=0)).run("hi")
    assert len(waits) == 1 and 27 <= waits[0] <= 30


def test_retry_after_ms_and_the_cap(emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float]) -> None:
    emu.queue(Fault.status(429, headers={"retry-after-ms": "1500"}))
    emu.queue(Fault.status(429, headers={"Retry-After": "3600"}))
    emu.queue(Reply(content="ok"))
    Agent(model=make_model(retries=2, delay_between_retries=0.1, max_retry_delay=5)).run("hi")
    assert waits == [1.5, 5.0]


def test_retry_after_never_shortens_the_schedule(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float]
) -> None:
    emu.queue(Fault.status(503, headers={"Retry-After": "0"}))
    emu.queue(Reply(content="ok"))
    Agent(model=make_model(retries=1, delay_between_retries=2)).run("hi")
    assert waits == [2]


async def test_retry_after_on_the_async_path(emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float]) -> None:
    emu.queue(Fault.status(429, headers={"Retry-After": "2"}))
    emu.queue(Reply(content="ok"))
    output = await Agent(model=make_model(retries=1, delay_between_retries=0)).arun("hi")
    assert output.content == "ok"
    assert waits == [2.0]


def test_jitter_is_off_by_default_and_bounded_when_on(make_model: MakeModel) -> None:
    assert make_model(delay_between_retries=1.5)._get_retry_delay(0) == 1.5
    jittered = make_model(delay_between_retries=1.0, retry_jitter=0.5)
    delays = [jittered._get_retry_delay(0) for _ in range(50)]
    assert all(1.0 <= d <= 1.5 for d in delays)
    assert len(set(delays)) > 1


# ------------------------------------------------------------------------ non-retryable


@pytest.mark.parametrize(
    ("status", "body", "expected_text"),
    [
        (400, {"error": {"message": "messages: field required", "type": "invalid_request_error"}}, "field required"),
        (401, {"detail": {"error": "Authentication required"}}, "Authentication required"),
        (402, {"detail": {"error": "Insufficient balance"}}, "Insufficient balance"),
        (403, {"detail": "Forbidden for this key"}, "Forbidden for this key"),
        (404, {"detail": {"error": "Model is not available"}}, "Model is not available"),
        (413, {"error": "Request entity too large"}, "Request entity too large"),
        (
            422,
            {"detail": [{"loc": ["body", "temperature"], "msg": "Input should be less than or equal to 2"}]},
            "temperature: Input should be less than or equal to 2",
        ),
    ],
)
@pytest.mark.parametrize("path", PATHS)
def test_client_errors_are_tried_once_and_keep_deepinfras_text(
    emu: DeepInfraEmulator,
    make_model: MakeModel,
    waits: list[float],
    path: str,
    status: int,
    body: Any,
    expected_text: str,
) -> None:
    emu.always(Fault.status(status, body=body))
    _, error = run_path(Agent(model=make_model(retries=3)), path)
    assert error is not None
    assert expected_text in error
    assert str(status) in error
    assert len(emu.requests_for("chat")) == 1
    assert waits == []


def test_unknown_model_is_not_retried_and_says_what_to_do(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float]
) -> None:
    output = Agent(model=make_model(id="no-such/model", retries=3)).run("hi")
    assert output.status == RunStatus.error
    assert "Model is not available" in str(output.content)
    assert "no-such/model" in str(output.content)
    assert "list_models" in str(output.content)
    assert len(emu.requests_for("chat")) == 1


def invoke(model: DeepInfra) -> None:
    model.invoke(messages=[Message(role="user", content="hi")], assistant_message=Message(role="assistant"))


@pytest.mark.parametrize(
    ("status", "body", "error_type", "text"),
    [
        (401, None, ModelAuthenticationError, "DEEPINFRA_API_KEY"),
        (429, {"detail": {"error": "Rate limited"}}, ModelRateLimitError, "Rate limited"),
        (
            400,
            {"detail": {"error": "This model's maximum context length is 8192 tokens"}},
            ContextWindowExceededError,
            "maximum context length",
        ),
        (500, {"error": "boom"}, ModelProviderError, "boom"),
        (
            502,
            "<html><title>502</title><body>Bad gateway from the proxy</body></html>",
            ModelProviderError,
            "Bad gateway from the proxy",
        ),
        (503, {"detail": "No capacity"}, ModelProviderError, "No capacity"),
    ],
)
def test_error_mapping_types_and_messages(
    emu: DeepInfraEmulator, make_model: MakeModel, status: int, body: Any, error_type: type[Exception], text: str
) -> None:
    emu.queue(Fault.status(status, text=body) if isinstance(body, str) else Fault.status(status, body=body))
    model = make_model()
    with pytest.raises(error_type) as raised:
        invoke(model)
    message = str(raised.value)
    assert text in message
    assert f"HTTP {status}" in message
    assert "<html>" not in message
    assert getattr(raised.value, "status_code", None) == status
    if status != 401:
        assert model.id in message


def test_context_overflow_is_not_retried(emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float]) -> None:
    model = make_model(id="meta-llama/Llama-2-70b-chat-hf", retries=3)
    output = Agent(model=model).run("word " * 20000)
    assert output.status == RunStatus.error
    assert "maximum context length" in str(output.content)
    assert len(emu.requests_for("chat")) == 1


@pytest.mark.parametrize("path", ["response", "aresponse", "stream", "astream"])
def test_programming_errors_surface_at_once(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    """A bug in our code or agno's is raised as itself, not wrapped into a retryable provider error.

    On the stream paths agno's chunk parsing runs inside the request's failure scope (between
    chunks): a bug there must pass through it unmapped too.
    """
    model = make_model(retries=3)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("bug")

    model._parse_provider_response = broken  # type: ignore[method-assign]
    model._parse_provider_response_delta = broken  # type: ignore[method-assign]
    emu.queue(Reply(content="fine"))
    messages = [Message(role="user", content="hi")]

    async def drain() -> None:
        async for _ in model.aresponse_stream(messages=messages):
            pass

    call = {
        "response": lambda: model.response(messages=messages),
        "aresponse": lambda: asyncio.run(model.aresponse(messages=messages)),
        "stream": lambda: list(model.response_stream(messages=messages)),
        "astream": lambda: asyncio.run(drain()),
    }[path]
    with pytest.raises(KeyError):
        call()
    assert len(emu.requests_for("chat")) == 1


# ------------------------------------------------------------------------------- streams


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_stream_cut_after_output_is_not_spliced(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float], path: str
) -> None:
    agent = Agent(model=make_model(retries=3))
    emu.queue(Fault.drop_after(2))
    emu.queue(Reply(content="SHOULD NOT APPEAR"))
    content, error = run_path(agent, path)
    assert error is not None and "not retried" in error
    assert "SHOULD NOT APPEAR" not in content
    assert len(emu.requests_for("chat")) == 1
    assert waits == []


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_stream_consumer_holds_exactly_the_delivered_chunks(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    model = make_model(retries=2)
    emu.always(Fault.drop_after(2))
    messages = [Message(role="user", content="one two three four five six")]
    received: list[str] = []

    def consume() -> None:
        for delta in model.response_stream(messages=messages):
            if getattr(delta, "content", None):
                received.append(delta.content)

    async def aconsume() -> None:
        async for delta in model.aresponse_stream(messages=messages):
            if getattr(delta, "content", None):
                received.append(delta.content)

    with pytest.raises(ModelProviderError):
        consume() if path == "stream" else asyncio.run(aconsume())
    assert len(received) == 2
    assert len(emu.requests_for("chat")) == 1


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_stream_failing_before_output_is_retried(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float], path: str
) -> None:
    emu.queue(Fault.drop())
    emu.queue(Reply(content="second try", chunks=2))
    content, error = run_path(Agent(model=make_model(retries=1)), path)
    assert error is None
    assert content == "second try"
    assert len(emu.requests_for("chat")) == 2


def test_connection_refused_is_retried(make_model: MakeModel, waits: list[float]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = DeepInfra(base_url=f"http://127.0.0.1:{port}", api_key="k", retries=2, delay_between_retries=0.1)
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.error
    assert "request failed" in str(output.content)
    assert waits == [0.1, 0.1]


# ------------------------------------------------------------------------------- logging


def test_one_warning_per_retry(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    emu.always(Fault.status(503))
    Agent(model=make_model(retries=2, delay_between_retries=0.25)).run("hi")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    for n, warning in enumerate(warnings, start=1):
        assert f"attempt {n}/3" in warning
        assert "HTTP 503" in warning
        assert "Retrying in 0.25s" in warning


# ------------------------------------------------------------------- loops and threads


def test_repeated_asyncio_run_on_one_agent(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    agent = Agent(model=make_model())
    outputs = [asyncio.run(agent.arun(f"run {i}")) for i in range(4)]
    assert [o.status for o in outputs] == [RunStatus.completed] * 4
    assert len(emu.requests_for("chat")) == 4


def test_threads_share_one_model(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = make_model()

    def ask(i: int) -> str:
        if i % 2:
            return str(asyncio.run(Agent(model=model).arun(f"thread question {i}")).content)
        return str(Agent(model=model).run(f"thread question {i}").content)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(16)))
    for i, answer in enumerate(answers):
        assert f"thread question {i}" in answer
