"""Knowledge-side contenders: embedding ingestion of many short texts, and reranking many candidates.

`agno_deepinfra.embedder.DeepInfraEmbedder` and `agno_deepinfra.reranker.DeepInfraReranker` are
picked up when importable; when they are not, their rows are kept with a note and no numbers.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from benchmarks.config import Sizes
from benchmarks.contenders import AGNO, LITELLM, OURS, RAW
from benchmarks.measure import median, rotated
from benchmarks.report import Check, Metric, Row, Section
from benchmarks.server import EMBED_DIMENSIONS, EMBED_MODEL, RERANK_MODEL, Endpoints

Vectors = list[list[float]]
T = TypeVar("T")


def texts(count: int) -> list[str]:
    """`count` distinct short texts (a sentence each), the same on every run."""
    return [
        f"Note {index}: the {('quick', 'slow', 'red', 'old')[index % 4]} fox number {index % 97} "
        f"jumps over lazy dog {index * 7919 % 10007}."
        for index in range(count)
    ]


def load(module: str, name: str) -> tuple[Any | None, str]:
    """`module.name` when importable, else (None, why not)."""
    try:
        return getattr(importlib.import_module(module), name), ""
    except (ImportError, AttributeError) as error:
        return None, f"{module}.{name} is not available ({type(error).__name__}: {error})"


@dataclass
class IngestSamples:
    """Wall and client CPU seconds of one embedding contender, per repetition."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    texts: int = 0
    measured_texts: int = 0
    errors: int = 0
    last_error: str = ""

    def summary(self) -> dict[str, float | None]:
        """Median texts/s, and the seconds and client CPU seconds for all `texts` (scaled when sampled)."""
        wall, cpu = median(self.wall), median(self.cpu)
        scale = self.texts / self.measured_texts if self.measured_texts else 1.0
        return {
            "texts_per_s": None if not wall else self.measured_texts / wall,
            "seconds": None if wall is None else wall * scale,
            "client_cpu_s": None if cpu is None else cpu * scale,
            "errors": float(self.errors),
        }


@dataclass(frozen=True)
class Embedding:
    """One embedding contender: a label, its row's contender, and a run over a list of texts."""

    key: str
    contender: str
    label: str
    run: Callable[[list[str]], Vectors | Awaitable[Vectors]]
    sample: int | None = None  # embed only this many texts and scale (linear per-text paths)


def check_vectors(key: str, vectors: Vectors, count: int, dimensions: int) -> None:
    """Fail when a contender returned the wrong number or size of vectors."""
    if len(vectors) != count or any(len(vector) != dimensions for vector in vectors):
        sizes = sorted({len(vector) for vector in vectors})
        raise RuntimeError(f"{key}: {len(vectors)} vectors of sizes {sizes} for {count} texts ({dimensions} wanted)")


async def run_embeddings(
    contenders: list[Embedding], corpus: list[str], *, rounds: int, dimensions: int
) -> dict[str, IngestSamples]:
    """Embed `corpus` (or a sample) with every contender, `rounds` times in rotating order, after a check."""
    samples = {item.key: IngestSamples(texts=len(corpus)) for item in contenders}
    by_key = {item.key: item for item in contenders}
    for item in contenders:  # warm-up and correctness check on a few texts
        check_vectors(item.key, await resolved(item.run(corpus[:8])), 8, dimensions)
    for round_index in range(rounds):
        for key in rotated(list(by_key), round_index):
            item, record = by_key[key], samples[key]
            chunk = corpus[: item.sample] if item.sample else corpus
            record.measured_texts = len(chunk)
            gc.collect()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            try:
                vectors = await resolved(item.run(chunk))
            except Exception as error:
                record.errors += 1
                record.last_error = f"{type(error).__name__}: {error}"[:300]
                continue
            record.wall.append(time.perf_counter() - wall0)
            record.cpu.append(time.process_time() - cpu0)
            check_vectors(key, vectors, len(chunk), dimensions)
    return samples


