"""Batch mode end to end: real agno agents, the real openai SDK, the emulator's Batch API over sockets.

Batches advance on the emulator's `TickingClock` (a fixed step per status check, whatever the
wall clock does), and the client's waits between checks are injected (`sleep=`): no test waits
on, or races, real time. `max_requests=N` with a long window submits exactly when the N calls of a
test have arrived, so every batch's content is deterministic.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from agno.agent import Agent
from agno.run.base import RunStatus
from openai import OpenAI
from pydantic import BaseModel

from agno_deepinfra import BatchOptions, BatchProgress, DeepInfra
from agno_deepinfra.batch.options import BATCH_PRICE_FACTOR
from agno_deepinfra.testing import DeepInfraEmulator, TickingClock

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
CITIES = ["Paris", "Rome", "Oslo"]


@pytest.fixture
def bemu() -> Iterator[DeepInfraEmulator]:
    with DeepInfraEmulator(batch_clock=TickingClock(0.25)) as emulator:
        yield emulator


def options(count: int, **kwargs: Any) -> BatchOptions:
    kwargs.setdefault("window", 600)
    return BatchOptions(max_requests=count, poll_interval=0.01, sleep=lambda seconds: None, **kwargs)


def batch_model(emu: DeepInfraEmulator, batch_api: Any, **kwargs: Any) -> DeepInfra:
    return DeepInfra(id=MODEL, base_url=emu.base_url, api_key=emu.api_key, batch_api=batch_api, **kwargs)


def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"Sunny in {city}"


def realtime_cost(emu: DeepInfraEmulator, prompt: int, completion: int) -> float:
    entry = emu.catalog.get(MODEL)
    assert entry is not None
    return entry.cost(prompt, completion)


def batch_bodies(emu: DeepInfraEmulator) -> list[list[dict[str, Any]]]:
    """The request lines of every batch created, from the uploaded files."""
    client = OpenAI(api_key=emu.api_key, base_url=emu.base_url)
    return [
        [json.loads(line) for line in client.files.content(batch["input_file_id"]).text.splitlines()]
        for batch in emu.batch_api.created()
    ]


async def test_async_runs_with_a_tool_share_one_batch_per_step(bemu: DeepInfraEmulator) -> None:
    agent = Agent(model=batch_model(bemu, options(len(CITIES))), tools=[get_weather])
    outputs = await asyncio.gather(*(agent.arun(f"What is the weather in {city}?") for city in CITIES))
    for city, output in zip(CITIES, outputs, strict=True):
        assert output.status == RunStatus.completed
        assert f"Sunny in {city}" in str(output.content)  # the tool ran locally between the two rounds
    created = bemu.batch_api.created()
    assert [batch["status"] for batch in created] == ["completed", "completed"]  # tool round, then answer
    assert [batch["request_counts"]["total"] for batch in created] == [3, 3]
    assert not bemu.requests_for("chat")  # nothing went to the real-time route
    first, second = batch_bodies(bemu)
    assert all(line["body"]["tools"] for line in first)
    assert all(line["body"]["messages"][-1]["role"] == "tool" for line in second)
    assert all("stream" not in line["body"] for line in first + second)


async def test_cost_is_the_catalog_price_at_the_batch_rate(bemu: DeepInfraEmulator) -> None:
    agent = Agent(model=batch_model(bemu, options(1)))
    output = await agent.arun("What is 2 + 3?")
    metrics = output.metrics
    assert metrics is not None and metrics.input_tokens > 0 and metrics.output_tokens > 0
    expected = realtime_cost(bemu, metrics.input_tokens, metrics.output_tokens) * BATCH_PRICE_FACTOR
    assert metrics.cost == pytest.approx(expected)


def test_sync_runs_from_a_thread_pool_share_batches(bemu: DeepInfraEmulator) -> None:
    agent = Agent(model=batch_model(bemu, options(len(CITIES))), tools=[get_weather])
    with ThreadPoolExecutor(len(CITIES)) as pool:
        outputs = list(pool.map(lambda city: agent.run(f"What is the weather in {city}?"), CITIES))
    assert [f"Sunny in {city}" in str(output.content) for city, output in zip(CITIES, outputs, strict=True)] == [
        True
    ] * 3
    assert [batch["request_counts"]["total"] for batch in bemu.batch_api.created()] == [3, 3]


def test_a_streamed_run_gets_the_whole_answer_as_content_events(bemu: DeepInfraEmulator) -> None:
    agent = Agent(model=batch_model(bemu, options(1)))
    events = list(agent.run("What is 2 + 3?", stream=True))
    content = "".join(str(event.content) for event in events if type(event).__name__ == "RunContentEvent")
    assert "5" in content
    assert len(bemu.batch_api.created()) == 1


class Answer(BaseModel):
    city: str
    summary: str


async def test_structured_output_and_history(bemu: DeepInfraEmulator, tmp_path: Path) -> None:
    from agno.db.sqlite import SqliteDb

    agent = Agent(
        model=batch_model(bemu, options(1)),
        db=SqliteDb(db_file=str(tmp_path / "history.db")),
        add_history_to_context=True,
    )
    await agent.arun("My name is Ada.", session_id="s1")
    await agent.arun("What is my name?", session_id="s1")
    second = batch_bodies(bemu)[1][0]["body"]["messages"]
    assert any("My name is Ada." in str(message.get("content")) for message in second)  # history went along
    typed = Agent(model=batch_model(bemu, options(1)), output_schema=Answer)
    output = await typed.arun("Describe Paris.")
    assert isinstance(output.content, Answer)


async def test_a_failed_line_fails_only_its_run_with_deepinfras_text(bemu: DeepInfraEmulator) -> None:
    bemu.batch_api.fail_requests("poisoned", status=400, message="Invalid token in prompt")
    agent = Agent(model=batch_model(bemu, options(3)))
    questions = ["What is 1 + 1?", "This one is poisoned", "What is 2 + 2?"]
    outputs = await asyncio.gather(*(agent.arun(question) for question in questions))
    assert [output.status for output in outputs] == [RunStatus.completed, RunStatus.error, RunStatus.completed]
    assert "Invalid token in prompt" in str(outputs[1].content)
    assert "HTTP 400" in str(outputs[1].content)
    created = bemu.batch_api.created()
    assert len(created) == 1 and created[0]["request_counts"] == {"total": 3, "completed": 2, "failed": 1}


@pytest.mark.parametrize("ending", ["failed", "expired", "cancelled"])
def test_a_batch_that_ends_badly_ends_its_runs_naming_batch_and_status(bemu: DeepInfraEmulator, ending: str) -> None:
    bemu.batch_api.end_next(ending, message="the account ran out of funds" if ending == "failed" else None)
    agent = Agent(model=batch_model(bemu, options(2)))
    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(agent.run, ["What is 1 + 1?", "What is 2 + 2?"]))
    batch_id = bemu.batch_api.created()[0]["id"]
    failed = [output for output in outputs if output.status == RunStatus.error]
    assert failed, "a batch that did not complete must fail runs"
    for output in failed:
        assert batch_id in str(output.content) and f"'{ending}'" in str(output.content)
        if ending == "failed":
            assert "the account ran out of funds" in str(output.content)  # DeepInfra's reason, passed on
    # Expired and cancelled batches answer what they ran (here: half); a failed batch answers nothing.
    assert len(failed) == (2 if ending == "failed" else 1)
    assert len(bemu.batch_api.created()) == 1  # agno's retry loop did not submit again


def test_progress_reaches_the_callback(bemu: DeepInfraEmulator) -> None:
    seen: list[BatchProgress] = []
    agent = Agent(model=batch_model(bemu, options(1, on_progress=seen.append)))
    agent.run("What is 1 + 1?")
    assert [progress.status for progress in seen][-1] == "completed"
    assert "in_progress" in [progress.status for progress in seen]
    assert seen[-1].completed == 1 and seen[-1].total == 1 and seen[-1].failed == 0


def test_options_are_client_settings_not_data(bemu: DeepInfraEmulator) -> None:
    callback_options = options(1, on_progress=print)
    model = batch_model(bemu, callback_options)
    assert "batch_api" not in model.to_dict() and "on_progress" not in json.dumps(model.to_dict())
    assert "batch_api" not in vars(model)  # agno's fingerprints read public attributes
    default = batch_model(bemu, True).batch_api
    assert isinstance(default, BatchOptions) and default.window == BatchOptions.window
    assert batch_model(bemu, False).batch_api is None
    import copy

    assert copy.deepcopy(model).batch_api is callback_options  # copies keep collecting together


def test_clear_errors_before_any_request(bemu: DeepInfraEmulator) -> None:
    with pytest.raises(ValueError, match="max_requests"):
        BatchOptions(max_requests=50_001)
    with pytest.raises(TypeError, match="BatchOptions"):
        batch_model(bemu, "yes")
    shared = options(2, window=0)
    first = Agent(model=batch_model(bemu, shared))
    assert first.run("What is 1 + 1?").status == RunStatus.completed
    other = Agent(model=DeepInfra(id="Qwen/Qwen3-32B", base_url=bemu.base_url, api_key=bemu.api_key, batch_api=shared))
    output = other.run("What is 1 + 1?")
    assert output.status == RunStatus.error and "runs one model" in str(output.content)
    from agno_deepinfra.batch._collector import submit
    from agno_deepinfra.batch.options import Target

    target = Target("/v1/images/generations", bemu.base_url, lambda: OpenAI(api_key="x"), None, "DeepInfra")  # type: ignore[arg-type]
    from agno_deepinfra._shared.errors import DeepInfraError

    with pytest.raises(DeepInfraError, match="cannot run in batch mode"):
        submit(options(1), target, {"model": MODEL})
    before = len(bemu.batch_api.created())
    assert before == 1  # neither mistake sent a batch


def test_a_retried_create_never_submits_twice(bemu: DeepInfraEmulator) -> None:
    """The first create reaches the server but its answer is lost (a 502 after the fact): the retry finds the batch."""
    from agno_deepinfra.batch import _job as _batch_job

    real_create = _batch_job.BatchJob._create
    calls: list[int] = []

    def lossy_create(self: _batch_job.BatchJob, file_id: str, token: str) -> str:
        original = self.client.batches.create

        def create_then_lose(**kwargs: Any) -> Any:
            original(**kwargs)
            calls.append(1)
            if len(calls) == 1:
                import httpx

                raise httpx.RemoteProtocolError("connection dropped after the batch was created")
            return original(**kwargs)

        self.client.batches.create = create_then_lose  # type: ignore[method-assign]
        return real_create(self, file_id, token)

    pytest.MonkeyPatch().setattr(_batch_job.BatchJob, "_create", lossy_create)
    try:
        agent = Agent(model=batch_model(bemu, options(1), retries=2, delay_between_retries=0))
        output = agent.run("What is 1 + 1?")
    finally:
        pytest.MonkeyPatch().undo()
        _batch_job.BatchJob._create = real_create  # type: ignore[method-assign]
    assert output.status == RunStatus.completed
    assert len(calls) == 1  # the retry looked up the batch instead of creating another
    assert len(bemu.batch_api.created()) == 1


# ------------------------------------------------------------------------------- the embedder

EMBEDDING_MODEL = "BAAI/bge-m3"


def test_the_embedder_sends_every_request_of_a_list_in_one_batch(bemu: DeepInfraEmulator) -> None:
    from agno_deepinfra import DeepInfraEmbedder

    texts = [f"passage number {index}" for index in range(25)]
    common = {"id": EMBEDDING_MODEL, "base_url": bemu.base_url, "api_key": bemu.api_key, "batch_size": 10}
    batched = DeepInfraEmbedder(batch_api=options(3), **common)
    vectors, usages = batched.get_embeddings_batch_and_usage(texts)
    (created,) = bemu.batch_api.created()
    assert created["endpoint"] == "/v1/embeddings" and created["request_counts"]["total"] == 3
    realtime_vectors, realtime_usages = DeepInfraEmbedder(**common).get_embeddings_batch_and_usage(texts)
    assert vectors == realtime_vectors  # same answers, in input order
    assert usages[0] is not None and realtime_usages[0] is not None
    assert usages[0]["estimated_cost"] == pytest.approx(realtime_usages[0]["estimated_cost"] * BATCH_PRICE_FACTOR)


async def test_a_corpus_inserted_concurrently_fills_one_batch(bemu: DeepInfraEmulator, tmp_path: Path) -> None:
    from agno.knowledge.document import Document
    from agno.vectordb.lancedb import LanceDb

    from agno_deepinfra import DeepInfraEmbedder

    # One request per document (enable_batch=False): the collector gathers the concurrent requests.
    embedder = DeepInfraEmbedder(
        id=EMBEDDING_MODEL, base_url=bemu.base_url, api_key=bemu.api_key, batch_api=options(5), enable_batch=False
    )
    vector_db = LanceDb(uri=str(tmp_path / "lance"), table_name="corpus", embedder=embedder)
    vector_db.create()
    documents = [Document(name=f"d{index}", content=f"Document {index} is about topic {index}.") for index in range(5)]
    await vector_db.async_insert(content_hash="corpus", documents=documents)
    (created,) = bemu.batch_api.created()
    assert created["request_counts"] == {"total": 5, "completed": 5, "failed": 0}
    assert all(document.embedding and len(document.embedding) == embedder.dimensions for document in documents)
    # Queries need an answer now: search the table with a real-time embedder (same model, same vectors).
    realtime = DeepInfraEmbedder(id=EMBEDDING_MODEL, base_url=bemu.base_url, api_key=bemu.api_key)
    searcher = LanceDb(uri=str(tmp_path / "lance"), table_name="corpus", embedder=realtime)
    assert searcher.search("Document 3 is about topic 3.", limit=1)[0].name == "d3"


def test_an_embeddings_call_above_the_limit_fails_before_any_request(bemu: DeepInfraEmulator) -> None:
    from agno_deepinfra import DeepInfraEmbedder
    from agno_deepinfra.embedder import EmbeddingError

    embedder = DeepInfraEmbedder(
        id=EMBEDDING_MODEL, base_url=bemu.base_url, api_key=bemu.api_key, batch_api=True, batch_size=60_000
    )
    with pytest.raises(EmbeddingError, match="at most 50000 inputs"):
        embedder.get_embeddings_batch_and_usage(["x"] * 50_001)
    assert not bemu.requests


def test_a_job_that_died_between_upload_and_create_is_finished_not_repeated(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal holds an uploaded file whose batch was never created: the rerun creates it, uploads nothing."""
    from agno_deepinfra.batch import _job as _batch_job

    journal = tmp_path / "journal.jsonl"
    real_create = _batch_job.BatchJob._create

    def crash(self: _batch_job.BatchJob, file_id: str, token: str) -> str:
        raise RuntimeError("killed between upload and create")

    monkeypatch.setattr(_batch_job.BatchJob, "_create", crash)
    first = Agent(model=batch_model(bemu, options(1, journal=journal))).run("What is 1 + 1?")
    assert first.status == RunStatus.error and "killed between upload and create" in str(first.content)
    assert not bemu.batch_api.created()

    monkeypatch.setattr(_batch_job.BatchJob, "_create", real_create)
    second = Agent(model=batch_model(bemu, options(1, journal=journal))).run("What is 1 + 1?")
    assert second.status == RunStatus.completed and "The answer is 2" in str(second.content)
    uploads = [request for request in bemu.requests_for("files") if request.method == "POST"]
    assert len(uploads) == 1 and len(bemu.batch_api.created()) == 1


