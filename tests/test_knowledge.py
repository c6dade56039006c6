"""DeepInfraEmbedder and DeepInfraReranker against the emulator's sockets, and inside agno's Knowledge.

Attempt counts come from the emulator's request log; retry waits from the `slept` fixture, which
replaces the runner's sleeps in `agno_deepinfra._shared.retry` (nothing here waits on a clock).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from agno.agent import Agent
from agno.exceptions import ModelAuthenticationError
from agno.knowledge.document import Document
from agno.knowledge.knowledge import Knowledge
from agno.knowledge.reader.text_reader import TextReader
from agno.run.base import RunStatus
from agno.vectordb.lancedb import LanceDb

from agno_deepinfra import DeepInfra, DeepInfraError
from agno_deepinfra.embedder import DeepInfraEmbedder, EmbeddingError
from agno_deepinfra.reranker import DeepInfraReranker
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply

MakeEmbedder = Callable[..., DeepInfraEmbedder]
MakeReranker = Callable[..., DeepInfraReranker]

SECRET = "sk-di-knowledge-secret-0123456789"
CHAT_MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
POLICIES = {
    "returns": "Returns: unworn gear can be returned within 45 days of delivery for a full refund.",
    "shipping": "Shipping: orders over 80 euros ship free; delivery takes 3 to 5 business days.",
    "warranty": "Warranty: tents and backpacks carry a lifetime warranty against manufacturing defects.",
    "rentals": "Rentals: sleeping bags and stoves rent for 9 euros per day with a 30 euro deposit.",
    "hours": "Store hours: the Grenoble store opens 9:00 to 19:00 and closes on Sundays.",
}
QUESTION = "How many days do I have to return unworn gear?"


T = TypeVar("T", DeepInfraEmbedder, DeepInfraReranker)


def _closing_factory(emu: DeepInfraEmulator, cls: type[T]) -> Iterator[Callable[..., T]]:
    """Build instances of `cls` aimed at the emulator; their clients are closed after the test."""
    made: list[Any] = []

    def make(**kwargs: Any) -> T:
        kwargs.setdefault("base_url", emu.base_url)
        kwargs.setdefault("api_key", emu.api_key)
        made.append(cls(**kwargs))
        return made[-1]  # type: ignore[no-any-return,unused-ignore]  # `made` holds either class

    yield make
    for instance in made:
        instance.close()


@pytest.fixture
def make_embedder(emu: DeepInfraEmulator) -> Iterator[MakeEmbedder]:
    """Build embedders aimed at the emulator."""
    yield from _closing_factory(emu, DeepInfraEmbedder)


@pytest.fixture
def make_reranker(emu: DeepInfraEmulator) -> Iterator[MakeReranker]:
    """Build rerankers aimed at the emulator."""
    yield from _closing_factory(emu, DeepInfraReranker)


def documents() -> list[Document]:
    return [Document(content=text, name=name, meta_data={"topic": [name]}) for name, text in POLICIES.items()]


def embed(embedder: DeepInfraEmbedder, texts: list[str], path: str) -> list[list[float]]:
    """Embed through the sync or the async batch path."""
    if path == "sync":
        return embedder.get_embeddings_batch_and_usage(texts)[0]
    return asyncio.run(embedder.async_get_embeddings_batch_and_usage(texts))[0]


def rerank(reranker: DeepInfraReranker, query: str, docs: list[Document], path: str, **kwargs: Any) -> list[Document]:
    """Rerank through `rerank` or `arerank`."""
    if path == "sync":
        return reranker.rerank(query, docs, **kwargs)
    return asyncio.run(reranker.arerank(query, docs, **kwargs))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


# --------------------------------------------------------------------- embedder: requests and vectors


def test_embedding_request_and_native_dimensions(emu: DeepInfraEmulator, make_embedder: MakeEmbedder) -> None:
    embedder = make_embedder()
    vector = embedder.get_embedding("The cat sat on the mat")
    assert embedder.dimensions == 1024 and len(vector) == 1024
    [request] = emu.requests_for("embeddings")
    assert request.path == "/v1/openai/embeddings"
    assert request.headers["authorization"] == f"Bearer {emu.api_key}"
    assert request.body == {
        "model": "Qwen/Qwen3-Embedding-0.6B",
        "input": ["The cat sat on the mat"],
        "encoding_format": "base64",
        "dimensions": 1024,
    }


@pytest.mark.parametrize(
    ("model_id", "dimensions", "expected"),
    [("BAAI/bge-m3", None, 1024), ("Qwen/Qwen3-Embedding-0.6B", 256, 256), ("Qwen/Qwen3-Embedding-0.6B", 1536, 1536)],
)
def test_dimensions(make_embedder: MakeEmbedder, model_id: str, dimensions: int | None, expected: int) -> None:
    embedder = make_embedder(id=model_id, dimensions=dimensions)
    assert embedder.dimensions == expected
    assert len(embedder.get_embedding("hello there")) == expected


def test_texts_sharing_words_are_closer(make_embedder: MakeEmbedder) -> None:
    cat, kitten, stocks = make_embedder().get_embeddings_batch_and_usage(
        ["the cat chased a mouse", "a cat and a mouse played", "stock markets fell sharply"]
    )[0]
    assert cosine(cat, kitten) > cosine(cat, stocks) + 0.2


def test_base64_vectors_decode_to_the_float_vectors(emu: DeepInfraEmulator, make_embedder: MakeEmbedder) -> None:
    text = "base64 is a third of the bytes"
    floats = make_embedder(encoding_format="float").get_embedding(text)
    packed = make_embedder().get_embedding(text)
    assert [r.body["encoding_format"] for r in emu.requests_for("embeddings")] == ["float", "base64"]
    assert all(isinstance(value, float) for value in floats)
    assert packed == pytest.approx(floats, abs=1e-6)
    assert packed != floats  # float32 rounding: the base64 path really was taken


async def test_usage_carries_tokens_and_estimated_cost(make_embedder: MakeEmbedder) -> None:
    embedder = make_embedder()
    vector, usage = embedder.get_embedding_and_usage("tokens and cost")
    async_vector, async_usage = await embedder.async_get_embedding_and_usage("tokens and cost")
    assert usage is not None and usage["prompt_tokens"] > 0 and usage["total_tokens"] >= usage["prompt_tokens"]
    assert usage["estimated_cost"] > 0
    assert async_usage == usage and async_vector == vector == await embedder.async_get_embedding("tokens and cost")


def test_sync_batches_make_one_request_per_batch(emu: DeepInfraEmulator, make_embedder: MakeEmbedder) -> None:
    texts = [f"document {i} about topic {i % 3}" for i in range(10)]
    embedder = make_embedder(batch_size=4)
    vectors, usages = embedder.get_embeddings_batch_and_usage(texts)
    assert [request.body["input"] for request in emu.requests_for("embeddings")] == [texts[:4], texts[4:8], texts[8:]]
    assert vectors == [embedder.get_embedding(text) for text in texts]
    assert len(usages) == 10 and usages[0] == usages[3] and usages[4] != usages[8]  # each text: its batch's usage


async def test_fifty_texts_in_few_bounded_concurrent_requests(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder
) -> None:
    texts = [f"passage {i}: {word} in the {color} box" for i, (word, color) in enumerate(_pairs(50))]
    reference = make_embedder(batch_size=50, dimensions=64).get_embeddings_batch_and_usage(texts)[0]
    emu.reset()
    emu.always(Fault.delay(0.05), route="embeddings")  # keep requests in flight long enough to overlap
    baseline = emu.peak_connections
    embedder = make_embedder(batch_size=8, max_concurrency=3, dimensions=64)
    vectors, usages = await embedder.async_get_embeddings_batch_and_usage(texts)
    requests = emu.requests_for("embeddings")
    assert len(requests) == 7 and sorted(len(r.body["input"]) for r in requests) == [2, 8, 8, 8, 8, 8, 8]
    assert emu.peak_connections - baseline <= 3  # never more than max_concurrency requests at once
    assert len(vectors) == len(usages) == 50 and all(len(vector) == 64 for vector in vectors)
    assert vectors == reference  # input order, whatever order the batches finished in


def _pairs(count: int) -> list[tuple[str, str]]:
    words = ["apple", "river", "mountain", "violin", "rocket", "lantern", "garden"]
    colors = ["red", "blue", "green", "amber", "violet"]
    return [(words[i % len(words)], colors[i % len(colors)]) for i in range(count)]


def test_vectors_follow_their_index_not_their_position(emu: DeepInfraEmulator, make_embedder: MakeEmbedder) -> None:
    body = {
        "object": "list",
        "data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}],
        "usage": {"prompt_tokens": 2, "total_tokens": 2, "estimated_cost": 0.0},
    }
    emu.queue(Reply(body=body), route="embeddings")
    vectors, _ = make_embedder().get_embeddings_batch_and_usage(["first", "second"])
    assert vectors == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize("path", ["sync", "async"])
def test_a_short_batch_raises_instead_of_shifting_texts(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, path: str
) -> None:
    emu.queue(Reply(embeddings=[[0.1] * 1024, [0.2] * 1024]), route="embeddings")
    with pytest.raises(EmbeddingError, match=r"2 embeddings \(indices \[0, 1\]\) for 3 inputs"):
        embed(make_embedder(), ["one", "two", "three"], path)


# ----------------------------------------------------------------------------- embedder: errors


@pytest.mark.parametrize("path", ["sync", "async"])
@pytest.mark.parametrize(
    ("settings", "status", "text"),
    [
        ({"api_key": "wrong-key"}, 401, "Authentication required: invalid or missing API key"),
        ({"id": "acme/no-such-embedder"}, 404, "Model is not available"),
        ({"dimensions": 8}, 422, "dimensions: Input should be greater than or equal to 32"),
    ],
)
def test_errors_carry_deepinfra_text(
    make_embedder: MakeEmbedder, slept: list[float], settings: dict[str, Any], status: int, text: str, path: str
) -> None:
    embedder = make_embedder(retries=2, **settings)
    with pytest.raises(EmbeddingError) as raised:
        embed(embedder, ["hello"], path)
    assert raised.value.status_code == status and text in str(raised.value)
    assert raised.value.model_id == embedder.id and raised.value.provider == "DeepInfra"
    assert slept == []  # client errors are final: no retry


def test_missing_key_fails_before_any_request(emu: DeepInfraEmulator) -> None:
    embedder = DeepInfraEmbedder(base_url=emu.base_url)
    with pytest.raises(EmbeddingError, match="DEEPINFRA_API_KEY is not set") as raised:
        embedder.get_embedding("hello")
    assert raised.value.status_code == 401 and emu.requests == []


# ---------------------------------------------------------------------------- embedder: retries


@pytest.mark.parametrize("path", ["sync", "async"])
def test_retries_honour_retry_after_then_back_off(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, slept: list[float], path: str
) -> None:
    emu.queue(Fault.status(503, headers={"Retry-After": "7"}), route="embeddings")
    emu.queue(Fault.status(429), route="embeddings")
    embedder = make_embedder(retries=3, delay_between_retries=0.5, exponential_backoff=True)
    assert len(embed(embedder, ["hello"], path)[0]) == 1024
    assert len(emu.requests_for("embeddings")) == 3
    assert slept == [7.0, 1.0]  # the server's 7 s beats 0.5 s; then 0.5 * 2**1


@pytest.mark.parametrize("path", ["sync", "async"])
def test_exactly_retries_plus_one_attempts(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, slept: list[float], path: str
) -> None:
    emu.always(Fault.status(503, headers={"Retry-After": "3600"}), route="embeddings")
    embedder = make_embedder(retries=2, delay_between_retries=0.25, max_retry_delay=5)
    with pytest.raises(EmbeddingError, match="No capacity available") as raised:
        embed(embedder, ["hello"], path)
    assert raised.value.status_code == 503
    assert len(emu.requests_for("embeddings")) == 3
    assert slept == [5.0, 5.0]  # an hour-long Retry-After is capped at max_retry_delay


def test_a_dropped_connection_is_retried(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, slept: list[float]
) -> None:
    emu.queue(Fault.drop(), route="embeddings")
    assert len(make_embedder(retries=1, delay_between_retries=0.1).get_embedding("hello")) == 1024
    assert len(emu.requests_for("embeddings")) == 2 and slept == [0.1]


def test_no_retries_by_default(emu: DeepInfraEmulator, make_embedder: MakeEmbedder, slept: list[float]) -> None:
    emu.queue(Fault.drop(), route="embeddings")
    with pytest.raises(EmbeddingError, match="DeepInfra request failed"):
        make_embedder().get_embedding("hello")
    assert len(emu.requests_for("embeddings")) == 1 and slept == []


# ------------------------------------------------------------------------------------- reranker


def test_reranker_puts_the_relevant_document_first(emu: DeepInfraEmulator, make_reranker: MakeReranker) -> None:
    docs = documents()
    ranked = make_reranker().rerank(QUESTION, docs)
    assert ranked[0].name == "returns"
    scores = [doc.reranking_score for doc in ranked]
    assert None not in scores and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    [request] = emu.requests_for("inference")
    assert request.path == "/v1/inference/Qwen/Qwen3-Reranker-0.6B"
    assert request.body == {"queries": [QUESTION] * len(docs), "documents": [doc.content for doc in docs]}


def test_model_and_instruction_are_sent(emu: DeepInfraEmulator, make_reranker: MakeReranker) -> None:
    reranker = make_reranker(model="Qwen/Qwen3-Reranker-8B", instruction="Find the policy that answers the question")
    assert reranker.rerank(QUESTION, documents())[0].name == "returns"
    [request] = emu.requests_for("inference")
    assert request.path == "/v1/inference/Qwen/Qwen3-Reranker-8B"
    assert request.body["instruction"] == "Find the policy that answers the question"


async def test_arerank_gives_the_same_result_without_a_thread(
    emu: DeepInfraEmulator, make_reranker: MakeReranker, monkeypatch: pytest.MonkeyPatch
) -> None:
    reranker = make_reranker(batch_size=2)
    expected = [(doc.name, doc.reranking_score) for doc in reranker.rerank(QUESTION, documents())]

    def no_thread(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("arerank left the event loop for a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    monkeypatch.setattr(asyncio.get_running_loop(), "run_in_executor", no_thread)
    ranked = await reranker.arerank(QUESTION, documents())
    assert [(doc.name, doc.reranking_score) for doc in ranked] == expected


@pytest.mark.parametrize("path", ["sync", "async"])
def test_long_lists_are_sent_in_batches(emu: DeepInfraEmulator, make_reranker: MakeReranker, path: str) -> None:
    unbatched = [(d.name, d.reranking_score) for d in make_reranker().rerank(QUESTION, documents())]
    emu.reset()
    ranked = rerank(make_reranker(batch_size=2), QUESTION, documents(), path)
    requests = emu.requests_for("inference")
    assert sorted(len(r.body["documents"]) for r in requests) == [1, 2, 2]
    assert all(len(r.body["queries"]) == len(r.body["documents"]) for r in requests)
    assert [(d.name, d.reranking_score) for d in ranked] == unbatched


@pytest.mark.parametrize(
    ("top_n", "limit", "kept"), [(None, None, 5), (3, None, 3), (None, 2, 2), (3, 2, 2), (2, 4, 2)]
)
def test_top_n_and_limit(make_reranker: MakeReranker, top_n: int | None, limit: int | None, kept: int) -> None:
    ranked = make_reranker(top_n=top_n).rerank(QUESTION, documents(), limit=limit)
    assert len(ranked) == kept and ranked[0].name == "returns"


def test_the_callers_documents_are_not_modified(make_reranker: MakeReranker) -> None:
    docs = documents()
    before = copy.deepcopy(docs)
    ranked = make_reranker().rerank(QUESTION, docs)
    ranked[0].meta_data["topic"].append("edited")
    assert docs == before and all(doc.reranking_score is None for doc in docs)
    assert not any(copy_ is original for copy_ in ranked for original in docs)


@pytest.mark.parametrize("path", ["sync", "async"])
def test_a_failure_keeps_the_input_order_and_is_logged(
    emu: DeepInfraEmulator, make_reranker: MakeReranker, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    emu.queue(Fault.status(503), route="inference")
    docs = documents()
    with caplog.at_level(logging.ERROR, logger="agno_deepinfra"):
        result = rerank(make_reranker(), QUESTION, docs, path)
    assert result == docs and all(doc.reranking_score is None for doc in result)
    [record] = [r for r in caplog.records if "reranking failed" in r.getMessage()]
    assert record.exc_info is not None and "No capacity available" in str(record.exc_info[1])


@pytest.mark.parametrize("path", ["sync", "async"])
def test_raise_on_error_raises_deepinfras_text(make_reranker: MakeReranker, path: str) -> None:
    reranker = make_reranker(model="acme/no-such-reranker", raise_on_error=True)
    with pytest.raises(DeepInfraError, match="Model is not available") as raised:
        rerank(reranker, QUESTION, documents(), path)
    assert raised.value.status_code == 404


def test_a_wrong_number_of_scores_is_refused(emu: DeepInfraEmulator, make_reranker: MakeReranker) -> None:
    emu.queue(Reply(scores=[0.9]), route="inference")
    with pytest.raises(DeepInfraError, match="1 scores for 5 documents"):
        make_reranker(raise_on_error=True).rerank(QUESTION, documents())


def test_bugs_are_not_swallowed(make_reranker: MakeReranker) -> None:
    with pytest.raises(AttributeError):  # not a provider failure: no silent fallback to the input order
        make_reranker().rerank(QUESTION, ["not a Document"])  # type: ignore[list-item]


@pytest.mark.parametrize("path", ["sync", "async"])
def test_reranker_retries(emu: DeepInfraEmulator, make_reranker: MakeReranker, slept: list[float], path: str) -> None:
    emu.queue(Fault.status(429, headers={"Retry-After": "2"}), route="inference")
    ranked = rerank(
        make_reranker(retries=1, delay_between_retries=0.1, raise_on_error=True), QUESTION, documents(), path
    )
    assert ranked[0].name == "returns"
    assert len(emu.requests_for("inference")) == 2 and slept == [2.0]


# -------------------------------------------------------------------------------- configuration


def _use_all_three(emu: DeepInfraEmulator, **settings: Any) -> None:
    """A chat run, an embedding and a rerank with the same settings, each reaching the emulator with its key."""
    model = DeepInfra(id=CHAT_MODEL, **settings)
    embedder = DeepInfraEmbedder(**settings)
    reranker = DeepInfraReranker(raise_on_error=True, **settings)
    assert model.base_url == embedder.base_url == reranker.base_url == emu.base_url
    assert Agent(model=model, telemetry=False).run("hello").status == RunStatus.completed
    assert len(embedder.get_embedding("hello")) == 1024
    assert reranker.rerank(QUESTION, documents())[0].name == "returns"
    embedder.close()
    reranker.close()
    assert {request.route for request in emu.requests} == {"chat", "embeddings", "inference"}
    assert {request.headers["authorization"] for request in emu.requests} == {f"Bearer {emu.api_key}"}


@pytest.mark.parametrize("form", ["root", "/v1/openai"])
def test_environment_configures_all_three(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    monkeypatch.setenv("DEEPINFRA_API_KEY", emu.api_key)
    monkeypatch.setenv("DEEPINFRA_BASE_URL", emu.root_url if form == "root" else emu.base_url + "/")
    _use_all_three(emu)


@pytest.mark.parametrize("form", ["root", "/v1/openai"])
def test_explicit_settings_win_over_the_environment(
    emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.setenv("DEEPINFRA_API_KEY", "env-key-that-would-fail")
    monkeypatch.setenv("DEEPINFRA_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    _use_all_three(emu, base_url=emu.root_url if form == "root" else emu.base_url, api_key=emu.api_key)


def test_a_key_exported_after_construction_is_used(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = DeepInfraEmbedder(base_url=emu.base_url)
    reranker = DeepInfraReranker(base_url=emu.base_url, raise_on_error=True)
    monkeypatch.setenv("DEEPINFRA_API_KEY", emu.api_key)
    assert len(embedder.get_embedding("hello")) == 1024
    assert reranker.rerank(QUESTION, documents())[0].name == "returns"
    embedder.close()
    reranker.close()


def test_the_key_never_shows(emu: DeepInfraEmulator) -> None:
    embedder = DeepInfraEmbedder(api_key=SECRET, base_url=emu.base_url)
    reranker = DeepInfraReranker(api_key=SECRET, base_url=emu.base_url, raise_on_error=True)
    assert SECRET not in repr(embedder) + str(embedder) + repr(reranker) + str(reranker.model_dump())
    with pytest.raises(EmbeddingError) as embedding_error:
        embedder.get_embedding("hello")  # the emulator expects another key: a 401
    with pytest.raises(ModelAuthenticationError) as rerank_error:
        reranker.rerank(QUESTION, documents())
    for raised in (embedding_error.value, rerank_error.value):
        assert "401" in str(raised) and SECRET not in str(raised) + repr(raised) + repr(raised.__cause__)
    embedder.close()
    reranker.close()


# ------------------------------------------------------------------------------------ lifecycle


def test_async_clients_follow_the_event_loop(make_embedder: MakeEmbedder, make_reranker: MakeReranker) -> None:
    embedder, reranker = make_embedder(), make_reranker(raise_on_error=True)
    for _ in range(2):  # a client cached from the first, closed loop would fail the second run
        assert len(asyncio.run(embedder.async_get_embedding("hello"))) == 1024
        assert asyncio.run(reranker.arerank(QUESTION, documents()))[0].name == "returns"


def test_each_loops_client_closes_with_its_loop(make_embedder: MakeEmbedder, make_reranker: MakeReranker) -> None:
    """The one per-loop cache (`_shared.http_stack.PerLoop`): `asyncio.run` closes the clients it made."""
    embedder, reranker = make_embedder(), make_reranker(raise_on_error=True)
    made: list[Any] = []

    async def embed_and_rerank() -> None:
        await embedder.async_get_embedding("hello")
        await reranker.arerank(QUESTION, documents())
        made.extend([embedder._clients.async_(None, None, embedder.base_url), reranker._clients.async_(None, None, "")])
        assert not any(client.is_closed for client in made)

    asyncio.run(embed_and_rerank())
    assert len(made) == 2 and all(client.is_closed for client in made)


def test_copies_close_and_reopen(make_embedder: MakeEmbedder, make_reranker: MakeReranker) -> None:
    own_client = httpx.Client()
    embedder, reranker = make_embedder(client=own_client), make_reranker(raise_on_error=True)
    embedder.get_embedding("warm up")
    reranker.rerank(QUESTION, documents())
    embedder_copy, reranker_copy = copy.deepcopy(embedder), copy.deepcopy(reranker)
    assert embedder_copy.client is own_client and embedder_copy.api_key == embedder.api_key
    reranker.close()
    embedder.close()
    assert not own_client.is_closed  # the caller's client is the caller's to close
    assert len(embedder_copy.get_embedding("hello")) == 1024
    assert reranker.rerank(QUESTION, documents())[0].name == "returns"  # a closed reranker reopens
    assert reranker_copy.rerank(QUESTION, documents())[0].name == "returns"
    reranker_copy.close()
    own_client.close()


async def test_async_context_managers_close_their_clients(make_embedder: MakeEmbedder) -> None:
    async with make_embedder() as embedder:
        await embedder.async_get_embedding("hello")
        client = embedder._clients.async_(None, None, embedder.base_url or "")
    assert client.is_closed


# ----------------------------------------------------------------------------------- end to end


def make_knowledge(
    tmp_path: Path, embedder: DeepInfraEmbedder, reranker: DeepInfraReranker, max_results: int
) -> Knowledge:
    """Knowledge on LanceDB, reranked where this agno version reranks (Knowledge from 3.1, the vector db in 3.0)."""
    vector_db = LanceDb(uri=str(tmp_path / "lancedb"), table_name="policies", embedder=embedder)
    if hasattr(Knowledge, "reranker"):
        return Knowledge(vector_db=vector_db, reranker=reranker, max_results=max_results)
    vector_db.reranker = reranker
    return Knowledge(vector_db=vector_db, max_results=max_results)


def test_knowledge_search_is_reranked(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, make_reranker: MakeReranker, tmp_path: Path
) -> None:
    knowledge = make_knowledge(tmp_path, make_embedder(), make_reranker(), max_results=3)
    for name, text in POLICIES.items():
        knowledge.insert(name=name, text_content=text)
    results = knowledge.search(QUESTION)
    assert [doc.name for doc in results][:1] == ["returns"] and len(results) == 3
    assert all(doc.reranking_score is not None for doc in results)
    assert len(emu.requests_for("embeddings")) == len(POLICIES) + 1  # each policy, then the question
    assert emu.requests_for("inference")[-1].body["queries"][0] == QUESTION


async def test_async_insert_embeds_chunks_in_batches(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, make_reranker: MakeReranker, tmp_path: Path
) -> None:
    embedder = make_embedder(enable_batch=True, batch_size=2)
    knowledge = make_knowledge(tmp_path, embedder, make_reranker(), max_results=2)
    text = "\n\n".join(POLICIES.values())
    await knowledge.ainsert(name="policies", text_content=text, reader=TextReader(chunk_size=100))
    batches = [request.body["input"] for request in emu.requests_for("embeddings")]
    chunks = sum(len(batch) for batch in batches)
    assert chunks >= 4 and len(batches) == math.ceil(chunks / 2)  # agno used the batch path
    assert "45 days" in (await knowledge.asearch(QUESTION))[0].content


def test_many_small_documents_one_request_through_async_insert_one_each_through_insert(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, make_reranker: MakeReranker, tmp_path: Path
) -> None:
    """What cookbook/knowledge_rag.py says: `knowledge.insert` per document makes a request per
    document even with `enable_batch`; one list through the vector db's `async_insert` makes one."""
    embedder = make_embedder(enable_batch=True)
    per_document = make_knowledge(tmp_path / "a", embedder, make_reranker(), max_results=3)
    for name, text in POLICIES.items():
        per_document.insert(name=name, text_content=text)
    assert len(emu.requests_for("embeddings")) == len(POLICIES)
    emu.reset()
    together = make_knowledge(tmp_path / "b", embedder, make_reranker(), max_results=3)
    asyncio.run(together.vector_db.async_insert(content_hash="policies", documents=documents()))
    [request] = emu.requests_for("embeddings")
    assert len(request.body["input"]) == len(POLICIES)
    assert together.search(QUESTION)[0].name == "returns"


