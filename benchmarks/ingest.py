"""Knowledge-side contenders: embedding ingestion of many short texts, and reranking many candidates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.config import Sizes
from benchmarks.contenders import AGNO, LITELLM, OURS, RAW
from benchmarks.measure import Job, Resolve, Samples, event_loop, interleaved, keep
from benchmarks.report import Check, Metric, Row, Section
from benchmarks.server import EMBED_DIMENSIONS, EMBED_MODEL, RERANK_MODEL, Endpoints

Vectors = list[list[float]]
Closer = Callable[[], Any]
AGNO_REF, RAW_REF = "agno_per_text", "raw_batched"


def texts(count: int) -> list[str]:
    """`count` distinct short texts (a sentence each), the same on every run."""
    return [
        f"Note {index}: the {('quick', 'slow', 'red', 'old')[index % 4]} fox number {index % 97} "
        f"jumps over lazy dog {index * 7919 % 10007}."
        for index in range(count)
    ]


def _ingest_values(record: Samples, texts: int, measured: int) -> dict[str, float | None]:
    """Median texts/s, and the seconds and client CPU seconds for all `texts` (scaled when sampled)."""
    wall, scale = record.stat("wall"), texts / measured
    return {
        "texts_per_s": None if not wall else measured / wall,
        "seconds": record.stat("wall", scale=scale),
        "client_cpu_s": record.stat("cpu", scale=scale),
        "errors": float(record.errors),
    }


@dataclass(frozen=True)
class Embedding:
    """One embedding contender: a label, its row's contender, and a run over a list of texts.

    The run returns the vectors, or (vectors, usage) as agno's embedders do, or an awaitable of either.
    """

    key: str
    contender: str
    label: str
    run: Callable[[list[str]], Any]
    sample: int | None = None  # embed only this many texts and scale (linear per-text paths)


def embedding_job(item: Embedding, texts: list[str], run: Resolve) -> Job:
    """Embed `texts` with one contender, checking the number and size of the vectors."""

    def job() -> None:
        vectors = run(item.run(texts))
        vectors = vectors[0] if isinstance(vectors, tuple) else vectors
        if len(vectors) != len(texts) or any(len(vector) != EMBED_DIMENSIONS for vector in vectors):
            sizes = sorted({len(vector) for vector in vectors})
            raise RuntimeError(f"{item.key}: {len(vectors)} vectors of sizes {sizes} for {len(texts)} texts")

    return job


def _rerank_values(record: Samples) -> dict[str, float | None]:
    """Median milliseconds (wall and client CPU) per rerank of all candidates."""
    return {
        "wall_ms": record.stat("wall", scale=1e3),
        "client_cpu_ms": record.stat("cpu", scale=1e3),
        "errors": float(record.errors),
    }


def _embedding_contenders(endpoints: Endpoints, sizes: Sizes) -> tuple[list[Embedding], list[Closer]]:
    import openai
    from agno.knowledge.embedder.openai import OpenAIEmbedder

    from agno_deepinfra import DeepInfraEmbedder

    common = {"id": EMBED_MODEL, "base_url": endpoints.base_url, "api_key": endpoints.api_key}
    agno_embedder = OpenAIEmbedder(dimensions=EMBED_DIMENSIONS, enable_batch=False, **common)  # type: ignore[arg-type]

    def per_text(batch: list[str]) -> Vectors:
        # What agno's `Document.embed` does for each chunk when the embedder does not batch.
        return [agno_embedder.get_embedding_and_usage(text)[0] for text in batch]

    client = openai.OpenAI(base_url=endpoints.base_url, api_key=endpoints.api_key, max_retries=0)
    ours, ours_float = (
        DeepInfraEmbedder(enable_batch=True, dimensions=EMBED_DIMENSIONS, **common, **extra)  # type: ignore[arg-type]
        for extra in ({}, {"encoding_format": "float"})
    )
    closers: list[Closer] = [
        client.close,
        lambda: agno_embedder.async_client and agno_embedder.async_client.close(),
        ours.aclose,
        ours_float.aclose,
    ]
    batch_size, encoding = ours.batch_size, ours.encoding_format

    def raw_batched(batch: list[str]) -> Vectors:
        vectors: Vectors = []
        for start in range(0, len(batch), batch_size):
            response = client.embeddings.create(
                model=EMBED_MODEL, input=batch[start : start + batch_size], dimensions=EMBED_DIMENSIONS
            )
            vectors.extend(list(item.embedding) for item in response.data)
        return vectors

    ours_runs = (
        (
            "ours_batched",
            f"batched (sync, {batch_size}/request, default {encoding})",
            ours.get_embeddings_batch_and_usage,
        ),
        (
            "ours_concurrent",
            f"batched + {ours.max_concurrency or 4} in flight (async, default {encoding})",  # None: 4 per call
            ours.async_get_embeddings_batch_and_usage,
        ),
        ("ours_batched_float", "batched (sync), encoding_format=float", ours_float.get_embeddings_batch_and_usage),
        ("ours_concurrent_float", "async, encoding_format=float", ours_float.async_get_embeddings_batch_and_usage),
    )
    contenders = [Embedding(key, OURS, f"DeepInfraEmbedder, {label}", run) for key, label, run in ours_runs]
    per_text_label = "agno OpenAIEmbedder, one text per request (enable_batch=False, sync)"
    contenders.append(Embedding("agno_per_text", AGNO, per_text_label, per_text, sample=sizes.per_text_sample))
    contenders.append(
        Embedding("raw_batched", RAW, f"raw openai SDK, batched (sync, {batch_size}/request)", raw_batched)
    )
    return contenders, closers


def embedding_section(endpoints: Endpoints, sizes: Sizes) -> Section:
    """Embedding ingestion of `sizes.embed_texts` short texts by every contender."""
    contenders, closers = _embedding_contenders(endpoints, sizes)
    corpus = texts(sizes.embed_texts)

    with event_loop(closers) as run:
        jobs = {item.key: embedding_job(item, corpus[: item.sample or len(corpus)], run) for item in contenders}
        warmups = {item.key: embedding_job(item, corpus[:8], run) for item in contenders}
        samples = keep("embedding", interleaved(jobs, sizes.embed_rounds, warmups=warmups))
    rows = []
    for item in contenders:
        record, measured = samples[item.key], min(item.sample or len(corpus), len(corpus))
        note = f"measured on {item.sample:,} texts, scaled" if measured < len(corpus) else ""
        if record.errors:
            note = f"{note}; last error: {record.last_error}".strip("; ")
        rows.append(Row(item.key, item.contender, item.label, _ingest_values(record, len(corpus), measured), note))
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
            Check(f"embedding: ours {what} >= {bound:g}x {reference}", row, "texts_per_s", "ratio_min", bound, ref)
            for what, row, bound, reference, ref in (
                ("batched", "ours_batched", 20, "agno per-text", AGNO_REF),
                ("async", "ours_concurrent", 20, "agno per-text", AGNO_REF),
                ("batched", "ours_batched", 0.9, "raw SDK batched", RAW_REF),
            )
        ],
    )


def rerank_section(endpoints: Endpoints, sizes: Sizes) -> Section:
    """Reranking `sizes.rerank_candidates` documents with DeepInfraReranker (sync and async) against raw httpx."""
    import httpx
    from agno.knowledge.document import Document

    from agno_deepinfra import DeepInfraReranker

    query = "which fox jumps over the lazy dog number 42"
    documents = [Document(content=text) for text in texts(sizes.rerank_candidates)]
    reranker = DeepInfraReranker(
        model=RERANK_MODEL, base_url=endpoints.base_url, api_key=endpoints.api_key, raise_on_error=True
    )
    batch_size = reranker.batch_size
    url = f"{endpoints.root_url}/v1/inference/{RERANK_MODEL}"
    headers = {"Authorization": f"Bearer {endpoints.api_key}"}
    client = httpx.Client(timeout=60)

    def scored(count: int) -> None:
        if count != len(documents):
            raise RuntimeError(f"{count} scored documents for {len(documents)} candidates")

    def raw_rerank() -> None:
        scores: list[float] = []
        for start in range(0, len(documents), batch_size):
            batch = [document.content for document in documents[start : start + batch_size]]
            body = {"queries": [query] * len(batch), "documents": batch}
            response = client.post(url, json=body, headers=headers)
            response.raise_for_status()
            scores.extend(response.json()["scores"])
        scored(len(sorted(range(len(scores)), key=scores.__getitem__, reverse=True)))

    labels = {
        "ours_rerank": f"DeepInfraReranker.rerank ({batch_size}/request, sequential)",
        # max_concurrency=None still sends at most 4 batches of one call at once
        "ours_arerank": f"DeepInfraReranker.arerank ({batch_size}/request, {reranker.max_concurrency or 4} in flight)",
        "raw_httpx": f"raw httpx POSTs ({batch_size}/request, sequential, no Document copies)",
    }
    with event_loop([client.close, reranker.aclose]) as run:
        contenders = {
            "ours_rerank": lambda: scored(len(reranker.rerank(query, documents))),
            "ours_arerank": lambda: scored(len(run(reranker.arerank(query, documents)))),
            "raw_httpx": raw_rerank,
        }
        samples = keep("rerank", interleaved(contenders, sizes.rerank_calls))
    rows = [
        Row(key, OURS if key.startswith("ours") else RAW, labels[key], _rerank_values(samples[key]))
        for key in contenders
    ]
    rows += [
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
