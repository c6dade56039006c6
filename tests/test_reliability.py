"""The fault matrix: every fault x the four paths x {retries=0, retries=2}, and the table in RELIABILITY.md.

Each row says what the emulator does and what the consumer must see. The Markdown table in
RELIABILITY.md is rendered from these rows and checked here, so the document cannot drift
(`UPDATE_RELIABILITY=1 pytest tests/test_reliability.py` rewrites it).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.run.base import RunStatus
from paths import NEEDS_AIOHTTP, PATHS, run_path

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply, ToolCall

ANSWER = "The answer, delivered once."
SPLICE = "SECOND ANSWER THAT MUST NEVER BE SPLICED"
DOC = Path(__file__).resolve().parents[1] / "RELIABILITY.md"
BEGIN, END = "<!-- fault-matrix:begin -->", "<!-- fault-matrix:end -->"
STREAM_CUT = "error, partial output kept, not retried"
NOT_APPLICABLE = "n/a (a stream has no choices list)"
NOT_A_STREAM = "n/a (not a stream)"
STREAM_CUT_ERROR = "the stream broke after output was delivered; not retried"


@dataclass(frozen=True)
class Row:
    """One fault: how to inject it and the expected outcome per path kind and retries setting."""

    fault: str
    inject: Callable[[DeepInfraEmulator], None]
    retried: bool  # with retries=2, does the call succeed on a later attempt?
    error: str  # what the error says when the call fails
    stream_cut: bool = False  # fails after output reached a stream's consumer: never retried there
    streams_only: bool = False  # a fault of the SSE stream itself: nothing to inject into run/arun
    always_succeeds: bool = False  # the fault does not prevent a complete answer
    refused: bool = False  # nothing listens: every attempt fails
    timeout: float = 10.0  # per attempt; short only where the fault is a hang, so load cannot fake one


def first(*items: Reply | Fault) -> Callable[[DeepInfraEmulator], None]:
    """Queue `items` on the chat route, then the normal answer."""

    def inject(emu: DeepInfraEmulator) -> None:
        for item in items:
            emu.queue(item)
        emu.queue(Reply(content=ANSWER, chunks=4))
        emu.queue(Reply(content=SPLICE))  # only reached if something was retried twice

    return inject


ROWS = [
    Row("429 with Retry-After", first(Fault.status(429, headers={"Retry-After": "0"})), True, "HTTP 429"),
    Row("500", first(Fault.status(500)), True, "HTTP 500"),
    Row(
        "502 with an HTML body",
        first(Fault.status(502, text="<html><h1>502 Bad Gateway</h1></html>")),
        True,
        "HTTP 502 for model 'meta-llama/Meta-Llama-3.1-8B-Instruct': 502 Bad Gateway",
    ),
    Row("503", first(Fault.status(503)), True, "HTTP 503"),
    Row("504", first(Fault.status(504)), True, "HTTP 504"),
    Row("connection refused", first(), False, "request failed", refused=True),
    Row("connection dropped before the response", first(Fault.drop()), True, "request failed"),
    Row(
        "connection dropped mid-stream",
        first(Fault.drop_after(2, then=Reply(content=ANSWER, chunks=4))),
        True,
        "request failed",
        stream_cut=True,
        streams_only=True,  # on run/arun it is the "dropped before the response" row again
    ),
    Row("server hangs (read timeout)", first(Fault.hang()), True, "timed out", timeout=0.5),
    Row("malformed JSON body / SSE event", first(Fault.malformed_json()), True, "not valid JSON"),
    Row(
        "SSE ends without [DONE]",
        first(Fault.no_done(then=Reply(content=ANSWER, chunks=4))),
        True,
        "",
        always_succeeds=True,
        streams_only=True,
    ),
    Row(
        "response with no choices",
        first(Reply(body={"id": "x", "object": "chat.completion", "choices": []})),
        True,
        "incomplete response",
    ),
]


def outcome(row: Row, path: str, retries: int) -> str:
    """The expected outcome of one cell, as written in RELIABILITY.md."""
    streamed = path in ("stream", "astream")
    if row.streams_only and not streamed:
        return NOT_A_STREAM
    if row.always_succeeds:
        return "answer"
    if row.refused:
        return f"error after {retries + 1} attempts"
    if row.stream_cut and streamed:
        return STREAM_CUT
    if row.fault == "response with no choices" and streamed:
        return NOT_APPLICABLE
    return "answer after 1 retry" if retries else "error"


def render_table() -> str:
    lines = ["| fault | retries | run | arun | stream | async stream |", "|---|---|---|---|---|---|"]
    for row in ROWS:
        for retries in (0, 2):
            cells = " | ".join(outcome(row, path, retries) for path in PATHS)
            lines.append(f"| {row.fault} | {retries} | {cells} |")
    return "\n".join(lines)


def test_reliability_md_shows_this_matrix() -> None:
    document = DOC.read_text()
    table = render_table()
    if os.getenv("UPDATE_RELIABILITY"):
        head, rest = document.split(BEGIN)
        document = f"{head}{BEGIN}\n{table}\n{END}{rest.split(END)[1]}"
        DOC.write_text(document)
    assert f"{BEGIN}\n{table}\n{END}" in document, "RELIABILITY.md is stale: UPDATE_RELIABILITY=1 pytest ..."


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Every cell on httpx; the async paths again on the opt-in aiohttp transport, which must behave alike.
CELLS = [
    pytest.param(row, path, retries, transport, id=f"{row.fault}-{path}-{retries}-{transport}", marks=marks)
    for transport, paths, marks in (("httpx", PATHS, ()), ("aiohttp", ("arun", "astream"), NEEDS_AIOHTTP))
    for row in ROWS
    for path in paths
    for retries in (0, 2)
    if outcome(row, path, retries) not in (NOT_APPLICABLE, NOT_A_STREAM)
]


def expected_attempts(expected: str) -> int:
    """HTTP attempts a cell's outcome stands for, read from its words alone."""
    if expected.startswith("error after "):
        return int(expected.split()[2])
    return {"answer": 1, "answer after 1 retry": 2, "error": 1, STREAM_CUT: 1}[expected]


