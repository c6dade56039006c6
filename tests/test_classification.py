"""One error table (`_shared.errors.error_class`) for chat, the embedder and the reranker.

agno's retry loop re-classifies chat errors (`ModelProviderError.classify`) before asking whether
to retry; the embedder and reranker retry in the package's own runner. Each case below goes through
all three against the emulator and must be retried, or not, the same way, with the same waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from agno.agent import Agent
from agno.exceptions import ContextWindowExceededError, ModelProviderError, ModelRateLimitError
from agno.knowledge.document import Document
from agno.models.message import Message
from agno.run.agent import RunErrorEvent
from paths import PATHS, run_path

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraReranker
from agno_deepinfra._shared.errors import MAX_MESSAGE_TEXT
from agno_deepinfra.testing import DeepInfraEmulator, Fault

# (name, status, DeepInfra's text, headers, retried, wait before the retry, agno class for chat)
CASES = [
    ("overloaded 529", 529, "Overloaded", {}, True, 0.25, ModelRateLimitError),
    ("503 naming tokens", 503, "Too many tokens queued for this model, retry", {}, True, 0.25, ModelRateLimitError),
    ("429 with Retry-After", 429, "Rate limited", {"Retry-After": "3"}, True, 3.0, ModelRateLimitError),
    ("500 with Retry-After", 500, "Internal error", {"Retry-After": "2"}, True, 2.0, ModelProviderError),
    ("500 naming a token limit", 500, "token limit exceeded", {}, False, None, ContextWindowExceededError),
    ("400 context overflow", 400, "maximum context length is 8192 tokens", {}, False, None, ContextWindowExceededError),
    ("422 validation", 422, "temperature: must be <= 2", {}, False, None, ModelProviderError),
]
IDS = [case[0] for case in CASES]

Owner = Callable[[], Any]


@pytest.fixture
def owners(emu: DeepInfraEmulator) -> Iterator[dict[str, tuple[str, Owner]]]:
    """Each class, configured alike with `retries=1`, as (emulator route, a call that may fail)."""
    settings: dict[str, Any] = {"base_url": emu.base_url, "api_key": emu.api_key, "retries": 1}
    settings["delay_between_retries"] = 0.25
    model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", **settings)
    embedder = DeepInfraEmbedder(**settings)
    reranker = DeepInfraReranker(raise_on_error=True, **settings)
    yield {
        "chat": ("chat", lambda: model.response(messages=[Message(role="user", content="hi")])),
        "embedder": ("embeddings", lambda: embedder.get_embedding("hi")),
        "reranker": ("inference", lambda: reranker.rerank("q", [Document(content="a")])),
    }
    embedder.close()
    reranker.close()


def _body(status: int, text: str) -> dict[str, Any]:
    return {"detail": {"error": text}} if status != 422 else {"detail": [{"loc": ["body", "x"], "msg": text}]}


@pytest.mark.parametrize("owner", ["chat", "embedder", "reranker"])
@pytest.mark.parametrize(("name", "status", "text", "headers", "retried", "wait", "agno_class"), CASES, ids=IDS)
def test_every_class_retries_the_same_failures_the_same_way(
    emu: DeepInfraEmulator,
    owners: dict[str, tuple[str, Owner]],
    waits: list[float],
    slept: list[float],
    owner: str,
    name: str,
    status: int,
    text: str,
    headers: dict[str, str],
    retried: bool,
    wait: float | None,
    agno_class: type[Exception],
) -> None:
    route, call = owners[owner]
    emu.always(Fault.status(status, body=_body(status, text), headers=headers), route=route)
    with pytest.raises(Exception) as raised:  # noqa: PT011  (the type is checked per class below)
        call()
    assert len(emu.requests_for(route)) == (2 if retried else 1)
    assert (waits if owner == "chat" else slept) == ([wait] if retried else [])
    if owner == "chat":  # what agno's loop raises after its own re-classification
        assert isinstance(raised.value, agno_class)
        assert getattr(raised.value, "status_code", None) == status


def test_a_long_deepinfra_text_keeps_agnos_retry_log_readable(
    emu: DeepInfraEmulator, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    long_text = "Rate limited: " + "this account has too many requests in flight; " * 40
    emu.always(Fault.status(429, body={"detail": {"error": long_text}}))
    model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url, api_key=emu.api_key, retries=1)
    caplog.set_level(logging.WARNING)
    with pytest.raises(ModelRateLimitError) as raised:
        model.response(messages=[Message(role="user", content="hi")])
    [retry_line] = [r.getMessage() for r in caplog.records if "Retrying in" in r.getMessage()]
    assert len(long_text) > 1800 and len(retry_line) < 3 * (MAX_MESSAGE_TEXT + 200)
    assert raised.value.detail == long_text  # type: ignore[attr-defined]  # the whole text stays on the error
    assert len(raised.value.message) < MAX_MESSAGE_TEXT + 150


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", [429, 401, 400])
def test_through_an_agent_the_message_names_the_status(emu: DeepInfraEmulator, path: str, status: int) -> None:
    """README, "Errors, as your code sees them": nothing raises; the message starts with the status."""
    emu.queue(Fault.status(status))
    content, error = run_path(Agent(model=_model(emu)), path)
    assert content == "" and error is not None and error.startswith(f"DeepInfra HTTP {status} for model ")


@pytest.mark.parametrize(("status", "error_type"), [(429, "model_provider_error"), (401, "model_authentication_error")])
def test_a_streamed_run_ends_with_agnos_error_type(emu: DeepInfraEmulator, status: int, error_type: str) -> None:
    emu.queue(Fault.status(status))
    events = list(Agent(model=_model(emu)).run("hi", stream=True))
    [event] = [e for e in events if isinstance(e, RunErrorEvent)]
    assert event.error_type == error_type and str(event.content).startswith(f"DeepInfra HTTP {status}")


def _model(emu: DeepInfraEmulator) -> DeepInfra:
    return DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url, api_key=emu.api_key)