async def resolved(value: T | Awaitable[T]) -> T:
    """The value itself, or what it resolves to when it is awaitable (sync and async contenders alike)."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass
class RerankSamples:
    """Wall and client CPU seconds of one rerank contender, per call."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""

    def summary(self) -> dict[str, float | None]:
        """Median milliseconds (wall and client CPU) per rerank of all candidates."""
        wall, cpu = median(self.wall), median(self.cpu)
        return {
            "wall_ms": None if wall is None else wall * 1e3,
            "client_cpu_ms": None if cpu is None else cpu * 1e3,
            "errors": float(self.errors),
        }


async def run_reranks(
    contenders: dict[str, Callable[[], int | Awaitable[int]]], *, calls: int, candidates: int
) -> dict[str, RerankSamples]:
    """Time `calls` reranks per contender in rotating order; each must score every candidate."""
    samples = {key: RerankSamples() for key in contenders}
    for key, run in contenders.items():
        if await resolved(run()) != candidates:
            raise RuntimeError(f"{key}: did not return {candidates} scored documents")
    for round_index in range(calls):
        for key in rotated(list(contenders), round_index):
            record = samples[key]
            gc.collect()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            try:
                await resolved(contenders[key]())
            except Exception as error:
                record.errors += 1
                record.last_error = f"{type(error).__name__}: {error}"[:300]
                continue
            record.wall.append(time.perf_counter() - wall0)
            record.cpu.append(time.process_time() - cpu0)
    return samples


def construct(cls: Any, **kwargs: Any) -> Any:
    """`cls(**kwargs)` keeping only the keywords `cls` accepts (the plugin's classes are still evolving)."""
    accepted = set(inspect.signature(cls).parameters)
    return cls(**{name: value for name, value in kwargs.items() if name in accepted})


Closer = Callable[[], Any]


def closer_of(client: Any) -> Closer:
    """`client.aclose` or `client.close` (whichever exists), or a no-op."""
    return getattr(client, "aclose", None) or getattr(client, "close", None) or (lambda: None)


async def close_all(closers: list[Closer]) -> None:
    """Call every closer on the running loop, awaiting the async ones, so no client outlives its loop."""
    for close in closers:
        result = close()
        if inspect.isawaitable(result):
            await result


def run_then_close(measure: Callable[[], Awaitable[T]], closers: list[Closer]) -> T:
    """`asyncio.run(measure())`, then every closer on that same loop, even when the measurement fails."""

    async def main() -> T:
        try:
            return await measure()
        finally:
            await close_all(closers)

    return asyncio.run(main())


def _embedding_contenders(endpoints: Endpoints, sizes: Sizes) -> tuple[list[Embedding], str, list[Closer]]:
    import openai
    from agno.knowledge.embedder.openai import OpenAIEmbedder

    common = {"id": EMBED_MODEL, "base_url": endpoints.base_url, "api_key": endpoints.api_key}
    agno_embedder = OpenAIEmbedder(dimensions=EMBED_DIMENSIONS, enable_batch=False, **common)  # type: ignore[arg-type]

    def per_text(batch: list[str]) -> Vectors:
        # What agno's `Document.embed` does for each chunk when the embedder does not batch.
        return [agno_embedder.get_embedding_and_usage(text)[0] for text in batch]

    client = openai.OpenAI(base_url=endpoints.base_url, api_key=endpoints.api_key, max_retries=0)
    embedder_class, missing = load("agno_deepinfra.embedder", "DeepInfraEmbedder")
    batch_size = 100
    contenders = []
    closers: list[Closer] = [client.close, lambda: agno_embedder.async_client and agno_embedder.async_client.close()]
    if embedder_class is not None:
        ours = construct(embedder_class, enable_batch=True, dimensions=EMBED_DIMENSIONS, **common)
        ours_float = construct(
            embedder_class, enable_batch=True, dimensions=EMBED_DIMENSIONS, encoding_format="float", **common
        )
        batch_size = int(getattr(ours, "batch_size", batch_size))
        closers += [closer_of(ours), closer_of(ours_float)]

        async def concurrent(batch: list[str]) -> Vectors:
            return list((await ours.async_get_embeddings_batch_and_usage(batch))[0])

        async def concurrent_float(batch: list[str]) -> Vectors:
            return list((await ours_float.async_get_embeddings_batch_and_usage(batch))[0])

        concurrency = getattr(ours, "max_concurrency", "?")
        encoding = getattr(ours, "encoding_format", "?")
        contenders += [
            Embedding(
                "ours_batched",
                OURS,
                f"DeepInfraEmbedder, batched (sync, {batch_size}/request, default {encoding})",
                lambda batch: list(ours.get_embeddings_batch_and_usage(batch)[0]),
            ),
            Embedding(
                "ours_concurrent",
                OURS,
                f"DeepInfraEmbedder, batched + {concurrency} in flight (async, default {encoding})",
                concurrent,
            ),
            Embedding(
                "ours_batched_float",
                OURS,
                "DeepInfraEmbedder, batched (sync), encoding_format=float",
                lambda batch: list(ours_float.get_embeddings_batch_and_usage(batch)[0]),
            ),
            Embedding(
                "ours_concurrent_float", OURS, "DeepInfraEmbedder, async, encoding_format=float", concurrent_float
            ),
        ]

    def raw_batched(batch: list[str]) -> Vectors:
        vectors: Vectors = []
        for start in range(0, len(batch), batch_size):
            response = client.embeddings.create(
                model=EMBED_MODEL, input=batch[start : start + batch_size], dimensions=EMBED_DIMENSIONS
            )
            vectors.extend(list(item.embedding) for item in response.data)
        return vectors

    contenders += [
        Embedding(
            "agno_per_text",
            AGNO,
            "agno OpenAIEmbedder, one text per request (enable_batch=False, sync)",
            per_text,
            sample=sizes.per_text_sample,
        ),
        Embedding("raw_batched", RAW, f"raw openai SDK, batched (sync, {batch_size}/request)", raw_batched),
    ]
    return contenders, missing, closers


