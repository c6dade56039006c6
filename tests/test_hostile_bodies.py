"""Error bodies written by a hostile or broken server: read in linear time, never repeating the key.

Every body goes through the real error path: the emulator answers it over a socket, and agno's
`Agent` (or the embedder) turns it into the run's error. An HTML page that made the old
backtracking tag stripper quadratic would take minutes here (pytest-timeout fails the test); a
key the server echoes must not reach `str(error)`, agno's logs or `RunOutput.content`.
"""

from __future__ import annotations

import logging
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from agno.agent import Agent
from agno.exceptions import AgnoError
from agno.models.message import Message
from agno.run.agent import RunErrorEvent, RunOutput
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra, DeepInfraEmbedder
from agno_deepinfra._shared.error_text import MAX_TEXT, REDACTED, SCAN_LIMIT, _plain_text, error_text, redact
from agno_deepinfra.testing import DeepInfraEmulator, Fault

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
PAGE_TEXT = "502 Bad Gateway upstream connect error or disconnect before headers"
PAGE = f"<html><head><title>502 Bad Gateway</title></head><body><p>{PAGE_TEXT}</p>"
# About a megabyte each. The old stripper (two backtracking regexes over the whole body) took 7.8 s
# for 140 KB of the first and would take about 7 minutes for this one (measured growth: 4x per 2x).
HOSTILE_TAILS = {
    "unclosed script tags": "<script" * 150_000,
    "a page of unclosed <": "a<" * 500_000,
    "script opened, closing tag never ended": "<script>" * 100_000 + "</script" + "x" * 200_000,
}


@pytest.mark.parametrize("tail", HOSTILE_TAILS.values(), ids=HOSTILE_TAILS.keys())
def test_a_hostile_html_error_page_is_read_in_linear_time_through_an_agent(emu: DeepInfraEmulator, tail: str) -> None:
    emu.queue(Fault.status(502, text=PAGE + tail))
    model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key=emu.api_key, retries=0)
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.error
    assert f"DeepInfra HTTP 502 for model '{MODEL_ID}': 502 Bad Gateway {PAGE_TEXT}" in str(output.content)


def test_only_a_bounded_prefix_of_a_page_is_read() -> None:
    """The text past `SCAN_LIMIT` is never looked at: a tag opened before it and closed after it stays open."""
    page = "start <b" + "x" * SCAN_LIMIT + "> after"
    assert _plain_text(page) == _plain_text(page[:SCAN_LIMIT])
    assert _plain_text(page).startswith("start <bxxx")


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("<style>p{color:red}</style><script>if (a<b) x()</script><h1>Bad &amp; gateway</h1>", "Bad & gateway"),
        ("a <b> c <scripts>d</scripts> <script>x", "a c d x"),  # an unclosed script is a tag like any other
        ("<SCRIPT type=x>hidden</Script >shown", "shown"),
        ("hello <unclosed", "hello <unclosed"),
        ("a<>b", "a b"),
        ("x<script_1>y</script_1>z", "x y z"),  # not a script element: `script_1` is another name
        ("<style>a</style>b<style>c</style>d<STYLE>e", "b d e"),  # each closing tag found once, in order
        ("<script>a</script>b<script>c", "b c"),  # the second script never closes: a tag like any other
        ("<script>a</script foo>b", "b"),
        ("<b>&lt;tag&gt; &amp; text</b>", "<tag> & text"),
        ("x" * (MAX_TEXT + 5), "x" * (MAX_TEXT - 3) + "..."),
    ],
)
def test_markup_is_stripped_and_the_text_kept(page: str, expected: str) -> None:
    assert _plain_text(page) == expected


