"""The HTTP stack under the openai SDK: its own types, a caller's clients of either library, one TLS setup.

openai 1.x and 2.x run on httpx, 3.x on httpx2; httpx2 2.17 refused the `httpx.Timeout` the
package used to hand the SDK, and every sync call failed. These tests hold on both lines: the
lowest run (`make test-lowest`, openai 1.106 on httpx) and the newest (openai 3.x on httpx2).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from agno.agent import Agent

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraReranker
from agno_deepinfra._shared.http_stack import _tls, sdk_library, sdk_timeout, tls_context
from agno_deepinfra.testing import DeepInfraEmulator

MakeModel = Callable[..., DeepInfra]
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
httpx2: Any = sys.modules.get("httpx2")  # installed with openai 3
ON_HTTPX2 = sdk_library() is not httpx
LIBRARIES = [httpx, httpx2] if httpx2 is not None else [httpx]


def _timeouts() -> list[Any]:
    found: list[Any] = [7.5, httpx.Timeout(30.0, connect=5.0)]
    if httpx2 is not None:
        found.append(httpx2.Timeout(30.0, connect=5.0))
    return found


# ----------------------------------------------------------------------------------- timeouts


def test_the_default_timeout_is_the_sdks_own_type() -> None:
    model = DeepInfra(id="m", api_key="k")
    timeout = model._get_client_params()["timeout"]
    assert type(timeout) is openai.Timeout
    assert (timeout.read, timeout.connect) == (300.0, 10.0)


@pytest.mark.parametrize("timeout", _timeouts(), ids=lambda t: type(t).__module__ + "." + type(t).__name__)
@pytest.mark.parametrize("path", ["run", "arun"])
def test_a_timeout_of_either_library_works_in_a_real_call(make_model: MakeModel, timeout: Any, path: str) -> None:
    model = make_model(timeout=timeout)
    handed = model._get_client_params()["timeout"]
    assert isinstance(handed, (float, openai.Timeout)) and not isinstance(handed, bool)
    agent = Agent(model=model)
    output = agent.run("hi") if path == "run" else asyncio.run(agent.arun("hi"))
    assert output.status.value == "COMPLETED", output.content
    assert "You said" in str(output.content)


def test_a_timeout_of_another_kind_is_refused_with_what_to_pass() -> None:
    with pytest.raises(TypeError, match="number of seconds"):
        sdk_timeout("30s")


def test_a_per_request_timeout_of_the_other_library_is_converted(make_model: MakeModel) -> None:
    model = make_model(request_params={"timeout": httpx.Timeout(20.0)})
    assert Agent(model=model).run("hi").status.value == "COMPLETED"


# ---------------------------------------------------------------------------- a caller's client


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.__name__)
def test_a_callers_sync_client_of_either_library_is_used_and_left_open(emu: DeepInfraEmulator, library: Any) -> None:
    seen: list[str] = []
    with library.Client(event_hooks={"request": [lambda request: seen.append(str(request.url))]}) as mine:
        model = DeepInfra(id=MODEL, base_url=emu.base_url, api_key=emu.api_key, http_client=mine)
        output = Agent(model=model).run("hi")
        assert output.status.value == "COMPLETED", output.content
        assert seen and seen[0].endswith("/chat/completions")  # it went through the caller's client
        assert not mine.is_closed


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.__name__)
def test_a_callers_async_client_of_either_library_is_used_and_left_open(emu: DeepInfraEmulator, library: Any) -> None:
    seen: list[str] = []

    async def note(request: Any) -> None:
        seen.append(str(request.url))

    async def main() -> bool:
        async with library.AsyncClient(event_hooks={"request": [note]}) as mine:
            model = DeepInfra(id=MODEL, base_url=emu.base_url, api_key=emu.api_key, http_client=mine)
            output = await Agent(model=model).arun("hi")
            assert output.status.value == "COMPLETED", output.content
            return bool(mine.is_closed)

    assert asyncio.run(main()) is False
    assert seen and seen[0].endswith("/chat/completions")


def test_a_copy_made_by_agno_keeps_the_callers_client(emu: DeepInfraEmulator) -> None:
    import copy

    with sdk_library().Client() as mine:
        model = DeepInfra(id=MODEL, base_url=emu.base_url, api_key=emu.api_key, http_client=mine)
        copied = copy.deepcopy(model)
        assert copied.http_client is mine
        assert copied.get_client()._client is mine  # the SDK client the copy builds runs on it


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.__name__)
def test_the_embedder_and_reranker_take_a_callers_client_of_either_library(
    emu: DeepInfraEmulator, library: Any
) -> None:
    with library.Client() as mine:
        embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key, client=mine)
        assert len(embedder.get_embedding("hello")) == embedder.dimensions
        reranker = DeepInfraReranker(base_url=emu.base_url, api_key=emu.api_key, client=mine)
        from agno.knowledge.document import Document

        ranked = reranker.rerank("stoves", [Document(content="stoves"), Document(content="boats")])
        assert len(ranked) == 2
        assert not mine.is_closed


# ------------------------------------------------------------------------------------ redirects


class _Recorder(BaseHTTPRequestHandler):
    """Answers every POST: a redirect to `target` when set, else a 400, recording the headers it got."""

    target = ""
    seen: list[dict[str, str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append({name.lower(): value for name, value in self.headers.items()})
        if self.target:
            self.send_response(307)
            self.send_header("Location", self.target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"error": {"message": "not here"}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[type[_Recorder]]:
    """A server on another origin that records what reaches it."""
    recorder = type("Elsewhere", (_Recorder,), {"target": "", "seen": []})
    for _ in _serve(recorder):
        recorder.url = _  # type: ignore[attr-defined]
        yield recorder


@pytest.fixture
def redirector(elsewhere: type[_Recorder]) -> Iterator[type[_Recorder]]:
    """The server the model is pointed at: it redirects every request to `elsewhere`."""
    recorder = type("Redirector", (_Recorder,), {"target": elsewhere.url, "seen": []})  # type: ignore[attr-defined]
    for url in _serve(recorder):
        recorder.url = url  # type: ignore[attr-defined]
        yield recorder


@pytest.mark.parametrize("path", ["run", "arun"])
def test_credentials_never_follow_a_redirect_to_another_origin(
    redirector: type[_Recorder], elsewhere: type[_Recorder], path: str
) -> None:
    model = DeepInfra(
        id="m",
        base_url=redirector.url + "/v1/openai",  # type: ignore[attr-defined]
        api_key="the-key",
        default_headers={"X-Api-Key": "header-secret", "X-Trace": "kept"},
    )
    agent = Agent(model=model)
    output = agent.run("hi") if path == "run" else asyncio.run(agent.arun("hi"))
    assert output.status.value == "ERROR"  # the other origin answered 400
    assert redirector.seen[0]["authorization"] == "Bearer the-key"  # the named host got them
    assert redirector.seen[0]["x-api-key"] == "header-secret"
    assert len(elsewhere.seen) == 1
    assert "authorization" not in elsewhere.seen[0] and "x-api-key" not in elsewhere.seen[0]
    assert elsewhere.seen[0]["x-trace"] == "kept"


# ------------------------------------------------------------------------------------------ TLS


@pytest.fixture
def tls_builds(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """Count the TLS contexts the SDK's HTTP library builds from now on (the process cache emptied)."""
    built: list[ssl.SSLContext] = []
    library = sdk_library()
    real = library.create_ssl_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = real(*args, **kwargs)
        built.append(context)
        return context

    monkeypatch.setattr(library, "create_ssl_context", counted)
    monkeypatch.setattr(_tls, "_contexts", {})
    return built