def embedding_section(endpoints: Endpoints, sizes: Sizes) -> Section:
    """Embedding ingestion of `sizes.embed_texts` short texts by every contender."""
    contenders, missing, closers = _embedding_contenders(endpoints, sizes)
    corpus = texts(sizes.embed_texts)

    samples = run_then_close(
        lambda: run_embeddings(contenders, corpus, rounds=sizes.embed_rounds, dimensions=EMBED_DIMENSIONS), closers
    )
    rows = []
    if missing:
        rows.append(Row("ours_batched", OURS, "DeepInfraEmbedder", {}, f"skipped: {missing}"))
    for item in contenders:
        record = samples[item.key]
        note = f"measured on {item.sample:,} texts, scaled" if item.sample and item.sample < len(corpus) else ""
        if record.errors:
            note = f"{note}; last error: {record.last_error}".strip("; ")
        rows.append(Row(item.key, item.contender, item.label, record.summary(), note))
    rows.append(Row("litellm", LITELLM, "LiteLLM", {}, "not part of this comparison"))
    notes = [
        f"Model `{EMBED_MODEL}` at {EMBED_DIMENSIONS} dimensions; every text distinct, so the emulator computes "
        "every vector (its CPU is part of every contender's wall time).",
        "agno's per-text path is timed synchronously (`Document.embed`, one request per text). Its async twin in "
        "agno's vector databases starts one request per document all at once; it is not timed here.",
        "The raw SDK asks for base64 vectors when `encoding_format` is not given and decodes them with numpy: "
        "that is its default and fastest path. agno's OpenAIEmbedder asks for floats.",
    ]
    return Section(
        key="embedding",
        title=f"Embedding ingestion of {sizes.embed_texts:,} short texts",
        description=(
            f"Median of {sizes.embed_rounds} interleaved repetition(s). Ratios compare throughput (texts/s): "
            "x raw = against the raw SDK batched, x agno = against agno's one-text-per-request path."
        ),
        metrics=[
            Metric("texts_per_s", "texts/s", digits=0, ratio=True),
            Metric("seconds", "seconds", digits=2),
            Metric("client_cpu_s", "client CPU (s)", digits=2),
            Metric("errors", "errors"),
        ],
        rows=rows,
        raw_ref="raw_batched",
        agno_ref="agno_per_text",
        notes=notes,
        checks=[
            Check(
                "embedding: ours batched >= 20x agno per-text",
                "ours_batched",
                "texts_per_s",
                "ratio_min",
                20,
                "agno_per_text",
            ),
            Check(
                "embedding: ours async >= 20x agno per-text",
                "ours_concurrent",
                "texts_per_s",
                "ratio_min",
                20,
                "agno_per_text",
            ),
            Check(
                "embedding: ours batched >= 0.9x raw SDK batched",
                "ours_batched",
                "texts_per_s",
                "ratio_min",
                0.9,
                "raw_batched",
            ),
        ],
    )