def test_a_deeply_nested_json_error_body_is_read_without_recursion_error(emu: DeepInfraEmulator) -> None:
    import httpx

    nested = '{"detail": ' * 100_000 + '"deep"' + "}" * 100_000
    assert error_text(httpx.Response(500, text=nested)).startswith('{"detail": {"detail"')
    emu.queue(Fault.status(400, text=nested))
    model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key=emu.api_key, retries=0)
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.error
    assert "DeepInfra HTTP 400" in str(output.content)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"detail": [{"loc": 5, "msg": "bad value"}]}, "bad value"),  # a location that is not a list
        ({"detail": [[["nested"]]]}, '[["nested"]]'),
        ({"detail": {"detail": "two deep"}}, "two deep"),
    ],
)
def test_an_odd_validation_body_is_read_not_raised(emu: DeepInfraEmulator, body: Any, expected: str) -> None:
    emu.queue(Fault.status(422, body=body))
    model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key=emu.api_key, retries=0)
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.error
    assert f"DeepInfra HTTP 422 for model '{MODEL_ID}': {expected}" in str(output.content)


# --------------------------------------------------------------------------- an echoed key

SECRET = "sk-di-echoed-secret-0123456789"


def _echo(status: int) -> Fault:
    return Fault.status(status, body={"detail": {"error": f"Invalid API key '{SECRET}' for this model"}})


def _everything(caplog: pytest.LogCaptureFixture, output: Any) -> str:
    logged = "\n".join(f"{record.getMessage()}\n{record.exc_text or ''}" for record in caplog.records)
    return logged + caplog.text + str(output.content) + repr(output)


