"""The four chat contenders, each reduced to the same small set of zero-argument callables.

- `raw_sdk`: `openai.OpenAI` / `AsyncOpenAI` with `max_retries=0` (the floor: no framework at all);
- `agno_builtin`: `agno.models.deepinfra.DeepInfra`, agno's own class;
- `agno_deepinfra`: `agno_deepinfra.DeepInfra`, this plugin;
- `litellm`: `litellm.completion("deepinfra/<model>", api_base=...)` (its agent row uses agno's
  `agno.models.litellm.LiteLLM` model, which wraps the same call).

Every callable returns the reply text so a run can check that each contender really got the
emulator's answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from importlib.util import find_spec
from typing import Any, TypeVar

T = TypeVar("T")
RAW = "raw_sdk"
AGNO = "agno_builtin"
OURS = "agno_deepinfra"
LITELLM = "litellm"
CONTENDERS: tuple[str, ...] = (RAW, AGNO, OURS, LITELLM)
# LiteLLM is a contender only where the bench extra installed it; `make test` runs without it.
HAS_LITELLM = find_spec("litellm") is not None
SKIPPED_LITELLM = "LiteLLM rows skipped: litellm is not installed (pip install -e '.[bench]')"
SKIPPED_ROW = "skipped: litellm is not installed"
# Fan-out only: ours and the raw SDK again on the openai SDK's aiohttp client (the `aiohttp` extra).
OURS_AIOHTTP = "agno_deepinfra_aiohttp"
RAW_AIOHTTP = "raw_sdk_aiohttp"
VARIANT_OF = {OURS_AIOHTTP: OURS, RAW_AIOHTTP: RAW}
LABELS = {
    RAW: "raw openai SDK",
    AGNO: "agno.models.deepinfra.DeepInfra",
    OURS: "agno_deepinfra.DeepInfra",
    LITELLM: "LiteLLM",
    OURS_AIOHTTP: "agno_deepinfra.DeepInfra(async_transport='aiohttp')",
    RAW_AIOHTTP: "raw openai SDK, http_client=DefaultAioHttpClient()",
}
PROMPT = "Say hello."

Call = Callable[[], str]
AsyncCall = Callable[[], Awaitable[str]]
Stream = Callable[[], Iterator[str]]
Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Target:
    """One emulator address and the model to ask for."""

    base_url: str
    api_key: str
    model: str


def _messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": PROMPT}]  # a fresh list per call, as a caller builds it


def _agno_models(target: Target) -> dict[str, Any]:
    """Fresh agno model objects for the three agno-shaped contenders."""
    models = {AGNO: agno_model(target), OURS: ours_model(target)}
    if HAS_LITELLM:
        from agno.models.litellm import LiteLLM as AgnoLiteLLM

        models[LITELLM] = AgnoLiteLLM(id=f"deepinfra/{target.model}", api_base=target.base_url, api_key=target.api_key)
    return models


def agno_model(target: Target, **settings: Any) -> Any:
    """A fresh `agno.models.deepinfra.DeepInfra` for `target`, with any extra settings."""
    from agno.models.deepinfra import DeepInfra as AgnoDeepInfra

    return AgnoDeepInfra(id=target.model, base_url=target.base_url, api_key=target.api_key, **settings)


def ours_model(target: Target, **settings: Any) -> Any:
    """A fresh `agno_deepinfra.DeepInfra` for `target`, with any extra settings."""
    from agno_deepinfra import DeepInfra

    return DeepInfra(id=target.model, base_url=target.base_url, api_key=target.api_key, **settings)


def sdk_client(target: Target, asynchronous: bool = False, **options: Any) -> Any:
    """A raw openai SDK client for `target` (`max_retries=0` unless `options` say otherwise)."""
    import openai

    client = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return client(base_url=target.base_url, api_key=target.api_key, **{"max_retries": 0, **options})


def _creates(target: Target, client: Any) -> dict[str, Callable[..., Any]]:
    """`create(messages=..., **options)` of the raw SDK on `client`, and LiteLLM's (async when `client` is)."""
    import openai

    creates: dict[str, Callable[..., Any]] = {RAW: partial(client.chat.completions.create, model=target.model)}
    if HAS_LITELLM:
        import litellm

        completion = litellm.acompletion if isinstance(client, openai.AsyncOpenAI) else litellm.completion
        model = f"deepinfra/{target.model}"
        creates[LITELLM] = partial(completion, model, api_base=target.base_url, api_key=target.api_key)
    return creates


