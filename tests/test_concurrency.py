"""DeepInfra's concurrency cap in the emulator, and `max_concurrency` keeping batches under it."""

from __future__ import annotations

import asyncio
import copy
import io
import pickle
import time
import wave
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from agno.agent import Agent
from agno.knowledge.document import Document
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraRateLimitError, DeepInfraReranker, DeepInfraTools
from agno_deepinfra._shared.adaptive_limit import AUTO_START
from agno_deepinfra._shared.limiter import MaxConcurrency
from agno_deepinfra._shared.retry import RetryPolicy
from agno_deepinfra.embedder import DEFAULT_EMBEDDING_MODEL, EmbeddingError
from agno_deepinfra.testing import DeepInfraEmulator, Fault
from agno_deepinfra.tools import DEFAULT_IMAGE_MODEL, DEFAULT_SPEECH_MODEL, DEFAULT_TRANSCRIPTION_MODEL

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
RATE_LIMITED = "Rate limited: too many concurrent requests for this model"


@pytest.fixture
def capped() -> Iterator[DeepInfraEmulator]:
    """An emulator admitting 3 requests per model at once, each taking 20 ms."""
    with DeepInfraEmulator(concurrency_limit=3, service_time=0.02, retry_after=1.0) as emulator:
        yield emulator


def chat_body(prompt: str = "hi") -> dict[str, object]:
    return {"model": MODEL_ID, "messages": [{"role": "user", "content": prompt}]}


async def wait_for(condition: object, what: str) -> None:
    """Yield to the emulator's thread until `condition()` holds (bounded: a hung emulator fails the test)."""
    for _ in range(2000):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


# ------------------------------------------------------------------------ the emulator's cap


async def test_beyond_the_cap_the_emulator_answers_deepinfras_429_with_retry_after() -> None:
    with DeepInfraEmulator(concurrency_limit=2) as emu:
        emu.queue(Fault.hang())
        emu.queue(Fault.hang())
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        url = f"{emu.base_url}/chat/completions"
        async with httpx.AsyncClient(timeout=30) as client:
            holders = [asyncio.create_task(client.post(url, json=chat_body(), headers=headers)) for _ in range(2)]
            await wait_for(lambda: emu.cap.in_flight[MODEL_ID] == 2, "two requests holding the cap")
            refused = await client.post(url, json=chat_body(), headers=headers)
            other_model = await client.post(url, json={**chat_body(), "model": "Qwen/Qwen3-32B"}, headers=headers)
            for holder in holders:
                holder.cancel()
            await asyncio.gather(*holders, return_exceptions=True)
            await wait_for(lambda: emu.cap.in_flight[MODEL_ID] == 0, "the cancelled requests' slots freed")
            admitted = await client.post(url, json=chat_body(), headers=headers)
    assert refused.status_code == 429
    assert refused.json() == {"detail": {"error": refused.json()["detail"]["error"]}}
    assert refused.json()["detail"]["error"].startswith(RATE_LIMITED)
    assert refused.headers["retry-after"] == "1"
    assert other_model.status_code == 200  # the cap is per model
    assert admitted.status_code == 200
    assert emu.rejected(MODEL_ID) == 1 and emu.peak_in_flight(MODEL_ID) == 2


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(b"\x00\x00" * 1600)
    return buffer.getvalue()


# One request on each route that runs a model, as the openai SDK sends it.
SDK_CALLS: dict[str, Callable[[openai.AsyncOpenAI], Awaitable[Any]]] = {
    "chat": lambda sdk: sdk.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "hi"}]),
    "completions": lambda sdk: sdk.completions.create(model=MODEL_ID, prompt="hi"),
    "embeddings": lambda sdk: sdk.embeddings.create(model=DEFAULT_EMBEDDING_MODEL, input="hi"),
    "images": lambda sdk: sdk.images.generate(model=DEFAULT_IMAGE_MODEL, prompt="a fox", response_format="b64_json"),
    "speech": lambda sdk: sdk.audio.speech.create(model=DEFAULT_SPEECH_MODEL, voice="af_bella", input="hi"),
    "transcriptions": lambda sdk: sdk.audio.transcriptions.create(
        model=DEFAULT_TRANSCRIPTION_MODEL, file=("note.wav", _wav())
    ),
}