def rerank_section(endpoints: Endpoints, sizes: Sizes) -> Section:
    """Reranking `sizes.rerank_candidates` documents with DeepInfraReranker (sync and async) against raw httpx."""
    import httpx
    from agno.knowledge.document import Document

    reranker_class, missing = load("agno_deepinfra.reranker", "DeepInfraReranker")
    query = "which fox jumps over the lazy dog number 42"
    documents = [Document(content=text) for text in texts(sizes.rerank_candidates)]
    contenders: dict[str, Callable[[], int | Awaitable[int]]] = {}
    batch_size = 64
    labels = {}
    if reranker_class is not None:
        reranker = construct(
            reranker_class,
            model=RERANK_MODEL,
            base_url=endpoints.base_url,
            api_key=endpoints.api_key,
            raise_on_error=True,
        )
        batch_size = int(getattr(reranker, "batch_size", batch_size))

        def sync_rerank() -> int:
            return len(reranker.rerank(query, documents))

        async def async_rerank() -> int:
            return len(await reranker.arerank(query, documents))

        contenders["ours_rerank"] = sync_rerank
        contenders["ours_arerank"] = async_rerank
        concurrency = getattr(reranker, "max_concurrency", "?")
        labels["ours_rerank"] = f"DeepInfraReranker.rerank ({batch_size}/request, sequential)"
        labels["ours_arerank"] = f"DeepInfraReranker.arerank ({batch_size}/request, {concurrency} in flight)"

    url = f"{endpoints.root_url}/v1/inference/{RERANK_MODEL}"
    headers = {"Authorization": f"Bearer {endpoints.api_key}"}
    client = httpx.Client(timeout=60)

    def raw_rerank() -> int:
        scores: list[float] = []
        for start in range(0, len(documents), batch_size):
            batch = [document.content for document in documents[start : start + batch_size]]
            response = client.post(url, json={"queries": [query] * len(batch), "documents": batch}, headers=headers)
            response.raise_for_status()
            scores.extend(response.json()["scores"])
        order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        return len(order)

    contenders["raw_httpx"] = raw_rerank
    labels["raw_httpx"] = f"raw httpx POSTs ({batch_size}/request, sequential, no Document copies)"
    closers: list[Closer] = [client.close]
    if reranker_class is not None:
        closers.append(closer_of(reranker))

    samples = run_then_close(
        lambda: run_reranks(contenders, calls=sizes.rerank_calls, candidates=sizes.rerank_candidates), closers
    )
    rows = []
    if missing:
        rows.append(Row("ours_rerank", OURS, "DeepInfraReranker", {}, f"skipped: {missing}"))
    for key in ("ours_rerank", "ours_arerank"):
        if key in samples:
            rows.append(Row(key, OURS, labels[key], samples[key].summary()))
    rows += [
        Row("raw_httpx", RAW, labels["raw_httpx"], samples["raw_httpx"].summary()),
        Row("agno_builtin", AGNO, "agno built-in", {}, "agno has no DeepInfra reranker"),
        Row("litellm", LITELLM, "LiteLLM", {}, "not part of this comparison"),
    ]
    return Section(
        key="rerank",
        title=f"Reranking {sizes.rerank_candidates:,} candidates",
        description=f"Median of {sizes.rerank_calls} interleaved call(s) per method, model `{RERANK_MODEL}`.",
        metrics=[
            Metric("wall_ms", "wall (ms)", digits=1, ratio=True),
            Metric("client_cpu_ms", "client CPU (ms)", digits=1, ratio=True),
            Metric("errors", "errors"),
        ],
        rows=rows,
        raw_ref="raw_httpx",
    )
