"""Per-call CPU of the open-model handling (issue 25): request build + parse, streams, whole calls.

Run: `AGNO_TELEMETRY=false .venv/bin/python tools/bench_open_models.py`. To compare with another
revision, export its package (`git archive REV agno_deepinfra | tar -x -C /tmp/base`) and run the
same command with `PYTHONPATH=/tmp/base` (this script only uses what every revision has, and
`_StreamScope(model)` where a revision takes no request). Whole calls go to an in-process emulator; only the
calling thread's CPU is counted (`time.thread_time`), so the emulator's own work is left out.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from agno.models.message import Message
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from agno_deepinfra import DeepInfra

try:
    from agno_deepinfra.chat._attempt import StreamScope as _StreamScope
except ImportError:  # a revision from before the re-layout
    from agno_deepinfra.chat import _StreamScope  # type: ignore[attr-defined,no-redef]
from agno_deepinfra.testing import DeepInfraEmulator

# A model in no family (added to the emulator), then three families.
MODEL_IDS = (
    "acme/custom-model",
    "meta-llama/Llama-3.3-70B-Instruct",
    "Qwen/Qwen3-32B",
    "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
)
TOOLS = [
    {
        "type": "function",
        "function": {"name": f"tool_{i}", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}},
    }
    for i in range(3)
]
REPLY = ChatCompletion.model_validate(
    {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "A plain answer. " * 20}}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
)
_CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
CHUNKS = [
    ChatCompletionChunk.model_validate({**_CHUNK, "choices": [{"index": 0, "delta": {"content": f"word{i} "}}]})
    for i in range(40)
] + [ChatCompletionChunk.model_validate({**_CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})]


def conversation() -> list[Message]:
    """A tool loop's history: system, user, four tool rounds, user."""
    messages = [Message(role="system", content="You are helpful. " * 20), Message(role="user", content="hi " * 50)]
    for i in range(4):
        call = {
            "id": f"call_{i}abc",
            "type": "function",
            "function": {"name": "tool_0", "arguments": json.dumps({"x": "y"})},
        }
        messages.append(Message(role="assistant", content="", tool_calls=[call], reasoning_content="thinking " * 10))
        messages.append(Message(role="tool", content="result " * 20, tool_call_id=f"call_{i}abc"))
    return [*messages, Message(role="user", content="and then?")]


def best(run: Any, n: int, rounds: int = 5, clock: Any = time.process_time) -> float:
    """The fastest round's microseconds per call."""
    fastest = float("inf")
    for _ in range(rounds):
        start = clock()
        for _ in range(n):
            run()
        fastest = min(fastest, (clock() - start) / n * 1e6)
    return fastest


def local(model: DeepInfra, messages: list[Message]) -> tuple[float, float]:
    def request_and_parse() -> None:
        request = model._chat_request(messages, None, TOOLS, None, None, False)
        parse = getattr(model, "_parse_reply", None)
        parse(REPLY, request, None) if parse else model._parse_provider_response(REPLY)

    request = model._chat_request(messages, None, TOOLS, None, None, True)

    def stream() -> None:
        try:
            scope = _StreamScope(model, request)  # older revisions take the model only
        except TypeError:
            scope = _StreamScope(model)
        for chunk in CHUNKS:
            scope.deliver(chunk)

    return best(request_and_parse, 3000), best(stream, 300)


def whole(model: DeepInfra, messages: list[Message]) -> tuple[float, float]:
    def streamed() -> None:
        for _ in model.invoke_stream(messages, Message(role="assistant"), tools=TOOLS):
            pass

    run = best(lambda: model.invoke(messages, Message(role="assistant"), tools=TOOLS), 300, clock=time.thread_time)
    return run, best(streamed, 100, clock=time.thread_time)


def main() -> None:
    messages = conversation()
    with DeepInfraEmulator(record=False) as emu:
        for model_id in sys.argv[1:] or MODEL_IDS:
            if emu.catalog.get(model_id) is None:
                emu.add_model(model_id)
            model = DeepInfra(id=model_id, api_key=emu.api_key, base_url=emu.base_url)
            request, stream = local(model, messages)
            call, streamed = whole(model, messages)
            figures = (
                f"request+parse {request:6.1f} us  41-chunk stream {stream:6.1f} us  "
                f"whole call {call:6.1f} us  whole stream {streamed:6.1f} us"
            )
            print(f"{model_id:46s} {figures}")


if __name__ == "__main__":
    main()