Caller = Callable[[DeepInfraEmulator, openai.AsyncOpenAI], Awaitable[Any]]


async def _while_one_request_hangs_on(route: str, call: Caller) -> Any:
    """`call`'s outcome (its result or what it raised) while another request holds the route's model at a cap of 1."""
    with DeepInfraEmulator(concurrency_limit=1) as emu:
        emu.queue(Fault.hang(), route=route)
        async with openai.AsyncOpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0, timeout=30) as sdk:
            holder = asyncio.create_task(SDK_CALLS[route](sdk))
            # The emulator logs a request and takes its slot in one step on its loop: logged means admitted.
            await wait_for(lambda: len(emu.requests_for(route)) == 1, f"one {route} request holding the cap")
            try:
                outcome = await call(emu, sdk)
            except Exception as raised:  # the outcome under test
                outcome = raised
            holder.cancel()
            await asyncio.gather(holder, return_exceptions=True)
            await wait_for(lambda: sum(emu.cap.in_flight.values()) == 0, "the cancelled request's slot freed")
            await SDK_CALLS[route](sdk)  # the slot came back: the next request is served (a 429 would raise)
    return outcome


@pytest.mark.parametrize("route", list(SDK_CALLS))
async def test_every_route_that_runs_a_model_is_capped_as_the_sdk_sees_it(route: str) -> None:
    """The 429 a caller of the real openai SDK sees, on chat, the legacy completions, embeddings and media."""
    refused = await _while_one_request_hangs_on(route, lambda emu, sdk: SDK_CALLS[route](sdk))
    assert isinstance(refused, openai.RateLimitError), refused
    assert refused.status_code == 429 and refused.response.headers["retry-after"] == "1"
    assert refused.response.json()["detail"]["error"].startswith(RATE_LIMITED)  # DeepInfra's body


async def _embed(emu: DeepInfraEmulator, sdk: openai.AsyncOpenAI) -> Any:
    async with DeepInfraEmbedder(base_url=emu.base_url, api_key=emu.api_key) as embedder:
        return await embedder.async_get_embedding("hi")


def _tool(name: str, *args: Any) -> Caller:
    async def call(emu: DeepInfraEmulator, sdk: openai.AsyncOpenAI) -> Any:
        audio_dir = Path(args[0]).parent if name == "atranscribe_audio" else None  # where the test wrote it
        tools = DeepInfraTools(base_url=emu.root_url, api_key=emu.api_key, audio_dir=audio_dir)
        try:
            return (await getattr(tools, name)(*args)).content
        finally:
            await tools.aclose()

    return call


async def test_our_embedder_and_media_tools_see_the_caps_429(tmp_path: Path) -> None:
    """The same cap through this package's own callers: agno's error, and the tools' readable result."""
    (tmp_path / "note.wav").write_bytes(_wav())
    embedded = await _while_one_request_hangs_on("embeddings", _embed)
    assert isinstance(embedded, EmbeddingError) and "429" in str(embedded) and RATE_LIMITED in str(embedded)
    calls = {
        "images": _tool("agenerate_image", "a fox"),
        "speech": _tool("agenerate_speech", "hi"),
        "transcriptions": _tool("atranscribe_audio", str(tmp_path / "note.wav")),
    }
    for route, call in calls.items():
        result = await _while_one_request_hangs_on(route, call)
        assert isinstance(result, str) and result.startswith("Failed to "), (route, result)
        assert "429" in result and RATE_LIMITED in result, (route, result)