@pytest.mark.parametrize(("row", "path", "retries", "transport"), CELLS)
def test_fault_matrix(
    emu: DeepInfraEmulator,
    waits: list[float],
    tmp_path: Path,
    row: Row,
    path: str,
    retries: int,
    transport: Literal["httpx", "aiohttp"],
) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}" if row.refused else emu.base_url
    model = DeepInfra(
        id="meta-llama/Meta-Llama-3.1-8B-Instruct",
        base_url=base_url,
        api_key=emu.api_key,
        retries=retries,
        timeout=row.timeout,
        async_transport=transport,
    )
    db = SqliteDb(db_file=str(tmp_path / "history.db"))
    agent = Agent(model=model, db=db, session_id="s", add_history_to_context=True)
    row.inject(emu)
    content, error = run_path(agent, path, "hello")
    expected = outcome(row, path, retries)

    assert SPLICE not in content
    if expected.startswith("answer"):
        assert error is None, error
        assert content == ANSWER  # complete, and exactly once
    else:
        assert error is not None
        assert (STREAM_CUT_ERROR if expected == STREAM_CUT else row.error) in error
        assert content in ("", ANSWER[: len(content)])  # nothing but a prefix of the one answer
    # Nothing listens on the refused row, so its attempts are counted by agno's waits between them.
    attempts = len(waits) + 1 if row.refused else len(emu.requests_for("chat"))
    assert attempts == expected_attempts(expected)
    assert_history_is_consistent(emu, agent, answered=expected.startswith("answer"))


def assert_history_is_consistent(emu: DeepInfraEmulator, agent: Agent, answered: bool) -> None:
    """The stored session replays the turn once, with the whole answer or without any of it."""
    # A fresh model: the default timeout, and the emulator's URL (the refused row used a closed port).
    agent.model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url, api_key=emu.api_key)
    emu.reset()
    emu.queue(Reply(content="follow-up"))
    assert agent.run("follow-up question").status == RunStatus.completed
    messages = emu.requests_for("chat")[0].body["messages"]
    assistant = [m.get("content") for m in messages if m["role"] == "assistant"]
    assert all(SPLICE not in str(text) for text in assistant)
    assert not [text for text in assistant if text and text != ANSWER and ANSWER.startswith(str(text))]  # no halves
    # Whole or not at all: an answered turn once, a failed one (partial stream output included) not at all.
    assert assistant.count(ANSWER) == (1 if answered else 0)
    assert [m["content"] for m in messages if m["role"] == "user"].count("hello") == (1 if answered else 0)


# --------------------------------------------------------------------------- tool calls


@pytest.mark.parametrize("path", PATHS)
def test_invalid_tool_arguments_do_not_run_the_tool(emu: DeepInfraEmulator, path: str) -> None:
    calls: list[str] = []

    def get_weather(city: str) -> str:
        """Weather for a city."""
        calls.append(city)
        return f"sunny in {city}"

    emu.queue(Reply(tool_calls=[ToolCall("get_weather", '{"city": "Par')]))
    emu.queue(Reply(content=ANSWER))
    model = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url, api_key=emu.api_key)
    content, error = run_path(Agent(model=model, tools=[get_weather]), path, "weather in Paris")
    assert error is None
    assert content.endswith(ANSWER)
    assert calls == []
    tool_message = emu.requests_for("chat")[1].body["messages"][-1]
    assert tool_message["role"] == "tool"
    assert "arguments" in tool_message["content"]  # the model is told why, and can try again


# -------------------------------------------------------------------------------- load


@pytest.mark.parametrize("transport", ["httpx", pytest.param("aiohttp", marks=NEEDS_AIOHTTP)])
def test_300_concurrent_runs_share_one_model_under_faults(
    emu: DeepInfraEmulator, waits: list[float], transport: Literal["httpx", "aiohttp"]
) -> None:
    # Every 7th run's first attempt fails: a fault per run, never more than its retries can absorb,
    # whatever order a loaded machine sends the requests in (a global "every 7th request" can hit
    # one straggling run on every attempt).
    emu.fail_first(Fault.status(429, headers={"Retry-After": "0"}), key=every_seventh_run)
    model = DeepInfra(
        id="meta-llama/Meta-Llama-3.1-8B-Instruct",
        base_url=emu.base_url,
        api_key=emu.api_key,
        retries=3,
        async_transport=transport,
    )

    async def main() -> list[str]:
        outputs = await asyncio.gather(*(Agent(model=model).arun(f"request number {i}") for i in range(300)))
        assert all(o.status == RunStatus.completed for o in outputs), [o.content for o in outputs][:3]
        return [str(o.content) for o in outputs]

    answers = asyncio.run(main())
    for i, answer in enumerate(answers):
        assert f'"request number {i}"' in answer
    assert len(emu.requests_for("chat")) == 300 + 43  # runs 0, 7, ..., 294 were retried once each
    assert len(waits) == 43  # and the retries went through agno's loop


def every_seventh_run(body: dict[str, object]) -> str | None:
    """The key of runs 0, 7, 14, ...: their prompt; None leaves the other runs alone."""
    prompt = str(body["messages"][-1]["content"])  # type: ignore[index]
    return prompt if int(prompt.rsplit(" ", 1)[-1]) % 7 == 0 else None
