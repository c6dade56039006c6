"""The emulator's Batch API through the official openai SDK's `files` and `batches` resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai import BadRequestError, OpenAI

from agno_deepinfra.testing import DeepInfraEmulator, ManualClock

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
URL = "/v1/chat/completions"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(clock: ManualClock) -> Iterator[tuple[OpenAI, DeepInfraEmulator]]:
    with DeepInfraEmulator(batch_clock=clock, batch_validating_seconds=10, batch_running_seconds=100) as emu:
        yield OpenAI(api_key=emu.api_key, base_url=emu.base_url, max_retries=0), emu


def line(custom_id: str, content: str = "What is 2 + 2?", **body: Any) -> dict[str, Any]:
    payload = {"model": MODEL, "messages": [{"role": "user", "content": content}], **body}
    return {"custom_id": custom_id, "method": "POST", "url": URL, "body": payload}


def submit(sdk: OpenAI, lines: list[dict[str, Any]], endpoint: str = URL) -> Any:
    content = "".join(json.dumps(item) + "\n" for item in lines).encode()
    uploaded = sdk.files.create(file=("input.jsonl", content), purpose="batch")
    assert sdk.files.retrieve(uploaded.id).bytes == len(content)
    assert sdk.files.content(uploaded.id).content == content
    return sdk.batches.create(input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h")  # type: ignore[arg-type]


def test_statuses_follow_the_clock_and_answers_come_by_custom_id(client: Any, clock: ManualClock) -> None:
    sdk, emu = client
    emu.batch_api.fail_requests("broken", status=422, message="temperature: out of range")
    lines = [line(f"q-{index}", f"What is {index} + 1?") for index in range(6)] + [line("bad", "broken one")]
    batch = submit(sdk, lines)
    assert batch.status == "validating"
    clock.advance(10)
    assert sdk.batches.retrieve(batch.id).status == "in_progress"
    clock.advance(100)
    done = sdk.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (7, 6, 1)
    output = [json.loads(raw) for raw in sdk.files.content(done.output_file_id).text.splitlines()]
    ids = [row["custom_id"] for row in output]
    assert sorted(ids) == sorted(f"q-{index}" for index in range(6))
    assert ids != [f"q-{index}" for index in range(6)]  # not in request order
    for row in output:
        index = int(row["custom_id"].split("-")[1])
        assert row["response"]["status_code"] == 200 and row["id"].startswith("batch_req_")
        assert f"The answer is {index + 1}" in row["response"]["body"]["choices"][0]["message"]["content"]
    (error,) = [json.loads(raw) for raw in sdk.files.content(done.error_file_id).text.splitlines()]
    assert error["custom_id"] == "bad" and error["response"]["status_code"] == 422
    assert error["response"]["body"] == {"detail": {"error": "temperature: out of range"}}
    assert [item.id for item in sdk.batches.list()] == [batch.id]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([line("a"), line("b", model="Qwen/Qwen3-32B")], "same model"),
        ([line("a"), {**line("b"), "url": "/v1/embeddings"}], "does not match the batch endpoint"),
        ([line("a"), line("a")], "appears more than once"),
        ([line("a", stream=True)], "Streaming is not available"),
    ],
)
def test_invalid_files_fail_the_batch_with_openai_shaped_errors(
    client: Any, clock: ManualClock, lines: list[dict[str, Any]], message: str
) -> None:
    sdk, _ = client
    batch = submit(sdk, lines)
    clock.advance(10)
    failed = sdk.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.output_file_id is None
    assert failed.errors is not None and any(message in str(item.message) for item in failed.errors.data or [])


def test_more_than_50000_lines_fail(client: Any, clock: ManualClock) -> None:
    sdk, _ = client
    batch = submit(sdk, [line(f"r{index}") for index in range(50_001)])
    clock.advance(10)
    failed = sdk.batches.retrieve(batch.id)
    assert failed.status == "failed" and "at most 50000" in str(failed.errors)


def test_create_rejects_a_wrong_endpoint_or_window(client: Any) -> None:
    sdk, _ = client
    with pytest.raises(BadRequestError) as wrong_endpoint:
        submit(sdk, [line("a")], endpoint="/v1/images/generations")
    assert "endpoint must be one of" in str(wrong_endpoint.value.body)
    uploaded = sdk.files.create(file=("x.jsonl", b"{}"), purpose="batch")
    with pytest.raises(BadRequestError) as wrong_window:
        sdk.batches.create(input_file_id=uploaded.id, endpoint=URL, completion_window="1h")  # type: ignore[arg-type]
    assert "24h" in str(wrong_window.value.body)


def test_cancel_goes_through_cancelling(client: Any, clock: ManualClock) -> None:
    sdk, _ = client
    batch = submit(sdk, [line("a"), line("b")])
    clock.advance(10)
    assert sdk.batches.cancel(batch.id).status == "cancelling"
    cancelled = sdk.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None


def test_embeddings_batches(client: Any, clock: ManualClock) -> None:
    sdk, _ = client
    body = {"model": "BAAI/bge-m3", "input": ["one", "two"], "encoding_format": "float"}
    batch = submit(sdk, [{"custom_id": "e", "method": "POST", "url": "/v1/embeddings", "body": body}], "/v1/embeddings")
    clock.advance(110)
    done = sdk.batches.retrieve(batch.id)
    (row,) = [json.loads(raw) for raw in sdk.files.content(done.output_file_id).text.splitlines()]
    assert len(row["response"]["body"]["data"]) == 2


def test_completions_batches(client: Any, clock: ManualClock) -> None:
    sdk, _ = client
    body = {"model": MODEL, "prompt": "Once upon a time", "max_tokens": 16}
    batch = submit(
        sdk, [{"custom_id": "c", "method": "POST", "url": "/v1/completions", "body": body}], "/v1/completions"
    )
    clock.advance(110)
    done = sdk.batches.retrieve(batch.id)
    (row,) = [json.loads(raw) for raw in sdk.files.content(done.output_file_id).text.splitlines()]
    assert row["response"]["status_code"] == 200 and row["response"]["body"]["choices"][0]["text"]


def test_a_repeated_prompt_cache_key_reports_cached_tokens(client: Any) -> None:
    sdk, _ = client
    messages = [{"role": "system", "content": "You are a careful assistant. " * 20}, {"role": "user", "content": "Hi"}]
    first = sdk.chat.completions.create(model=MODEL, messages=messages, extra_body={"prompt_cache_key": "k1"})  # type: ignore[arg-type]
    again = sdk.chat.completions.create(model=MODEL, messages=messages, extra_body={"prompt_cache_key": "k1"})  # type: ignore[arg-type]
    other = sdk.chat.completions.create(model=MODEL, messages=messages, extra_body={"prompt_cache_key": "k2"})  # type: ignore[arg-type]
    assert first.usage is not None and again.usage is not None and other.usage is not None
    assert first.usage.prompt_tokens_details is None or not first.usage.prompt_tokens_details.cached_tokens
    assert again.usage.prompt_tokens_details is not None
    assert again.usage.prompt_tokens_details.cached_tokens == again.usage.prompt_tokens
    assert other.usage.prompt_tokens_details is None or not other.usage.prompt_tokens_details.cached_tokens
    assert (again.usage.model_extra or {})["estimated_cost"] < (first.usage.model_extra or {})["estimated_cost"]