async def test_the_cap_can_be_turned_off() -> None:
    with DeepInfraEmulator(concurrency_limit=None) as emu:
        for _ in range(3):
            emu.queue(Fault.hang())
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        async with httpx.AsyncClient(timeout=30) as client:
            url = f"{emu.base_url}/chat/completions"
            holders = [asyncio.create_task(client.post(url, json=chat_body(), headers=headers)) for _ in range(3)]
            await wait_for(lambda: emu.cap.in_flight[MODEL_ID] == 3, "three requests in flight")
            extra = await client.post(url, json=chat_body(), headers=headers)
            for holder in holders:
                holder.cancel()
            await asyncio.gather(*holders, return_exceptions=True)
    assert extra.status_code == 200 and emu.rejected() == 0


def test_the_cap_is_200_by_default_as_deepinfras() -> None:
    assert DeepInfraEmulator().cap.limit == 200


def test_service_time_delays_every_model_request(capped: DeepInfraEmulator) -> None:
    start = time.perf_counter()
    response = httpx.post(
        f"{capped.base_url}/chat/completions", json=chat_body(), headers={"Authorization": f"Bearer {capped.api_key}"}
    )
    assert response.status_code == 200
    assert time.perf_counter() - start >= 0.02  # a lower bound: load can only make it slower


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency_limit": 0}, "concurrency_limit must be None"),
        ({"retry_after": -1}, "retry_after must be >= 0"),
        ({"service_time": -0.5}, "service_time must be >= 0"),
    ],
)
def test_bad_emulator_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeepInfraEmulator(**kwargs)  # type: ignore[arg-type]


def test_the_model_reports_the_cap_as_a_rate_limit_with_the_servers_wait() -> None:
    with DeepInfraEmulator(concurrency_limit=1) as emu:
        emu.queue(Fault.hang())
        model = DeepInfra(id=MODEL_ID, base_url=emu.base_url, api_key=emu.api_key, timeout=30)

        async def main() -> BaseException | None:
            holder = asyncio.create_task(Agent(model=model).arun("hold"))
            await wait_for(lambda: emu.cap.in_flight[MODEL_ID] == 1, "one request holding the cap")
            error: BaseException | None = None
            try:
                await model.aresponse([_user("hi")])
            except DeepInfraRateLimitError as raised:
                error = raised
            holder.cancel()
            await asyncio.gather(holder, return_exceptions=True)
            return error

        error = asyncio.run(main())
    assert isinstance(error, DeepInfraRateLimitError)
    assert error.retry_after == 1.0 and RATE_LIMITED in str(error)


def _user(text: str) -> object:
    from agno.models.message import Message

    return Message(role="user", content=text)


# ------------------------------------------------------------------ max_concurrency under the cap


def test_a_fixed_limit_keeps_threads_under_the_cap(capped: DeepInfraEmulator) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=capped.base_url, api_key=capped.api_key, max_concurrency=3, retries=0)
    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(lambda n: Agent(model=model).run(f"thread run {n}"), range(24)))
    # The callers' side: with no retries, a single 429 would fail its run.
    assert [output.status for output in outputs] == [RunStatus.completed] * 24, [o.content for o in outputs]
    assert capped.rejected() == 0 and capped.peak_in_flight(MODEL_ID) <= 3


def test_a_fixed_limit_keeps_async_batches_on_several_loops_under_the_cap(capped: DeepInfraEmulator) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=capped.base_url, api_key=capped.api_key, max_concurrency=3)

    def batch(loop_number: int) -> list[RunStatus]:
        async def main() -> list[RunStatus]:
            runs = [Agent(model=model).arun(f"loop {loop_number} run {n}") for n in range(20)]
            return [output.status for output in await asyncio.gather(*runs)]

        return asyncio.run(main())

    with ThreadPoolExecutor(2) as pool:
        statuses = [status for result in pool.map(batch, range(2)) for status in result]
    assert statuses == [RunStatus.completed] * 40
    assert capped.rejected() == 0 and capped.peak_in_flight(MODEL_ID) <= 3


