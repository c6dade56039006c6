"""How big each benchmark is: the full run (`make bench`) and `--quick` (a smoke run under 30 s)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """Repetitions and problem sizes of one run."""

    name: str
    # Per-call CPU and wall time: `rounds` interleaved rounds of `batch` calls per contender.
    warmup_calls: int
    rounds: int
    batch: int
    # Streaming: streams per contender, interleaved one by one, of a reply in `stream_chunks` chunks.
    streams: int
    stream_chunks: int
    # Emulator capacity: seconds of raw-SDK load at each of `capacity_concurrency` requests in flight
    # (the best level is reported: with more in flight httpcore's pool costs the client more).
    capacity_seconds: float
    capacity_concurrency: tuple[int, ...]
    # Async fan-out: concurrency levels and interleaved rounds per level.
    fanout_levels: tuple[int, ...]
    fanout_rounds: int
    # Embedding ingestion: texts per contender; agno's one-text-per-request path embeds
    # `per_text_sample` of them and is scaled to the full count (its cost is linear).
    embed_texts: int
    per_text_sample: int
    embed_rounds: int
    # Reranking: candidates per call and calls per method.
    rerank_candidates: int
    rerank_calls: int
    # Import cost: fresh interpreters per statement; `import_parallel` runs them side by side
    # (quick mode: less exact, faster); `import_breakdown` adds one `-X importtime` comparison.
    import_runs: int
    import_parallel: bool
    import_breakdown: bool
    # Streaming warm-up streams per contender (each checked against the full reply text).
    stream_warmup: int

    def to_json(self) -> dict[str, Any]:
        """The sizes as a plain dict."""
        return asdict(self)


FULL = Sizes(
    name="full",
    warmup_calls=30,
    rounds=40,
    batch=10,
    streams=16,
    stream_chunks=2000,
    capacity_seconds=4.0,
    capacity_concurrency=(32, 200),
    fanout_levels=(200, 1000),
    fanout_rounds=4,
    embed_texts=10_000,
    per_text_sample=1_000,
    embed_rounds=3,
    rerank_candidates=1_000,
    rerank_calls=10,
    import_runs=4,
    import_parallel=False,
    import_breakdown=True,
    stream_warmup=1,
)

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
    import_parallel=True,
    import_breakdown=False,
    stream_warmup=0,
)