def test_an_agent_answers_from_the_right_passage(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, make_reranker: MakeReranker, tmp_path: Path
) -> None:
    knowledge = make_knowledge(tmp_path, make_embedder(), make_reranker(), max_results=1)
    for name, text in POLICIES.items():
        knowledge.insert(name=name, text_content=text)
    agent = Agent(model=DeepInfra(id=CHAT_MODEL, base_url=emu.base_url, api_key=emu.api_key), knowledge=knowledge)
    output = agent.run(f"Search the knowledge base: {QUESTION}")
    assert output.status == RunStatus.completed
    # Unscripted, the emulator calls the search tool, then answers with the tool's result verbatim.
    assert "45 days" in str(output.content) and "Grenoble" not in str(output.content)
    assert len(emu.requests_for("chat")) == 2 and emu.requests_for("inference")


def test_a_document_of_many_chunks_is_embedded_in_one_request_by_default(
    emu: DeepInfraEmulator, make_embedder: MakeEmbedder, tmp_path: Path
) -> None:
    """`enable_batch` is on by default (docs/guides/knowledge.md says why): `knowledge.ainsert` of a
    document that agno splits into many chunks embeds them all in one request, not one per chunk."""
    embedder = make_embedder()
    assert embedder.enable_batch
    vector_db = LanceDb(uri=str(tmp_path / "lancedb"), table_name="handbook", embedder=embedder)
    text = "\n\n".join(f"Policy {n}: returns within {n + 10} days. " + "More detail. " * 400 for n in range(20))
    asyncio.run(Knowledge(vector_db=vector_db).ainsert(name="handbook", text_content=text))
    chunks = vector_db.get_count()
    assert chunks >= 10
    [request] = emu.requests_for("embeddings")
    assert len(request.body["input"]) == chunks