def test_streams_hold_their_slot_until_they_end(capped: DeepInfraEmulator) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=capped.base_url, api_key=capped.api_key, max_concurrency=2)

    async def main() -> list[str]:
        async def stream(n: int) -> str:
            parts = [event.content async for event in Agent(model=model).arun(f"stream {n}", stream=True)]
            return "".join(str(part) for part in parts if isinstance(part, str))

        return await asyncio.gather(*(stream(n) for n in range(10)))

    answers = asyncio.run(main())
    assert all(answers) and capped.rejected() == 0 and capped.peak_in_flight(MODEL_ID) <= 2


def test_without_a_limit_a_batch_beyond_the_cap_draws_429s(capped: DeepInfraEmulator, waits: list[float]) -> None:
    """The storm the limit prevents: today's behaviour, kept as the default."""
    model = DeepInfra(id=MODEL_ID, base_url=capped.base_url, api_key=capped.api_key, retries=30)

    async def main() -> list[RunStatus]:
        return [output.status for output in await asyncio.gather(*(Agent(model=model).arun("x") for _ in range(30)))]

    assert asyncio.run(main()) == [RunStatus.completed] * 30  # agno's retries absorb it...
    assert capped.rejected() > 0  # ...after 429s (30 requests at once, 3 admitted)


def test_auto_learns_the_cap_and_every_run_completes(capped: DeepInfraEmulator, waits: list[float]) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=capped.base_url, api_key=capped.api_key, max_concurrency="auto", retries=5)

    async def main() -> list[RunStatus]:
        return [output.status for output in await asyncio.gather(*(Agent(model=model).arun("x") for _ in range(120)))]

    assert asyncio.run(main()) == [RunStatus.completed] * 120
    # Learned: down from where "auto" starts (10) to about the cap of 3. Not pinned to the cap: the
    # requests of the run's tail draw no 429, so slow start may have grown the limit a step or two
    # by the end, more so on a loaded machine (a second copy of the suite beside it ended at 5).
    assert model._limiter is not None and model._limiter.limit < AUTO_START
    # The first 10 (where "auto" starts) go at once and 7 are refused, then a few probes, never a
    # storm (without a limit, the first wave alone draws 117).
    assert capped.rejected() < 117


@pytest.mark.parametrize(
    ("setting", "expected"), [("auto", [1.0, 1.0, 1.0]), (3, [1.0, 2.0, 4.0]), (None, [1.0, 2.0, 4.0])]
)
def test_under_auto_a_429_is_retried_after_retry_after_not_a_growing_schedule(
    setting: MaxConcurrency, expected: list[float]
) -> None:
    """The adaptive limiter holds the retry back until a slot comes free; a fixed limit or none keeps the schedule."""
    common = {"retries": 3, "delay_between_retries": 1, "exponential_backoff": True, "max_concurrency": setting}
    model = DeepInfra(id=MODEL_ID, api_key="k", **common)  # type: ignore[arg-type]
    embedder = DeepInfraEmbedder(api_key="k", **common)  # type: ignore[arg-type]
    reranker = DeepInfraReranker(api_key="k", **common)  # type: ignore[arg-type]
    policies = [RetryPolicy.of(embedder), RetryPolicy.of(reranker)]
    refused = DeepInfraRateLimitError(message="HTTP 429", status_code=429, model_name="DeepInfra")
    refused.retry_after = 1.0
    for attempt, wait in enumerate(expected):
        model._is_retryable_error(refused)  # hands the Retry-After to `_get_retry_delay`, as agno's loop does
        assert model._get_retry_delay(attempt) == wait
        assert [policy.wait_before_retry(refused, attempt) for policy in policies] == [wait, wait]


