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
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionUserMessageParam

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


def _messages() -> list[ChatCompletionUserMessageParam]:
    from openai.types.chat import ChatCompletionUserMessageParam

    return [ChatCompletionUserMessageParam(role="user", content=PROMPT)]


def _agno_models(target: Target) -> dict[str, Any]:
    """Fresh agno model objects for the three agno-shaped contenders."""
    models = {AGNO: agno_model(target), OURS: ours_model(target)}
    if HAS_LITELLM:
        from agno.models.litellm import LiteLLM as AgnoLiteLLM

        models[LITELLM] = AgnoLiteLLM(id=f"deepinfra/{target.model}", api_base=target.base_url, api_key=target.api_key)
    return models


def agno_model(target: Target) -> Any:
    """A fresh `agno.models.deepinfra.DeepInfra` for `target`."""
    from agno.models.deepinfra import DeepInfra as AgnoDeepInfra

    return AgnoDeepInfra(id=target.model, base_url=target.base_url, api_key=target.api_key)


def ours_model(target: Target, **settings: Any) -> Any:
    """A fresh `agno_deepinfra.DeepInfra` for `target`, with any extra settings."""
    from agno_deepinfra import DeepInfra

    return DeepInfra(id=target.model, base_url=target.base_url, api_key=target.api_key, **settings)


def _checked(run: Any) -> str:
    """An agno run's content, raising when the run ended in anything but success."""
    status = getattr(run, "status", None)
    if getattr(status, "value", status) != "COMPLETED":
        raise RuntimeError(f"agent run ended with status {status}: {run.content}")
    return str(run.content)


def _installed(calls: dict[str, T]) -> dict[str, T]:
    """`calls` without the LiteLLM contender when litellm is not installed."""
    return {name: call for name, call in calls.items() if name != LITELLM or HAS_LITELLM}


def model_calls(target: Target) -> dict[str, Call]:
    """One non-streamed chat completion at the model layer, per contender."""
    import openai
    from agno.models.message import Message

    client = openai.OpenAI(base_url=target.base_url, api_key=target.api_key, max_retries=0)
    models = _agno_models(target)

    def raw() -> str:
        completion = client.chat.completions.create(model=target.model, messages=_messages())
        return str(completion.choices[0].message.content)

    def agno_model(name: str) -> Call:
        model = models[name]

        def call() -> str:
            return str(model.response(messages=[Message(role="user", content=PROMPT)]).content)

        return call

    def lite() -> str:
        import litellm

        response: Any = litellm.completion(
            f"deepinfra/{target.model}", messages=_messages(), api_base=target.base_url, api_key=target.api_key
        )
        return str(response.choices[0].message.content)

    return _installed({RAW: raw, AGNO: agno_model(AGNO), OURS: agno_model(OURS), LITELLM: lite})


def agent_calls(target: Target) -> dict[str, Call | None]:
    """One `Agent.run` per contender; the raw SDK has no agent layer (None)."""
    from agno.agent import Agent

    models = _agno_models(target)

    def agent_run(name: str) -> Call:
        agent = Agent(model=models[name], telemetry=False)

        def call() -> str:
            return _checked(agent.run(PROMPT))

        return call

    calls: dict[str, Call | None] = {RAW: None, AGNO: agent_run(AGNO), OURS: agent_run(OURS)}
    if HAS_LITELLM:
        calls[LITELLM] = agent_run(LITELLM)
    return calls


def streams(target: Target) -> dict[str, Stream]:
    """One streamed completion per contender, yielding each non-empty content piece as it arrives."""
    import openai
    from agno.models.message import Message

    client = openai.OpenAI(base_url=target.base_url, api_key=target.api_key, max_retries=0)
    models = _agno_models(target)

    def raw() -> Iterator[str]:
        with client.chat.completions.create(
            model=target.model, messages=_messages(), stream=True, stream_options={"include_usage": True}
        ) as stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    def agno_model(name: str) -> Stream:
        model = models[name]

        def stream() -> Iterator[str]:
            for response in model.response_stream(messages=[Message(role="user", content=PROMPT)]):
                content = getattr(response, "content", None)
                if content:
                    yield str(content)

        return stream

    def lite() -> Iterator[str]:
        import litellm

        response: Any = litellm.completion(
            f"deepinfra/{target.model}",
            messages=_messages(),
            api_base=target.base_url,
            api_key=target.api_key,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in response:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    return _installed({RAW: raw, AGNO: agno_model(AGNO), OURS: agno_model(OURS), LITELLM: lite})


def async_calls(target: Target) -> tuple[dict[str, AsyncCall], Closer]:
    """One concurrent-safe async call per contender (raw `AsyncOpenAI`, `Agent.arun`, `litellm.acompletion`).

    Build these inside the event loop that will await them (async HTTP clients bind to it), and
    await the returned closer before that loop ends: it closes every async client they opened.
    """
    import openai
    from agno.agent import Agent

    client = openai.AsyncOpenAI(base_url=target.base_url, api_key=target.api_key, max_retries=0)
    models = _agno_models(target)

    def raw_call(sdk: Any) -> AsyncCall:
        async def call() -> str:
            completion = await sdk.chat.completions.create(model=target.model, messages=_messages())
            return str(completion.choices[0].message.content)

        return call

    def agent_arun(name: str) -> AsyncCall:
        agent = Agent(model=models[name], telemetry=False)

        async def call() -> str:
            return _checked(await agent.arun(PROMPT))

        return call

    async def lite() -> str:
        import litellm

        response: Any = await litellm.acompletion(
            f"deepinfra/{target.model}", messages=_messages(), api_base=target.base_url, api_key=target.api_key
        )
        return str(response.choices[0].message.content)

    calls: dict[str, AsyncCall] = _installed(
        {RAW: raw_call(client), AGNO: agent_arun(AGNO), OURS: agent_arun(OURS), LITELLM: lite}
    )
    clients = [client]
    if find_spec("aiohttp") is not None:
        aio_client = openai.AsyncOpenAI(
            base_url=target.base_url, api_key=target.api_key, max_retries=0, http_client=openai.DefaultAioHttpClient()
        )
        clients.append(aio_client)
        models[OURS_AIOHTTP] = ours_model(target, async_transport="aiohttp")
        calls.update({OURS_AIOHTTP: agent_arun(OURS_AIOHTTP), RAW_AIOHTTP: raw_call(aio_client)})

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

    return calls, close
