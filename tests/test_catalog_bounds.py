"""The catalog fetch after a 404 is bounded: in total time, bytes, models and nesting.

After a 404 the model fetches the catalog once, for a case correction and suggestions. A hostile
or broken server must not hold the 404 up, eat memory or replace it with another error: when a
bound trips, the lookup gives up and the 404 stands, as DeepInfra worded it. The server here is a
small HTTP server of the test's own on 127.0.0.1 (the emulator serves no such shapes); it counts
what it sent, so each test checks the client stopped reading rather than how long it took.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from agno.agent import Agent
from agno.run.agent import RunOutput
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra, catalog, list_models
from agno_deepinfra.catalog import MAX_CATALOG_BYTES, MAX_CATALOG_MODELS

RIGHT_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
WRONG_CASE = "META-LLAMA/Meta-Llama-3.1-8B-Instruct"  # one catalog id differs from it only in case
NOT_AVAILABLE = {"detail": {"error": "Model is not available"}}
DRIP_BYTES = 400  # a byte every 25 ms: 10 s to send them all


class Hostile(BaseHTTPRequestHandler):
    """Chat: 404 for any id but RIGHT_ID. Catalog: whatever the test's `catalog` writer sends."""

    protocol_version = "HTTP/1.1"
    catalog: Callable[[Hostile], None]
    sent: list[int]  # bytes of catalog body written, per catalog request

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("model") != RIGHT_ID:
            return self._json(404, NOT_AVAILABLE)
        answer = {"id": "c", "object": "chat.completion", "created": 0, "model": RIGHT_ID}
        answer["choices"] = [
            {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}
        ]
        self._json(200, answer)

    def do_GET(self) -> None:
        self.sent.append(0)
        try:
            type(self).catalog(self)
        except OSError:  # the client hung up: it stopped reading, as it should
            self.close_connection = True

    def write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        self.sent[-1] += len(data)

    def start(self, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length) if length is not None else "1000000000")
        self.end_headers()

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def drip(handler: Hostile) -> None:
    handler.start()
    for _ in range(DRIP_BYTES):
        handler.write(b" ")
        time.sleep(0.025)


def huge(handler: Hostile) -> None:
    handler.start()
    entry = json.dumps({"id": RIGHT_ID, "object": "model"}).encode() + b","
    handler.write(b'{"data": [')
    for _ in range(8 * MAX_CATALOG_BYTES // (64 * 1024)):  # 8x the cap, in 64 KiB writes
        handler.write(entry * (64 * 1024 // len(entry)))


def many(handler: Hostile) -> None:
    data = [{"id": f"m/{n}"} for n in range(MAX_CATALOG_MODELS)] + [{"id": RIGHT_ID}]
    body = json.dumps({"data": data}).encode()
    handler.start(len(body))
    handler.write(body)


def nested(handler: Hostile) -> None:
    body = b'{"data": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}"
    handler.start(len(body))
    handler.write(body)


HOSTILE = {"slow drip": drip, "8x the byte cap": huge, "one model over the cap": many, "deep nesting": nested}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, type[Hostile]]]:
    monkeypatch.setattr(catalog, "_SUGGESTION_TIMEOUT", 0.5)  # the drip is cut off after about half a second
    handler = type("Handler", (Hostile,), {"sent": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("shape", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("path", ["sync", "async"])
async def test_a_hostile_catalog_leaves_the_404_standing(
    server: tuple[str, type[Hostile]], caplog: pytest.LogCaptureFixture, shape: Callable[[Hostile], None], path: str
) -> None:
    url, handler = server
    handler.catalog = shape
    caplog.set_level(logging.DEBUG, logger="agno_deepinfra")
    agent = Agent(model=DeepInfra(id=WRONG_CASE, base_url=url, api_key="k", retries=0))
    output = agent.run("hi") if path == "sync" else await agent.arun("hi")
    assert isinstance(output, RunOutput) and output.status == RunStatus.error
    assert f"DeepInfra HTTP 404 for model '{WRONG_CASE}': Model is not available" in str(output.content)
    assert "closest available ids" not in str(output.content)  # no correction, no suggestions
    assert handler.sent and handler.sent[0] < {drip: DRIP_BYTES, huge: 4 * MAX_CATALOG_BYTES}.get(shape, 10**9)
    assert "catalog could not be used" in caplog.text


def test_list_models_says_which_bound_tripped(server: tuple[str, type[Hostile]]) -> None:
    from agno.exceptions import ModelProviderError

    url, handler = server
    expected = {drip: "timed out for catalog", huge: "larger than 8 MiB", many: "5001 models, more than the 5000"}
    for shape, text in expected.items():
        handler.catalog = shape
        with pytest.raises(ModelProviderError, match=text):
            list_models(base_url=url, api_key="k", timeout=0.5)
    handler.catalog = nested
    with pytest.raises(ModelProviderError, match="unusable response for catalog"):
        list_models(base_url=url, api_key="k")


def test_a_catalog_within_the_bounds_still_corrects_the_case(server: tuple[str, type[Hostile]]) -> None:
    url, handler = server
    handler.catalog = lambda h: (h.start(len(body)), h.write(body))  # type: ignore[func-returns-value]
    body = json.dumps({"data": [{"id": RIGHT_ID}, {"id": "m/other"}]}).encode()
    output = Agent(model=DeepInfra(id=WRONG_CASE, base_url=url, api_key="k", retries=0)).run("hi")
    assert output.status == RunStatus.completed and output.content == "hello"
