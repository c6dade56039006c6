"""The emulator's error surface (WIRE.md, "Error surface") against the plugin's one error mapping
(`_shared/errors.py`): every body shape DeepInfra uses, every status the emulator sends, and `Retry-After`,
through the chat model, the embedder and the reranker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agno.exceptions import ContextWindowExceededError, ModelAuthenticationError, ModelRateLimitError
from agno.knowledge.document import Document
from agno.models.message import Message

import agno_deepinfra.testing
from agno_deepinfra import DeepInfra, DeepInfraError
from agno_deepinfra.embedder import DeepInfraEmbedder
from agno_deepinfra.reranker import DeepInfraReranker
from agno_deepinfra.testing import DeepInfraEmulator, Fault
from agno_deepinfra.testing.errors import ERROR_SHAPES, STATUS_MESSAGES, ErrorShape

WIRE_DOC = Path(agno_deepinfra.testing.__file__).with_name("WIRE.md")
CLIENTS = ("chat", "chat-stream", "embedder", "reranker")


def fault(shape: ErrorShape, headers: dict[str, str] | None = None) -> Fault:
    if isinstance(shape.body, str):
        return Fault.status(shape.status, text=shape.body, headers=headers)
    return Fault.status(shape.status, body=shape.body, headers=headers)


@pytest.fixture
def call(emu: DeepInfraEmulator) -> Iterator[Callable[[str], None]]:
    """Make one request with a client of the plugin (no retries), on the route the fault was queued on."""
    model = DeepInfra(base_url=emu.base_url, api_key=emu.api_key, retries=0)
    embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key, retries=0)
    reranker = DeepInfraReranker(base_url=emu.base_url, api_key=emu.api_key, retries=0, raise_on_error=True)

    def run(client: str) -> None:
        messages = [Message(role="user", content="hi")]
        if client == "chat":
            model.invoke(messages=messages, assistant_message=Message(role="assistant"))
        elif client == "chat-stream":
            list(model.invoke_stream(messages=messages, assistant_message=Message(role="assistant")))
        elif client == "embedder":
            embedder.get_embedding_and_usage("hi")
        else:
            asyncio.run(reranker.arerank("q", [Document(content="d")]))

    yield run
    embedder.close()
    reranker.close()


ROUTES = {"chat": "chat", "chat-stream": "chat", "embedder": "embeddings", "reranker": "inference"}


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("shape", ERROR_SHAPES, ids=lambda shape: shape.name)
def test_every_error_shape_yields_deepinfras_text(
    emu: DeepInfraEmulator, call: Callable[[str], None], shape: ErrorShape, client: str
) -> None:
    emu.queue(fault(shape), route=ROUTES[client])
    with pytest.raises(Exception) as raised:  # noqa: PT011  (the type is checked per status below)
        call(client)
    message = str(raised.value)
    assert shape.message in message and f"HTTP {shape.status}" in message
    assert "<html>" not in message and "{" not in message.partition(": ")[2]  # text, not a JSON dump
    assert getattr(raised.value, "status_code", None) == shape.status


def test_context_overflow_shape_is_a_context_window_error(emu: DeepInfraEmulator, call: Callable[[str], None]) -> None:
    emu.queue(fault(next(shape for shape in ERROR_SHAPES if shape.name == "openai-error")))
    with pytest.raises(ContextWindowExceededError):
        call("chat")


# What the plugin makes of each status (WIRE.md's status table; `_shared.errors.error_class` is the code).
RATE_LIMITED = {429, 503}
RETRIED = {429, 500, 502, 503, 504}


@pytest.mark.parametrize("status", sorted(STATUS_MESSAGES))
def test_every_status_maps_to_its_type_and_retry_verdict(
    emu: DeepInfraEmulator, call: Callable[[str], None], status: int
) -> None:
    """The emulator's default body for each status (`{"detail": {"error": ...}}`), through the chat model."""
    emu.queue(Fault.status(status, headers={"Retry-After": "7"}))
    with pytest.raises(Exception) as raised:  # noqa: PT011  (checked below)
        call("chat")
    error: Any = raised.value
    assert STATUS_MESSAGES[status].rstrip(".") in str(error)
    if status == 401:
        assert isinstance(error, ModelAuthenticationError)
        return
    assert isinstance(error, DeepInfraError)
    assert isinstance(error, ModelRateLimitError) is (status in RATE_LIMITED)
    assert error.retryable is (status in RETRIED)
    assert error.retry_after == (7.0 if status in RETRIED else None)  # read on every retried status


def test_the_documented_table_lists_every_shape_and_status() -> None:
    doc = WIRE_DOC.read_text()
    table = doc[doc.index("## Error surface") :]
    assert all(f"`{shape.name}`" in table for shape in ERROR_SHAPES)
    assert all(f"| {status} |" in table for status in STATUS_MESSAGES)
