"""The emulator as a new user meets it: route names, the model fixtures, the tool-call rule, control over
HTTP from another process, and the dated catalog snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agno.agent import Agent
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import CATALOG, DeepInfraEmulator, Fault, Reply
from agno_deepinfra.testing.catalog import SNAPSHOT_DATE
from agno_deepinfra.testing.pytest_plugin import DEFAULT_TEST_MODEL
from agno_deepinfra.testing.script import LOGGED_ROUTES, ROUTES

ROOT = Path(__file__).resolve().parents[1]
LLAMA_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": LLAMA_8B, "messages": [{"role": "user", "content": text}], **extra}


def tool(name: str, description: str, **properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}


KNOWLEDGE_TOOL = tool("search_knowledge_base", "Search the knowledge base.", query={"type": "string"})
WEATHER_TOOL = tool("get_weather", "Current weather for a city", city={"type": "string"})


# -- route names ----------------------------------------------------------------------------------


def test_requests_for_refuses_an_unknown_route_and_lists_the_valid_ones(emu: DeepInfraEmulator) -> None:
    with pytest.raises(ValueError, match="unknown route 'rerank'") as raised:
        emu.requests_for("rerank")
    for name in LOGGED_ROUTES:
        assert name in str(raised.value)
        assert emu.requests_for(name) == []  # every listed name is accepted


@pytest.mark.parametrize(
    "call",
    [
        lambda emu: emu.queue(Reply(content="x"), route="rerank"),
        lambda emu: emu.always(Reply(content="x"), route="rerank"),
        lambda emu: emu.fail_every(2, Fault.status(500), route="rerank"),
        lambda emu: emu.fail_first(Fault.status(500), key=lambda body: 1, route="rerank"),
        lambda emu: emu.clear_always("rerank"),
    ],
    ids=["queue", "always", "fail_every", "fail_first", "clear_always"],
)
def test_scripting_refuses_an_unknown_route(emu: DeepInfraEmulator, call: Callable[[DeepInfraEmulator], None]) -> None:
    with pytest.raises(ValueError, match="unknown route 'rerank'; expected one of chat, completions"):
        call(emu)


def test_the_batch_routes_are_logged_under_their_names(emu: DeepInfraEmulator) -> None:
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    assert httpx.get(f"{emu.base_url}/batches", headers=headers).status_code == 200
    assert [request.route for request in emu.requests_for("batches")] == ["batches"]
    assert set(ROUTES) < set(LOGGED_ROUTES)


# -- the model fixtures ---------------------------------------------------------------------------


def test_deepinfra_model_fixture_runs_an_agent_on_the_emulator(
    deepinfra_model: DeepInfra, deepinfra_emulator: DeepInfraEmulator
) -> None:
    output = Agent(model=deepinfra_model).run("What is 2 + 3?")
    assert output.status == RunStatus.completed
    assert output.content is not None and "The answer is 5." in output.content
    (request,) = deepinfra_emulator.requests_for("chat")
    assert request.model == DEFAULT_TEST_MODEL
    assert request.headers["authorization"] == f"Bearer {deepinfra_emulator.api_key}"


def test_make_deepinfra_model_takes_any_id_and_keyword(
    make_deepinfra_model: Callable[..., DeepInfra], deepinfra_emulator: DeepInfraEmulator
) -> None:
    deepinfra_emulator.queue(Reply(content="scripted"))
    model = make_deepinfra_model(id="openai/gpt-oss-120b", temperature=0.25)
    assert Agent(model=model).run("hi").content == "scripted"
    (request,) = deepinfra_emulator.requests_for("chat")
    assert (request.model, request.body["temperature"]) == ("openai/gpt-oss-120b", 0.25)


def test_loading_the_plugin_imports_neither_agno_nor_openai() -> None:
    code = (
        "import sys, agno_deepinfra.testing.pytest_plugin; "
        "print(sorted(m for m in ('agno', 'openai', 'agno_deepinfra.chat') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


# What loading the plugin may import of this package: the lazy roots and the plugin itself.
# The package's root installs the finder for module paths that moved (`_shared.compat`: pickles
# written before the re-layout name them), a few lines of the standard library's importlib.
PLUGIN_IMPORTS = [
    "agno_deepinfra",
    "agno_deepinfra._shared",
    "agno_deepinfra._shared.compat",
    "agno_deepinfra.testing",
    "agno_deepinfra.testing.pytest_plugin",
]
PUBLIC_TESTING_NAMES = [
    "CATALOG",
    "DEFAULT_API_KEY",
    "DeepInfraEmulator",
    "Fault",
    "ManualClock",
    "ModelEntry",
    "RecordedRequest",
    "Reply",
    "TickingClock",
    "ToolCall",
]


def test_loading_the_plugin_imports_no_emulator_module() -> None:
    # Every pytest run in an environment with this package loads the plugin (a pytest11 entry
    # point): it must not pay for the emulator (26 modules, asyncio, h11) until a fixture is used.
    code = (
        "import sys, agno_deepinfra.testing.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('agno_deepinfra')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(result.stdout.replace("'", '"')) == PLUGIN_IMPORTS


def test_every_public_name_of_the_testing_package_imports() -> None:
    # `from agno_deepinfra.testing import X` works for every name, each from its own module.
    names = ", ".join(PUBLIC_TESTING_NAMES)
    code = f"from agno_deepinfra.testing import {names}; import agno_deepinfra.testing as t; print(dir(t))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(result.stdout.replace("'", '"')) == sorted(PUBLIC_TESTING_NAMES)
    import agno_deepinfra.testing as testing
    from agno_deepinfra.testing import batches, emulator, script

    assert (testing.DeepInfraEmulator, testing.Reply, testing.TickingClock) == (
        emulator.DeepInfraEmulator,
        script.Reply,
        batches.TickingClock,
    )
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        testing.Nope  # noqa: B018


# -- the unscripted tool-call rule ----------------------------------------------------------------


def chat(emu: DeepInfraEmulator, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    response = httpx.post(f"{emu.base_url}/chat/completions", json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()["choices"][0]["message"]
    return message


def called(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    calls = message.get("tool_calls") or []
    return [(call["function"]["name"], json.loads(call["function"]["arguments"])) for call in calls]


def test_knowledge_search_is_called_for_any_question_when_offered(emu: DeepInfraEmulator) -> None:
    question = "How many days do I have to return unworn gear?"
    message = chat(emu, chat_body(question, tools=[WEATHER_TOOL, KNOWLEDGE_TOOL]))
    assert called(message) == [("search_knowledge_base", {"query": question})]


def test_a_tool_the_question_names_goes_before_knowledge_search(emu: DeepInfraEmulator) -> None:
    message = chat(emu, chat_body("What is the weather in Paris?", tools=[KNOWLEDGE_TOOL, WEATHER_TOOL]))
    assert called(message) == [("get_weather", {"city": "Paris"})]


@pytest.mark.parametrize(
    ("tools", "choice", "expected"),
    [
        ([WEATHER_TOOL], None, []),  # nothing named, no knowledge search: a plain answer
        ([WEATHER_TOOL], "required", ["get_weather"]),
        ([KNOWLEDGE_TOOL], "none", []),
        ([KNOWLEDGE_TOOL, WEATHER_TOOL], {"type": "function", "function": {"name": "get_weather"}}, ["get_weather"]),
    ],
    ids=["unrelated", "required", "none", "named-choice"],
)
def test_the_tool_rule_is_predictable(
    emu: DeepInfraEmulator, tools: list[dict[str, Any]], choice: Any, expected: list[str]
) -> None:
    extra = {"tool_choice": choice} if choice is not None else {}
    message = chat(emu, chat_body("Tell me a joke about penguins", tools=tools, **extra))
    assert [name for name, _ in called(message)] == expected
    assert (message["content"] is None) == bool(expected)


def test_an_agent_offering_search_knowledge_base_searches_then_answers(deepinfra_model: DeepInfra) -> None:
    queries: list[str] = []

    def search_knowledge_base(query: str) -> str:
        """Search the knowledge base."""
        queries.append(query)
        return "Returns are accepted within 45 days."

    output = Agent(model=deepinfra_model, tools=[search_knowledge_base]).run("How long do I have for returns?")
    assert queries == ["How long do I have for returns?"]
    assert output.content == "The search_knowledge_base tool returned: Returns are accepted within 45 days."


# -- control over HTTP from another process -------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, str]]:
    """`python -m agno_deepinfra.testing serve` in a subprocess: (root URL, key)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "agno_deepinfra.testing", "serve", "--port", "0", "--api-key", "ctl-key"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base_url = line.split("base_url=")[1].split()[0]
        yield base_url.removesuffix("/v1/openai"), "ctl-key"
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


