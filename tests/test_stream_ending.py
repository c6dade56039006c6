"""A stream that closes cleanly without a `finish_reason` is an incomplete answer (`chat._attempt.StreamScope.ended`).

The emulator always finishes its streams, so this one case is served by a few lines of
`http.server` on 127.0.0.1: a real socket, the real openai SDK and agno's real retry loop. Once
content, a tool call or reasoning has reached the consumer, the failure is final; before that,
it is retried like any other failure. And a stream that does finish passes its usage on to agno
once (`StreamScope.deliver`), checked against the emulator.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from agno.agent import Agent
from agno.db.in_memory import InMemoryDb
from agno.exceptions import ModelProviderError
from agno.models.message import Message
from paths import run_path

from agno_deepinfra import DeepInfra
from agno_deepinfra._shared.errors import DeepInfraError
from agno_deepinfra.testing import DeepInfraEmulator, Reply

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
CUT_SHORT = (
    f"DeepInfra returned an incomplete response for model '{MODEL_ID}': "
    "the stream ended before the model finished (no finish_reason)"
)
TOOL_CALL = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
# What reaches the consumer before the stream stops: nothing, or one piece of each kind.
DELTAS: dict[str, list[dict[str, Any]]] = {
    "nothing": [],
    "content": [{"content": "Hel"}],
    "tool call": [{"tool_calls": [TOOL_CALL]}],
    "reasoning": [{"reasoning_content": "Let me think"}],
}


class UnfinishedStreams(ThreadingHTTPServer):
    """Answers every chat request with a role event, then `deltas`, then `[DONE]`: never a finish_reason."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.deltas: list[dict[str, Any]] = []
        self.requests = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/openai"


class _Handler(BaseHTTPRequestHandler):
    server: UnfinishedStreams

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.requests += 1
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for delta in [{"role": "assistant", "content": ""}, *self.server.deltas]:
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def server() -> Iterator[UnfinishedStreams]:
    with UnfinishedStreams() as running:
        thread = threading.Thread(target=running.serve_forever, daemon=True)
        thread.start()
        yield running
        running.shutdown()


def consume(model: DeepInfra, path: str) -> int:
    """Stream one answer on `path`; the number of deltas the consumer received before the error."""
    messages = [Message(role="user", content="hi")]
    received = 0
    if path == "stream":
        for _ in model.response_stream(messages=messages):
            received += 1
        return received

    async def run() -> int:
        count = 0
        async for _ in model.aresponse_stream(messages=messages):
            count += 1
        return count

    return asyncio.run(run())


@pytest.mark.parametrize("path", ["stream", "astream"])
@pytest.mark.parametrize("delivered", ["content", "tool call", "reasoning"])
def test_a_stream_cut_short_after_output_fails_once_and_is_not_retried(
    server: UnfinishedStreams, waits: list[float], path: str, delivered: str
) -> None:
    server.deltas = DELTAS[delivered]
    model = DeepInfra(id=MODEL_ID, base_url=server.base_url, api_key="test-key", retries=2)
    with pytest.raises(ModelProviderError) as raised:
        consume(model, path)
    assert server.requests == 1 and waits == []
    assert raised.value.message == CUT_SHORT
    assert raised.value.status_code == 502
    assert raised.value.model_id == MODEL_ID and raised.value.model_name == model.name
    assert isinstance(raised.value, DeepInfraError) and raised.value.retryable is False


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_a_stream_cut_short_before_any_output_is_retried(
    server: UnfinishedStreams, waits: list[float], path: str
) -> None:
    server.deltas = DELTAS["nothing"]
    model = DeepInfra(id=MODEL_ID, base_url=server.base_url, api_key="test-key", retries=2)
    with pytest.raises(ModelProviderError) as raised:
        consume(model, path)
    assert server.requests == 3 and len(waits) == 2
    assert raised.value.message == CUT_SHORT
    assert isinstance(raised.value, DeepInfraError) and raised.value.retryable is True


# --------------------------------------------- a finished stream: its usage passes on, once


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_a_finished_streams_usage_reaches_agno_once(
    make_model: Callable[..., DeepInfra], emu: DeepInfraEmulator, path: str
) -> None:
    """`deliver` passes each chunk's usage on (what it adds, see `StreamUsage`): the run's metrics are the stream's."""
    emu.queue(Reply(content="a b c", chunks=3, usage={"prompt_tokens": 50, "completion_tokens": 3}))
    agent = Agent(model=make_model(), db=InMemoryDb(), telemetry=False)  # the db keeps the run's metrics
    content, error = run_path(agent, path)
    assert error is None and content == "a b c"
    metrics = agent.get_last_run_output().metrics  # type: ignore[union-attr]
    assert metrics is not None
    assert (metrics.input_tokens, metrics.output_tokens, metrics.total_tokens) == (50, 3, 53)
