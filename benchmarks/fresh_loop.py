"""First token in a fresh event loop: what `asyncio.run` per job (Celery, scripts, notebooks) pays.

Each async client belongs to the event loop it was first used on, so a fresh `asyncio.run` builds
a new one. Building an httpx / httpx2 client costs about 22 ms when it loads the CA store itself;
agno_deepinfra shares one TLS context per process (built once), so a fresh loop pays only for the
client and the connection. Compared with a warm loop (the same loop, its client and connection
reused) and with agno's built-in class, which caches one async client and so cannot run in a
second loop at all after the first closes (it fails with "Event loop is closed"): its row shows
its warm loop only, and its fresh-loop cell is a fresh model per `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from benchmarks.config import Sizes
from benchmarks.contenders import AGNO, LABELS, OURS, PROMPT, Target, agno_model, ours_model
from benchmarks.measure import Job, interleaved, keep
from benchmarks.report import Check, Metric, Row, Section


async def _first_token(model: Any) -> float:
    """Seconds from the call to the first streamed content piece."""
    from agno.models.message import Message

    start = time.perf_counter()
    async for response in model.aresponse_stream(messages=[Message(role="user", content=PROMPT)]):
        if getattr(response, "content", None):
            return time.perf_counter() - start
    raise RuntimeError("the stream ended without content")


def fresh_loop_section(target: Target, sizes: Sizes) -> Section:
    """First-token wall time: a fresh `asyncio.run` per call against calls in one warm loop."""
    makers: dict[str, Callable[[], Any]] = {OURS: lambda: ours_model(target), AGNO: lambda: agno_model(target)}
    runs = max(5, sizes.streams)
    kept = {OURS: makers[OURS]()}  # ours keeps one model across loops, as a worker does

    async def warm_loop(model: Any) -> list[float]:
        await _first_token(model)  # the loop's client and connection
        return [await _first_token(model) for _ in range(runs)]

    def fresh(name: str) -> Job:  # agno's class: a fresh model per loop (see above)
        return lambda: {"fresh": asyncio.run(_first_token(kept.get(name) or makers[name]()))}

    samples = interleaved({name: fresh(name) for name in makers}, runs, warmups={OURS: fresh(OURS)})
    for name, make in makers.items():
        for seconds in asyncio.run(warm_loop(make())):
            samples[name].add(warm=seconds)
    rows = []
    for name, record in keep("fresh_loop", samples).items():
        values = {"fresh_ms": record.stat("fresh", scale=1e3), "warm_ms": record.stat("warm", scale=1e3)}
        if values["fresh_ms"] and values["warm_ms"]:
            values["fresh_over_warm"] = values["fresh_ms"] / values["warm_ms"]
        rows.append(Row(name, name, LABELS[name], values))
    return Section(
        key="fresh_loop",
        title="First token in a fresh event loop",
        description=(
            f"Median wall time (ms) to the first streamed token over {runs} calls: each in its own "
            "`asyncio.run` (fresh), and in one loop that already made a call (warm). agno_deepinfra keeps "
            "one model across the fresh loops, as a worker does; agno's built-in class cannot (its cached "
            "async client dies with the first loop), so it gets a fresh model per loop."
        ),
        metrics=[
            Metric("fresh_ms", "fresh loop (ms)", digits=2, ratio=True),
            Metric("warm_ms", "warm loop (ms)", digits=2, ratio=True),
            Metric("fresh_over_warm", "fresh / warm", digits=2),
        ],
        rows=rows,
        agno_ref=AGNO,
        checks=[Check("first token in a fresh loop <= 2x a warm loop", OURS, "fresh_over_warm", "value_max", 2.0)],
    )
