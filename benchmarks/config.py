"""How big each benchmark is: the full run (`make bench`, the defaults) and `--quick` (a smoke run under 30 s)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Repetitions and problem sizes of one run; the defaults are the full run's."""

    name: str = "full"
    # Per-call CPU and wall time: `rounds` interleaved rounds of `batch` calls per contender.
    warmup_calls: int = 30
    rounds: int = 40
    batch: int = 10
    # Streaming: streams per contender, interleaved one by one, of a reply in `stream_chunks` chunks.
    streams: int = 16
    stream_chunks: int = 2000
    # Emulator capacity: seconds of raw-SDK load at each of `capacity_concurrency` requests in flight
    # (the best level is reported: with more in flight httpcore's pool costs the client more).
    capacity_seconds: float = 4.0
    capacity_concurrency: tuple[int, ...] = (32, 200)
    # Async fan-out: concurrency levels and interleaved rounds per level.
    fanout_levels: tuple[int, ...] = (200, 1000)
    fanout_rounds: int = 4
    # Embedding ingestion: texts per contender; agno's one-text-per-request path embeds
    # `per_text_sample` of them and is scaled to the full count (its cost is linear).
    embed_texts: int = 10_000
    per_text_sample: int = 1_000
    embed_rounds: int = 3
    # Reranking: candidates per call and calls per method.
    rerank_candidates: int = 1_000
    rerank_calls: int = 10
    # Import cost: fresh interpreters per statement, interleaved; `import_breakdown` adds one
    # `-X importtime` comparison.
    import_runs: int = 4
    import_breakdown: bool = True
    # Streaming warm-up streams per contender (each checked against the full reply text).
    stream_warmup: int = 1


FULL = Sizes()
QUICK = Sizes(
    name="quick",
    warmup_calls=3,
    rounds=3,
    batch=4,
    streams=1,
    stream_chunks=200,
    capacity_seconds=0.5,
    capacity_concurrency=(20,),
    fanout_levels=(10, 30),
    fanout_rounds=1,
    embed_texts=200,
    per_text_sample=50,
    embed_rounds=1,
    rerank_candidates=50,
    rerank_calls=1,
    import_runs=1,
    import_breakdown=False,
    stream_warmup=0,
)