def test_embedder_and_reranker_keep_under_the_cap(capped: DeepInfraEmulator) -> None:
    embedder = DeepInfraEmbedder(
        base_url=capped.base_url, api_key=capped.api_key, dimensions=32, batch_size=2, max_concurrency=3
    )
    reranker = DeepInfraReranker(
        base_url=capped.base_url, api_key=capped.api_key, batch_size=2, max_concurrency=3, raise_on_error=True
    )
    documents = [Document(content=f"document {n}") for n in range(20)]

    async def main() -> tuple[int, int]:
        vectors, _ = await embedder.async_get_embeddings_batch_and_usage([f"text {n}" for n in range(40)])
        rerank_jobs = [reranker.arerank("query", documents) for _ in range(3)]
        ranked = await asyncio.gather(*rerank_jobs)
        await embedder.aclose()
        await reranker.aclose()
        return len(vectors), sum(len(result) for result in ranked)

    assert asyncio.run(main()) == (40, 60)
    with ThreadPoolExecutor(6) as pool:
        assert all(len(v) == 32 for v in pool.map(embedder.get_embedding, [f"t{n}" for n in range(12)]))
    embedder.close()
    assert capped.rejected() == 0
    assert max(capped.cap.peak.values()) <= 3


# ---------------------------------------------------- max_concurrency changed after construction


def test_a_limit_set_after_construction_takes_effect(capped: DeepInfraEmulator) -> None:
    model = DeepInfra(id=MODEL_ID, base_url=capped.base_url, api_key=capped.api_key)
    embedder = DeepInfraEmbedder(base_url=capped.base_url, api_key=capped.api_key, dimensions=32, batch_size=2)
    reranker = DeepInfraReranker(base_url=capped.base_url, api_key=capped.api_key, batch_size=2, raise_on_error=True)
    for owner in (model, embedder, reranker):
        owner.max_concurrency = 1

    async def main() -> list[object]:
        runs = [Agent(model=model).arun(f"run {n}") for n in range(6)]
        statuses = [output.status for output in await asyncio.gather(*runs)]
        vectors, _ = await embedder.async_get_embeddings_batch_and_usage([f"text {n}" for n in range(12)])
        ranked = await reranker.arerank("query", [Document(content=f"document {n}") for n in range(12)])
        await embedder.aclose()
        await reranker.aclose()
        return [statuses, len(vectors), len(ranked)]

    assert asyncio.run(main()) == [[RunStatus.completed] * 6, 12, 12]
    assert set(capped.cap.peak.values()) == {1}  # one request at a time on every model


@pytest.mark.parametrize("make", [DeepInfra, DeepInfraEmbedder, DeepInfraReranker])
def test_a_bad_limit_set_later_is_refused_and_the_old_one_kept(make: Any) -> None:
    owner = make(api_key="k", max_concurrency=2)
    limiter = owner._limiter
    with pytest.raises(ValueError, match="max_concurrency must be None"):
        owner.max_concurrency = 0
    assert owner.max_concurrency == 2 and owner._limiter is limiter
    owner.max_concurrency = 2  # unchanged: the limiter (and what "auto" learnt) stays
    assert owner._limiter is limiter
    owner.max_concurrency = None
    assert owner._limiter is None


def test_a_request_in_flight_gives_its_slot_back_to_the_limiter_it_took_it_from() -> None:
    from agno_deepinfra.chat._attempt import FailureScope

    model = DeepInfra(api_key="k", max_concurrency=1)
    old = model._limiter
    assert old is not None
    with FailureScope(model):
        model.max_concurrency = 5
        assert old.in_flight == 1
    assert old.in_flight == 0 and model._limiter is not None and model._limiter.in_flight == 0


def test_copies_share_a_limit_set_later_and_pickles_carry_it() -> None:
    model = DeepInfra(api_key="k")
    model.max_concurrency = 3
    copied = copy.deepcopy(model)
    unpickled = pickle.loads(pickle.dumps(model))
    assert copied._limiter is model._limiter
    assert unpickled.max_concurrency == 3 and unpickled._limiter is not None and unpickled._limiter.setting == 3