async def test_an_async_stream_and_the_progress_line(
    bemu: DeepInfraEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = Agent(model=batch_model(bemu, options(1, progress_bar=True)))
    events = [event async for event in agent.arun("What is 2 + 3?", stream=True)]
    content = "".join(str(event.content) for event in events if type(event).__name__ == "RunContentEvent")
    assert "The answer is 5" in content
    batch_id = bemu.batch_api.created()[0]["id"]
    err = capsys.readouterr().err
    assert f"\r{batch_id} [{'#' * 30}] 1/1 completed\n" in err and "0/1 in_progress" in err


def test_the_docs_name_tests_that_exist() -> None:
    """Every test RELIABILITY.md names for batch mode (its "Batch mode" table, and the promise table's
    rows for docs/guides/batch-and-caching.md, which names no tests itself) is a test of this suite."""
    import re

    root = Path(__file__).resolve().parents[1]
    reliability = (root / "RELIABILITY.md").read_text()
    promises = reliability.split("## Promises and the tests that guard them", 1)[1]
    sections = [
        reliability.split("## Batch mode", 1)[1].split("\n## ", 1)[0],
        "\n".join(line for line in promises.splitlines() if "batch-and-caching" in line),
    ]
    named = {name for text in sections for name in re.findall(r"::(test_\w+)", text)}
    assert len(named) >= 10
    defined = {
        name
        for path in (root / "tests").glob("test_*.py")
        for name in re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), re.M)
    }
    assert named <= defined, named - defined
    for text in sections:
        for path in re.findall(r"`(tests/test_\w+\.py)", text):
            assert (root / path).exists(), path