def reply(completion: Any) -> str:
    """A chat completion's text."""
    return str(completion.choices[0].message.content)


def run_content(run: Any) -> str:
    """An agno run's content, raising when the run ended in anything but success."""
    status = getattr(run, "status", None)
    if getattr(status, "value", status) != "COMPLETED":
        raise RuntimeError(f"agent run ended with status {status}: {run.content}")
    return str(run.content)


def _ordered(calls: dict[str, T]) -> dict[str, T]:
    """`calls` in the contenders' order (the rounds rotate from it)."""
    return {name: calls[name] for name in (*CONTENDERS, OURS_AIOHTTP, RAW_AIOHTTP) if name in calls}


def model_calls(target: Target) -> dict[str, Call]:
    """One non-streamed chat completion at the model layer, per contender."""
    from agno.models.message import Message

    def sdk(create: Callable[..., Any]) -> Call:
        return lambda: reply(create(messages=_messages()))

    def agno(model: Any) -> Call:
        return lambda: str(model.response(messages=[Message(role="user", content=PROMPT)]).content)

    calls = {name: sdk(create) for name, create in _creates(target, sdk_client(target)).items()}
    models = _agno_models(target)
    return _ordered(calls | {name: agno(models[name]) for name in (AGNO, OURS)})


def agent_calls(target: Target) -> dict[str, Call]:
    """One `Agent.run` per contender that has an agent layer (the raw SDK has none)."""
    from agno.agent import Agent

    def agent_run(model: Any) -> Call:
        agent = Agent(model=model, telemetry=False)
        return lambda: run_content(agent.run(PROMPT))

    return {name: agent_run(model) for name, model in _agno_models(target).items()}


def streams(target: Target) -> dict[str, Stream]:
    """One streamed completion per contender, yielding each non-empty content piece as it arrives."""
    from agno.models.message import Message

    def sdk(create: Callable[..., Any]) -> Stream:
        def stream() -> Iterator[str]:
            for chunk in create(messages=_messages(), stream=True, stream_options={"include_usage": True}):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        return stream

    def agno(model: Any) -> Stream:
        def stream() -> Iterator[str]:
            for response in model.response_stream(messages=[Message(role="user", content=PROMPT)]):
                if content := getattr(response, "content", None):
                    yield str(content)

        return stream

    calls = {name: sdk(create) for name, create in _creates(target, sdk_client(target)).items()}
    models = _agno_models(target)
    return _ordered(calls | {name: agno(models[name]) for name in (AGNO, OURS)})


async def async_calls(target: Target) -> tuple[dict[str, AsyncCall], Closer]:
    """One concurrent-safe async call per contender (raw `AsyncOpenAI`, `Agent.arun`, `litellm.acompletion`).

    Built inside the event loop that will await them (async HTTP clients bind to it); await the
    returned closer before that loop ends: it closes every async client they opened.
    """
    import openai
    from agno.agent import Agent

    def sdk(create: Callable[..., Any]) -> AsyncCall:
        async def call() -> str:
            return reply(await create(messages=_messages()))

        return call

    def agent_arun(name: str) -> AsyncCall:
        agent = Agent(model=models[name], telemetry=False)

        async def call() -> str:
            return run_content(await agent.arun(PROMPT))

        return call

    models = _agno_models(target)
    clients = [sdk_client(target, asynchronous=True)]
    calls = {name: sdk(create) for name, create in _creates(target, clients[0]).items()}
    calls.update({AGNO: agent_arun(AGNO), OURS: agent_arun(OURS)})
    if find_spec("aiohttp") is not None:
        clients.append(sdk_client(target, asynchronous=True, http_client=openai.DefaultAioHttpClient()))
        models[OURS_AIOHTTP] = ours_model(target, async_transport="aiohttp")
        calls.update({OURS_AIOHTTP: agent_arun(OURS_AIOHTTP), RAW_AIOHTTP: sdk(_creates(target, clients[1])[RAW])})

    async def close() -> None:
        for opened_client in clients:
            await opened_client.close()
        for model in models.values():
            opened = model.get_async_client() if hasattr(model, "get_async_client") else None
            if opened is not None and hasattr(opened, "close"):
                await opened.close()
        if HAS_LITELLM:
            from litellm.llms.custom_httpx.async_client_cleanup import close_litellm_async_clients

            await close_litellm_async_clients()

    return _ordered(calls), close