def test_tls_is_set_up_once_for_every_client_the_package_builds(
    emu: DeepInfraEmulator, make_model: MakeModel, tls_builds: list[ssl.SSLContext]
) -> None:
    model = make_model()
    embedder = DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key)
    reranker = DeepInfraReranker(base_url=emu.base_url, api_key=emu.api_key)
    for _ in range(3):  # three fresh event loops, as asyncio.run per job does
        assert asyncio.run(Agent(model=model).arun("hi")).status.value == "COMPLETED"
        assert len(asyncio.run(embedder.async_get_embedding("hi"))) == embedder.dimensions
    assert Agent(model=model).run("hi").status.value == "COMPLETED"
    assert len(embedder.get_embedding("hi")) == embedder.dimensions
    assert reranker._clients.sync(None, None, reranker.base_url) is not None
    assert len(tls_builds) == 1
    assert tls_builds[0] is tls_context()
    embedder.close()
    reranker.close()


def test_a_callers_client_keeps_its_own_tls(emu: DeepInfraEmulator, tls_builds: list[ssl.SSLContext]) -> None:
    with sdk_library().Client() as mine:
        model = DeepInfra(id=MODEL, base_url=emu.base_url, api_key=emu.api_key, http_client=mine)
        assert Agent(model=model).run("hi").status.value == "COMPLETED"
    assert tls_builds == []


def test_the_tls_context_honours_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls_builds: list[ssl.SSLContext]
) -> None:
    import certifi

    bundle = Path(certifi.where()).read_text()
    first = bundle[bundle.index("-----BEGIN CERTIFICATE-----") :]
    first = first[: first.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n"
    (tmp_path / "one.pem").write_text(first)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "one.pem"))
    context = tls_context()
    assert len(context.get_ca_certs()) == 1
    assert context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_a_forked_child_builds_a_working_context_of_its_own() -> None:
    parent = tls_context()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave at once
        try:
            child = tls_context()
            ok = child is not parent and child.verify_mode == ssl.CERT_REQUIRED and bool(child.get_ca_certs())
            os.write(write, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        verdict = answer.read()
    os.waitpid(pid, 0)
    assert verdict == b"ok"
    assert tls_context() is parent
