"""Chat sections: client CPU and wall time per non-streamed call (model and agent layers), and streaming."""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.config import Sizes
from benchmarks.contenders import (
    AGNO,
    CONTENDERS,
    HAS_LITELLM,
    LABELS,
    LITELLM,
    OURS,
    RAW,
    SKIPPED_ROW,
    Call,
    Stream,
    Target,
    agent_calls,
    model_calls,
    streams,
)
from benchmarks.measure import Samples, check_reply, frozen_heap, keep, median, paired_ratio, percentile, schedule
from benchmarks.report import Check, Metric, Row, Section
from benchmarks.server import SHORT_REPLY, long_reply

Values = Callable[[Samples], dict[str, float | None]]
CALL_METRICS = [
    Metric("cpu_us", "client CPU / call (µs)", ratio=True),
    Metric("wall_us", "wall / call (µs)", ratio=True),
    Metric("wall_p90_us", "wall p90 (µs)"),
    Metric("errors", "errors"),
]


def time_calls(calls: dict[str, Call], sizes: Sizes) -> dict[str, Samples]:
    """`sizes.rounds` interleaved rounds of `sizes.batch` calls per contender, after checked warm-up calls."""
    for name, call in calls.items():
        for _ in range(sizes.warmup_calls):
            check_reply(name, call(), SHORT_REPLY)
    samples = {name: Samples() for name in calls}
    process_time, perf_counter = time.process_time, time.perf_counter
    with frozen_heap():
        for name, record in schedule(samples, sizes.rounds):
            call = calls[name]
            for _ in range(sizes.batch):
                with record.attempt():
                    cpu0, wall0 = process_time(), perf_counter()
                    call()
                    wall1, cpu1 = perf_counter(), process_time()
                    record.add(cpu=cpu1 - cpu0, wall=wall1 - wall0)
    return samples


def time_streams(streams: dict[str, Stream], sizes: Sizes) -> dict[str, Samples]:
    """One stream per contender per round; TTFT is call start to the first content piece.

    Warm-up streams must carry exactly the reply's text; measured ones exactly `stream_chunks` pieces.
    """
    expected = long_reply(sizes.stream_chunks)
    for name, stream in streams.items():
        for _ in range(sizes.stream_warmup):
            if (text := "".join(stream())) != expected:
                raise RuntimeError(f"{name}: the stream carried {len(text)} characters, expected {len(expected)}")
    samples = {name: Samples() for name in streams}
    process_time, perf_counter = time.process_time, time.perf_counter
    with frozen_heap():
        for name, record in schedule(samples, sizes.streams):
            with record.attempt():
                cpu0, wall0 = process_time(), perf_counter()
                first = first_cpu = 0.0
                count = 0
                for _piece in streams[name]():
                    if count == 0:
                        first, first_cpu = perf_counter(), process_time()
                    count += 1
                wall1, cpu1 = perf_counter(), process_time()
                if count != sizes.stream_chunks:
                    raise RuntimeError(f"{count} content chunks instead of {sizes.stream_chunks}")
                cpu_per_chunk = (cpu1 - cpu0) / count
                record.add(ttft=first - wall0, ttft_cpu=first_cpu - cpu0, wall=wall1 - wall0, per_chunk=cpu_per_chunk)
    return samples


def _call_values(record: Samples) -> dict[str, float | None]:
    return {
        "cpu_us": record.stat("cpu", scale=1e6),
        "wall_us": record.stat("wall", scale=1e6),
        "wall_p90_us": record.stat("wall", 90, 1e6),
        "calls": float(len(record.values("cpu"))),
        "errors": float(record.errors),
    }


def _stream_values(record: Samples, chunks: int) -> dict[str, float | None]:
    streamed = record.values("ttft")
    return {
        "ttft_ms": record.stat("ttft", scale=1e3),
        "ttft_p25_ms": record.stat("ttft", 25, 1e3),
        "ttft_p75_ms": record.stat("ttft", 75, 1e3),
        "ttft_cpu_ms": record.stat("ttft_cpu", scale=1e3),
        "cpu_per_chunk_us": record.stat("per_chunk", scale=1e6),
        "stream_wall_ms": record.stat("wall", scale=1e3),
        "chunks": float(chunks) if streamed else None,  # every measured stream had exactly this many
        "streams": float(len(streamed)),
        "errors": float(record.errors),
    }


def _rows(samples: dict[str, Samples], values: Values, missing_note: str = "") -> list[Row]:
    rows = []
    for name in CONTENDERS:
        record = samples.get(name)
        if record is None:
            absent = name == LITELLM and not HAS_LITELLM
            rows.append(Row(name, name, LABELS[name], {}, SKIPPED_ROW if absent else missing_note))
            continue
        note = f"last error: {record.last_error}" if record.errors else ""
        rows.append(Row(name, name, LABELS[name], values(record), note))
    return rows


def _paired_notes(samples: dict[str, Samples], references: tuple[str, ...]) -> list[str]:
    """Per-round paired CPU ratios of ours against each reference, with their spread."""
    notes = []
    for reference in references:
        if OURS not in samples or reference not in samples:
            continue
        paired = paired_ratio(samples[OURS], samples[reference])
        if paired is not None:
            middle, low, high = paired
            notes.append(
                f"Paired per-round CPU ratio ours / {LABELS[reference]}: median {middle:.3f}, interquartile range "
                f"{low:.3f} to {high:.3f} over {len(samples[OURS].rounds['cpu'])} rounds (the spread is the noise "
                "floor of this machine: differences inside it are not significant)."
            )
    return notes


