"""The emulator on a shared machine: a body size limit, no credential in its log, no empty key, a Host check.

Its default key (`emulator-key`) is public, so a web page that makes a browser talk to 127.0.0.1
under its own name (DNS rebinding) could otherwise script it; a real DeepInfra key sent to it by
mistake must not be kept in its request log or served back over `/_emulator/requests`.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from agno_deepinfra._shared.redact import REDACTED
from agno_deepinfra.testing import DeepInfraEmulator

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
REAL_KEY = "sk-real-deepinfra-key-0123456789"


def chat_body(text: str = "hi") -> dict[str, object]:
    return {"model": MODEL_ID, "messages": [{"role": "user", "content": text}]}


@pytest.fixture
def small() -> Iterator[DeepInfraEmulator]:
    """An emulator that takes bodies up to 2,000 bytes."""
    with DeepInfraEmulator(max_body_bytes=2000) as emulator:
        yield emulator


# ------------------------------------------------------------------------------- the body limit


def test_a_body_over_the_limit_is_answered_413_and_not_logged(small: DeepInfraEmulator) -> None:
    headers = {"Authorization": f"Bearer {small.api_key}"}
    url = f"{small.base_url}/chat/completions"
    with httpx.Client(timeout=30) as client:
        declared = client.post(url, json=chat_body("x" * 5000), headers=headers)  # Content-Length says so
        body = json.dumps(chat_body("y" * 5000)).encode()
        pieces = [body[start : start + 500] for start in range(0, len(body), 500)]  # each chunk under the limit
        chunked = client.post(url, content=iter(pieces), headers=headers)
        fits = client.post(url, json=chat_body("short"), headers=headers)
    for refused in (declared, chunked):
        assert refused.status_code == 413
        assert "over the emulator's limit of 2,000 bytes (max_body_bytes)" in refused.json()["detail"]["error"]
    assert fits.status_code == 200
    assert len(small.requests) == 1  # only the one that fit


def test_bad_limits_and_empty_keys_are_refused() -> None:
    for key in ("", "   "):
        with pytest.raises(ValueError, match="api_key must be a non-empty string"):
            DeepInfraEmulator(api_key=key)
    with pytest.raises(ValueError, match="max_body_bytes must be positive"):
        DeepInfraEmulator(max_body_bytes=0)


def test_an_empty_bearer_is_refused_on_every_route(emu: DeepInfraEmulator) -> None:
    host = f"127.0.0.1:{emu.port}"
    for value in ("Bearer ", "Bearer", "bearer  ", "Basic ", None):
        headers = {"Host": host, **({"Authorization": value} if value is not None else {})}
        assert raw_request(emu.port, "POST /v1/openai/chat/completions", headers, chat_body()) == 401, value
        assert raw_request(emu.port, "POST /_emulator/reset", headers, {}) == 401, value


# ------------------------------------------------------------------------------ the request log


def test_the_log_keeps_no_credential_but_the_emulators_own_key(emu: DeepInfraEmulator) -> None:
    headers = {
        "Authorization": f"Bearer {emu.api_key}",
        "X-Api-Key": REAL_KEY,
        "Cookie": f"session={REAL_KEY}",
        "X-Upstream": f"Bearer {REAL_KEY}",
        "X-Trace": "trace-1",
    }
    with httpx.Client(base_url=emu.root_url, timeout=30) as client:
        answered = client.post(f"/v1/openai/chat/completions?api_key={REAL_KEY}", json=chat_body(), headers=headers)
        mistaken = client.post(
            "/v1/openai/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {REAL_KEY}"}
        )
        served = client.get("/_emulator/requests", headers={"Authorization": f"Bearer {emu.api_key}"})
    assert (answered.status_code, mistaken.status_code, served.status_code) == (200, 401, 200)
    first, second = emu.requests
    assert first.headers["authorization"] == f"Bearer {emu.api_key}"  # tests check the key was sent
    assert first.headers["x-api-key"] == first.headers["cookie"] == first.headers["x-upstream"] == REDACTED
    assert first.headers["x-trace"] == "trace-1"
    assert first.path == f"/v1/openai/chat/completions?api_key={REDACTED}"
    assert second.headers["authorization"] == REDACTED  # a real key sent here by mistake
    assert REAL_KEY not in repr(emu.requests) and REAL_KEY not in served.text


# ----------------------------------------------------------------------------- the Host header


def raw_request(port: int, line: str, headers: dict[str, str], body: object = None) -> int:
    """The status of one HTTP/1.0 request sent over a socket with exactly these headers (no Host unless given)."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = [f"{line} HTTP/1.0", *(f"{name}: {value}" for name, value in headers.items())]
    head += [f"Content-Length: {len(payload)}", "Content-Type: application/json"] if payload else []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def get(port: int, host: str | None, path: str = "/v1/openai/models", key: str = "") -> int:
    headers = {"Host": host} if host is not None else {}
    return raw_request(port, f"GET {path}", {**headers, **({"Authorization": f"Bearer {key}"} if key else {})})


def test_a_host_header_naming_another_site_is_refused(emu: DeepInfraEmulator) -> None:
    port = emu.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        assert get(port, host) == 200, host
    refused: list[str | None] = [f"attacker.example:{port}", "attacker.example", "127.0.0.1.attacker.example", None]
    for other in refused:  # None: no Host header at all
        assert get(port, other) == 421, other
        # the control routes too, even with the right (public) key
        assert get(port, other, "/_emulator/requests", emu.api_key) == 421, other


def test_allowed_hosts_names_more_hosts() -> None:
    with DeepInfraEmulator(allowed_hosts=["emulator.internal"]) as emulator:
        assert get(emulator.port, f"emulator.internal:{emulator.port}") == 200
        assert get(emulator.port, "attacker.example") == 421
    with DeepInfraEmulator(host="0.0.0.0") as everywhere:  # beyond loopback, names are not known in advance
        assert get(everywhere.port, "some-host.lan") == 200