@pytest.mark.parametrize("status", [400, 401, 403, 500])
def test_a_key_echoed_by_the_server_is_redacted_from_the_run_and_agnos_log(
    caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    with DeepInfraEmulator(api_key=SECRET) as private:
        private.queue(_echo(status))
        model = DeepInfra(id=MODEL_ID, base_url=private.base_url, api_key=SECRET, retries=0)
        output = Agent(model=model).run("hi")
    assert output.status == RunStatus.error
    assert f"Invalid API key '{REDACTED}' for this model" in str(output.content)  # DeepInfra's text is kept
    assert any(record.levelno >= logging.ERROR for record in caplog.records)  # agno's ERROR log was captured
    assert SECRET not in _everything(caplog, output)


@pytest.mark.parametrize("status", [400, 401])  # a 401 is agno's own authentication error: built apart
def test_a_key_echoed_by_the_server_is_not_in_the_chained_sdk_error(status: int) -> None:
    """The SDK's own exception, chained to ours, repeats DeepInfra's message: a logged traceback showed the key."""
    with DeepInfraEmulator(api_key=SECRET) as private:
        private.queue(Fault.status(status, body={"error": {"message": f"Invalid API key '{SECRET}'"}}))
        model = DeepInfra(id=MODEL_ID, base_url=private.base_url, api_key=SECRET, retries=0)
        with pytest.raises(AgnoError) as caught:
            model.response(messages=[Message(role="user", content="hi")])
    chain: list[BaseException] = []
    seen: BaseException | None = caught.value
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ if seen.__cause__ not in (None, seen) else seen.__context__
    sdk_errors = [error for error in chain if type(error).__module__.startswith("openai")]
    assert sdk_errors and f"Invalid API key '{REDACTED}'" in str(sdk_errors[0])  # the SDK's text, redacted
    assert not any(SECRET in "".join(traceback.format_exception(error)) for error in chain)
    ours = [error for error in chain if error not in sdk_errors]
    assert not any(SECRET in repr(vars(error)) for error in ours)  # nor in what our errors carry (`detail`...)


async def test_a_key_echoed_to_a_streamed_async_run_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with DeepInfraEmulator(api_key=SECRET) as private:
        private.queue(_echo(400))
        model = DeepInfra(id=MODEL_ID, base_url=private.base_url, api_key=SECRET, retries=0)
        events = [event async for event in Agent(model=model).arun("hi", stream=True)]
    [error] = [event for event in events if isinstance(event, RunErrorEvent)]
    assert f"Invalid API key '{REDACTED}'" in str(error.content)
    assert SECRET not in _everything(caplog, error) + repr(events)


async def test_a_key_echoed_to_the_async_embedder_is_redacted() -> None:
    with DeepInfraEmulator(api_key=SECRET) as private:
        private.queue(_echo(400), route="embeddings")
        embedder = DeepInfraEmbedder(base_url=private.base_url, api_key=SECRET)
        with pytest.raises(AgnoError) as caught:
            await embedder.async_get_embedding("hi")
        await embedder.aclose()
    texts = [str(caught.value), str(getattr(caught.value, "detail", "")), str(caught.value.__cause__)]
    assert REDACTED in texts[0] and SECRET not in "".join(texts)


def test_redaction_leaves_short_keys_and_other_text_alone() -> None:
    assert redact(f"key {SECRET}, again {SECRET}", SECRET) == f"key {REDACTED}, again {REDACTED}"
    assert redact("a short key k stays readable", "k") == "a short key k stays readable"
    assert redact("nothing to hide", None) == "nothing to hide"


# ------------------------------------------------------------- a stream event of another shape


class _StreamAnswer(BaseHTTPRequestHandler):
    """Answers every chat request with `body` as an event stream (the emulator sends only objects)."""

    protocol_version = "HTTP/1.1"
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("event", ["1e100", '"text"', "[1, 2]", "null"])
def test_a_stream_event_that_is_not_an_object_is_an_incomplete_response(event: str) -> None:
    """Found by `make fuzz`: the SDK yields any JSON value as sent, and agno's parser raised AttributeError."""
    handler = type("Handler", (_StreamAnswer,), {"body": f"data: {event}\n\ndata: [DONE]\n\n".encode()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        events = list(Agent(model=DeepInfra(id=MODEL_ID, base_url=url, api_key="k", retries=0)).run("hi", stream=True))
    finally:
        httpd.shutdown()
        httpd.server_close()
    [error] = [e for e in events if isinstance(e, RunErrorEvent)]
    assert "incomplete response" in str(error.content) and "a stream event that is not a chunk object" in str(
        error.content
    )


def test_a_stream_event_that_is_not_an_object_after_output_is_not_retried() -> None:
    """Once text reached the consumer, a broken event ends the run: a retry would splice two answers."""
    chunk = (
        '{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [{"index": 0, '
        '"delta": {"content": "hello"}, "finish_reason": null}]}'
    )
    served: list[str] = []

    class Handler(_StreamAnswer):
        body = f"data: {chunk}\n\ndata: 1e100\n\ndata: [DONE]\n\n".encode()

        def do_POST(self) -> None:
            served.append(self.path)
            super().do_POST()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        model = DeepInfra(id=MODEL_ID, base_url=url, api_key="k", retries=2, delay_between_retries=0)
        events = list(Agent(model=model).run("hi", stream=True))
    finally:
        httpd.shutdown()
        httpd.server_close()
    [error] = [e for e in events if isinstance(e, RunErrorEvent)]
    assert "a stream event that is not a chunk object" in str(error.content)
    assert len(served) == 1  # not retried: "hello" was already out


def test_a_usage_record_of_infinities_counts_nothing_instead_of_raising() -> None:
    """Found by `make fuzz`: Python's JSON parser reads `Infinity` and `NaN`, and `int(inf)` raised OverflowError."""
    chunk = (
        '{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [{"index": 0, '
        '"delta": {"content": "hello"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": Infinity, '
        '"completion_tokens": 2, "total_tokens": -Infinity, "estimated_cost": NaN}}'
    )
    handler = type("Handler", (_StreamAnswer,), {"body": f"data: {chunk}\n\ndata: [DONE]\n\n".encode()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        agent = Agent(model=DeepInfra(id=MODEL_ID, base_url=f"http://127.0.0.1:{httpd.server_address[1]}", api_key="k"))
        events = list(agent.run("hi", stream=True, yield_run_output=True))
    finally:
        httpd.shutdown()
        httpd.server_close()
    output = events[-1]
    assert isinstance(output, RunOutput) and output.status == RunStatus.completed and output.content == "hello"
    assert output.metrics is not None
    assert (output.metrics.input_tokens, output.metrics.output_tokens, output.metrics.cost) == (0, 2, None)