def _paired_ttft_notes(samples: dict[str, Samples]) -> list[str]:
    """Per-round differences of client CPU to first token, ours minus each reference (streams alternate)."""
    notes = []
    for reference in (RAW, AGNO):
        ours, theirs = samples.get(OURS), samples.get(reference)
        if ours is None or theirs is None or ours.errors or theirs.errors or not ours.values("ttft_cpu"):
            continue
        pairs = zip(ours.values("ttft_cpu"), theirs.values("ttft_cpu"), strict=False)
        differences = [(mine - other) * 1e3 for mine, other in pairs]
        middle, low, high = median(differences), percentile(differences, 25), percentile(differences, 75)
        if middle is None or low is None or high is None:
            continue
        notes.append(
            f"Paired per-round TTFT client CPU, ours - {LABELS[reference]}: median {middle:+.3f} ms, interquartile "
            f"range {low:+.3f} to {high:+.3f} ms over {len(differences)} rounds."
        )
    return notes


def per_call_sections(target: Target, sizes: Sizes) -> list[Section]:
    """Model layer (`model.response` / `create` / `litellm.completion`) and agent layer (`Agent.run`)."""

    model = keep("per_call_model", time_calls(model_calls(target), sizes))
    agent = keep(
        "per_call_agent", time_calls({name: call for name, call in agent_calls(target).items() if call}, sizes)
    )
    count = sizes.rounds * sizes.batch
    model_section = Section(
        key="per_call_model",
        title="Non-streamed call, model layer",
        description=(
            f"Medians of {count} calls per contender ({sizes.rounds} interleaved rounds of {sizes.batch}, after "
            f"{sizes.warmup_calls} warm-up calls): `model.response(messages=[Message(...)])` for the agno classes, "
            "`client.chat.completions.create` for the raw SDK, `litellm.completion` for LiteLLM. Short fixed reply."
        ),
        metrics=CALL_METRICS,
        rows=_rows(model, _call_values),
        raw_ref=RAW,
        agno_ref=AGNO,
        notes=_paired_notes(model, (RAW, AGNO)),
        checks=[
            Check("model layer: client CPU/call of ours <= agno's built-in", OURS, "cpu_us", "ratio_max", 1.0, AGNO),
            Check("model layer: client CPU/call of ours <= 1.10x raw SDK", OURS, "cpu_us", "ratio_max", 1.10, RAW),
        ],
    )
    agent_section = Section(
        key="per_call_agent",
        title="Non-streamed call, agent layer",
        description=(
            f"Medians of {count} `Agent(model=...).run(prompt)` calls per contender (no tools, no storage). The raw "
            "SDK has no agent layer; LiteLLM's row is agno's `agno.models.litellm.LiteLLM` model in an Agent."
        ),
        metrics=CALL_METRICS,
        rows=_rows(agent, _call_values, "no agent layer"),
        raw_ref=RAW,
        agno_ref=AGNO,
        notes=_paired_notes(agent, (AGNO,)),
        checks=[
            Check("agent layer: client CPU/call of ours <= agno's built-in", OURS, "cpu_us", "ratio_max", 1.0, AGNO)
        ],
    )
    return [model_section, agent_section]


def streaming_section(target: Target, sizes: Sizes) -> Section:
    """Time to first token and client CPU per chunk on a 2,000-chunk streamed reply."""
    samples = keep("streaming", time_streams(streams(target), sizes))
    return Section(
        key="streaming",
        title=f"Streaming a {sizes.stream_chunks:,}-chunk reply, model layer",
        description=(
            f"Medians of {sizes.streams} streams per contender, interleaved. TTFT = call start to the first "
            "non-empty content piece in the caller's hands (`response_stream` for the agno classes, the SDK's / "
            "LiteLLM's stream iterator otherwise); TTFT CPU = client CPU spent in that interval (the client's own "
            "share of TTFT). CPU per chunk = client CPU of the whole stream / chunks."
        ),
        metrics=[
            Metric("ttft_ms", "TTFT (ms)", digits=2, ratio=True),
            Metric("ttft_p25_ms", "TTFT p25 (ms)", digits=2),
            Metric("ttft_p75_ms", "TTFT p75 (ms)", digits=2),
            Metric("ttft_cpu_ms", "TTFT client CPU (ms)", digits=3, ratio=True),
            Metric("cpu_per_chunk_us", "client CPU / chunk (µs)", digits=1, ratio=True),
            Metric("stream_wall_ms", "whole stream (ms)", digits=0),
            Metric("chunks", "chunks"),
            Metric("errors", "errors"),
        ],
        rows=_rows(samples, lambda record: _stream_values(record, sizes.stream_chunks)),
        raw_ref=RAW,
        agno_ref=AGNO,
        notes=[
            *_paired_ttft_notes(samples),
            "Wall TTFT includes the emulator building all the reply's SSE events before it sends the first "
            "(it renders a stream in full, then writes it), which dominates TTFT and its spread (p25 to p75). The "
            "client's own overhead is therefore read from TTFT client CPU: the client is single-threaded, so its CPU "
            "before the first token is exactly what it adds to TTFT.",
        ],
        checks=[
            Check(f"streaming: {what} of ours <= raw SDK + 0.2 ms ({why})", OURS, metric, "diff_max", 0.2, RAW)
            for what, why, metric in (
                ("TTFT overhead", "client CPU to first token", "ttft_cpu_ms"),
                ("wall TTFT", "noisy, see note", "ttft_ms"),
            )
        ],
    )