@pytest.fixture
def control(served: tuple[str, str]) -> Iterator[httpx.Client]:
    """An HTTP client on the served emulator with its key, after `POST /_emulator/reset`."""
    root, key = served
    with httpx.Client(base_url=root, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        assert client.post("/_emulator/reset").json() == {"ok": True}
        yield client


def test_control_scripts_replies_and_faults_of_a_served_emulator(control: httpx.Client) -> None:
    tool_call = {"name": "get_weather", "arguments": {"city": "Oslo"}}
    assert control.post("/_emulator/queue", json={"reply": {"tool_calls": [tool_call]}}).status_code == 200
    retry = {"kind": "status", "status_code": 503, "headers": {"Retry-After": "2"}}
    assert control.post("/_emulator/queue", json={"fault": retry}).status_code == 200
    first = control.post("/v1/openai/chat/completions", json=chat_body("hi"))
    assert called(first.json()["choices"][0]["message"]) == [("get_weather", {"city": "Oslo"})]
    second = control.post("/v1/openai/chat/completions", json=chat_body("hi"))
    assert (second.status_code, second.headers["retry-after"]) == (503, "2")
    control.post("/_emulator/always", json={"route": "embeddings", "reply": {"embeddings": [[0.5, 0.25]]}})
    vectors = control.post("/v1/openai/embeddings", json={"model": "BAAI/bge-m3", "input": "x"})
    assert vectors.json()["data"][0]["embedding"] == [0.5, 0.25]


def test_control_fail_every_then_chains_and_clear(control: httpx.Client) -> None:
    delayed = {"kind": "delay", "seconds": 0, "then": {"reply": {"content": "after the wait"}}}
    control.post("/_emulator/fail_every", json={"every": 2, "fault": delayed})
    answers = [control.post("/v1/openai/chat/completions", json=chat_body("hi")) for _ in range(4)]
    contents = [answer.json()["choices"][0]["message"]["content"] for answer in answers]
    assert contents[1] == contents[3] == "after the wait" and "after the wait" not in (contents[0], contents[2])
    control.post("/_emulator/clear", json={})
    answer = control.post("/v1/openai/chat/completions", json=chat_body("hi"))
    assert answer.json()["choices"][0]["message"]["content"] != "after the wait"


def test_control_reads_the_request_log_and_resets_it(control: httpx.Client) -> None:
    control.post("/v1/openai/chat/completions", json=chat_body("logged"))
    control.post("/v1/openai/embeddings", json={"model": "BAAI/bge-m3", "input": "x"})
    (entry,) = control.get("/_emulator/requests", params={"route": "chat"}).json()["requests"]
    assert (entry["method"], entry["route"], entry["body"]["messages"][0]["content"]) == ("POST", "chat", "logged")
    assert len(control.get("/_emulator/requests").json()["requests"]) == 2  # control calls are not logged
    refused = control.get("/_emulator/requests", params={"route": "rerank"})
    assert refused.status_code == 400 and "expected one of chat, completions" in refused.json()["error"]
    control.post("/_emulator/reset")
    assert control.get("/_emulator/requests").json() == {"requests": []}


def test_control_adds_a_model(control: httpx.Client) -> None:
    before = control.post("/v1/openai/chat/completions", json={**chat_body("hi"), "model": "acme/New-1B"})
    assert before.status_code == 404 and "snapshot" in before.json()["detail"]["error"]
    added = control.post("/_emulator/models", json={"id": "acme/New-1B", "context_length": 4096, "tags": ["tools"]})
    assert added.json()["model"]["metadata"]["context_length"] == 4096
    after = control.post("/v1/openai/chat/completions", json={**chat_body("hi"), "model": "acme/New-1B"})
    assert after.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/_emulator/queue", {"reply": {"text": "x"}}, "unknown Reply field(s) text; expected content"),
        ("/_emulator/queue", {"fault": {"kind": "explode"}}, '"kind" must be one of status, drop'),
        ("/_emulator/queue", {"reply": {}, "fault": {"kind": "drop"}}, 'exactly one of "reply"'),
        ("/_emulator/queue", {"route": "rerank", "reply": {}}, "unknown route 'rerank'"),
        ("/_emulator/fail_every", {"every": "2", "reply": {}}, '"every" must be an integer'),
        ("/_emulator/models", {"context_length": 1}, '"id" (the model id) is required'),
    ],
)
def test_control_mistakes_are_400_with_the_reason(
    control: httpx.Client, path: str, body: dict[str, Any], message: str
) -> None:
    response = control.post(path, json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_control_needs_the_emulator_key(served: tuple[str, str]) -> None:
    root, _ = served
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(f"{root}/_emulator/reset", headers=headers)
        assert response.status_code == 401 and "Authorization: Bearer <api_key>" in response.json()["error"]


def test_control_is_refused_when_the_emulator_listens_beyond_loopback() -> None:
    with DeepInfraEmulator(host="0.0.0.0") as emulator:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        refused = httpx.post(f"http://127.0.0.1:{emulator.port}/_emulator/reset", headers=headers)
        assert refused.status_code == 403 and "127.0.0.1" in refused.json()["error"]
    with DeepInfraEmulator() as emulator:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        assert httpx.post(f"{emulator.root_url}/_emulator/reset", headers=headers).status_code == 200


# -- the catalog snapshot -------------------------------------------------------------------------


def test_the_catalog_snapshot_has_gpt_oss_with_litellms_figures() -> None:
    # Expected values: LiteLLM's deepinfra/openai/gpt-oss-120b entry (see testing/catalog.py).
    entry = next(entry for entry in CATALOG if entry.id == "openai/gpt-oss-120b")
    assert (entry.context_length, entry.input_price, entry.output_price) == (131072, 0.05, 0.45)
    assert "tools" in entry.tags and entry.reasoning == "field"
    assert len({entry.id for entry in CATALOG}) == len(CATALOG)
    kinds = {entry.kind for entry in CATALOG}
    assert {"chat", "embedding", "reranker"} <= kinds


def test_an_agent_on_gpt_oss_runs_offline(make_deepinfra_model: Callable[..., DeepInfra]) -> None:
    output = Agent(model=make_deepinfra_model(id="openai/gpt-oss-120b")).run("Say hello")
    assert output.status == RunStatus.completed
    assert output.content is not None and 'You said: "Say hello"' in output.content
    assert output.reasoning_content  # gpt-oss answers with reasoning_content on DeepInfra


def test_an_unknown_model_says_the_catalog_is_a_snapshot(make_deepinfra_model: Callable[..., DeepInfra]) -> None:
    output = Agent(model=make_deepinfra_model(id="acme/Brand-New-70B")).run("hi")
    assert output.status == RunStatus.error
    assert f"catalog is a snapshot of {SNAPSHOT_DATE}" in str(output.content)
    assert "emulator.add_model('acme/Brand-New-70B')" in str(output.content)
