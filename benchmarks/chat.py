"""Chat sections: client CPU and wall time per non-streamed call (model and agent layers), and streaming."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from functools import partial

from benchmarks.config import Sizes
from benchmarks.contenders import AGNO, LABELS, OURS, RAW, Call, Stream, Target, agent_calls, model_calls, streams
from benchmarks.measure import Job, Samples, check_reply, interleaved, keep, paired
from benchmarks.report import Check, Metric, Section, contender_rows
from benchmarks.server import SHORT_REPLY, long_reply

CALL_METRICS = [
    Metric("cpu_us", "client CPU / call (µs)", ratio=True),
    Metric("wall_us", "wall / call (µs)", ratio=True),
    Metric("wall_p90_us", "wall p90 (µs)"),
    Metric("errors", "errors"),
]

# Per-round paired figures of ours against a reference: how to compare the round medians, and the
# note that reports the median, interquartile range and rounds. CPU per call as a ratio; client CPU
# to first token as a difference (one stream per round).
PAIRED: dict[str, tuple[Callable[[float, float], float], str]] = {
    "cpu": (
        operator.truediv,
        "Paired per-round CPU ratio ours / {reference}: median {0:.3f}, interquartile range {1:.3f} to {2:.3f} "
        "over {3} rounds (the spread is the noise floor of this machine: differences inside it are not significant).",
    ),
    "ttft_cpu": (
        lambda ours, theirs: (ours - theirs) * 1e3,
        "Paired per-round TTFT client CPU, ours - {reference}: median {0:+.3f} ms, interquartile range {1:+.3f} to "
        "{2:+.3f} ms over {3} rounds.",
    ),
}


def time_calls(calls: dict[str, Call], sizes: Sizes) -> dict[str, Samples]:
    """`sizes.rounds` interleaved rounds of `sizes.batch` calls per contender, after checked warm-up calls."""
    warmups = {name: partial(_checked_call, name, call) for name, call in calls.items()}
    return interleaved(
        calls, sizes.rounds, batch=sizes.batch, warmups=warmups, warmup_runs=sizes.warmup_calls, frozen=True
    )


def _checked_call(name: str, call: Call) -> None:
    check_reply(name, call(), SHORT_REPLY)


def _checked_stream(name: str, stream: Stream, expected: str) -> None:
    if (text := "".join(stream())) != expected:
        raise RuntimeError(f"{name}: the stream carried {len(text)} characters, expected {len(expected)}")


def _stream_job(stream: Stream, chunks: int) -> Job:
    """One stream, read to its end; TTFT (wall and client CPU) is call start to the first content piece."""

    def job() -> dict[str, float]:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        pieces = stream()
        next(pieces)  # the first content piece (StopIteration when the stream has none)
        first, first_cpu = time.perf_counter(), time.process_time()
        count = 1 + sum(1 for _piece in pieces)
        if count != chunks:
            raise RuntimeError(f"{count} content chunks instead of {chunks}")
        return {"ttft": first - wall0, "ttft_cpu": first_cpu - cpu0}

    return job


def time_streams(streams: dict[str, Stream], sizes: Sizes) -> dict[str, Samples]:
    """One stream per contender per round; warm-up streams must carry exactly the reply's text."""
    expected = long_reply(sizes.stream_chunks)
    jobs = {name: _stream_job(stream, sizes.stream_chunks) for name, stream in streams.items()}
    warmups = {name: partial(_checked_stream, name, stream, expected) for name, stream in streams.items()}
    return interleaved(jobs, sizes.streams, warmups=warmups, warmup_runs=sizes.stream_warmup, frozen=True)


def _call_values(record: Samples) -> dict[str, float | None]:
    return {
        "cpu_us": record.stat("cpu", scale=1e6),
        "wall_us": record.stat("wall", scale=1e6),
        "wall_p90_us": record.stat("wall", 90, 1e6),
        "errors": float(record.errors),
    }


def _stream_values(record: Samples, chunks: int) -> dict[str, float | None]:
    return {
        "ttft_ms": record.stat("ttft", scale=1e3),
        "ttft_p25_ms": record.stat("ttft", 25, 1e3),
        "ttft_p75_ms": record.stat("ttft", 75, 1e3),
        "ttft_cpu_ms": record.stat("ttft_cpu", scale=1e3),
        "cpu_per_chunk_us": record.stat("cpu", scale=1e6 / chunks),  # every measured stream had `chunks`
        "stream_wall_ms": record.stat("wall", scale=1e3),
        "chunks": float(chunks) if record.values("ttft") else None,  # every measured stream had exactly this many
        "errors": float(record.errors),
    }


def _paired_notes(samples: dict[str, Samples], references: tuple[str, ...], metric: str = "cpu") -> list[str]:
    """Per-round paired figures of ours against each reference, with their spread (the sentences of PAIRED)."""
    compare, sentence = PAIRED[metric]
    notes = []
    for reference in references:
        present = OURS in samples and reference in samples
        if present and (summary := paired(samples[OURS], samples[reference], metric, compare)):
            notes.append(sentence.format(*summary, reference=LABELS[reference]))
    return notes


def per_call_sections(target: Target, sizes: Sizes) -> list[Section]:
    """Model layer (`model.response` / `create` / `litellm.completion`) and agent layer (`Agent.run`)."""

    count = sizes.rounds * sizes.batch
    model = (
        f"Medians of {count} calls per contender ({sizes.rounds} interleaved rounds of {sizes.batch}, after "
        f"{sizes.warmup_calls} warm-up calls): `model.response(messages=[Message(...)])` for the agno classes, "
        "`client.chat.completions.create` for the raw SDK, `litellm.completion` for LiteLLM. Short fixed reply."
    )
    agent = (
        f"Medians of {count} `Agent(model=...).run(prompt)` calls per contender (no tools, no storage). The raw "
        "SDK has no agent layer; LiteLLM's row is agno's `agno.models.litellm.LiteLLM` model in an Agent."
    )
    bounds = {AGNO: (1.0, "agno's built-in"), RAW: (1.10, "1.10x raw SDK")}
    sections = []
    for layer, calls, description, references, absent in (
        ("model", model_calls, model, (RAW, AGNO), ""),
        ("agent", agent_calls, agent, (AGNO,), "no agent layer"),
    ):
        samples = keep(f"per_call_{layer}", time_calls(calls(target), sizes))
        checks = [
            Check(f"{layer} layer: client CPU/call of ours <= {what}", OURS, "cpu_us", "ratio_max", bound, reference)
            for reference, (bound, what) in bounds.items()
            if reference in references
        ]
        title = f"Non-streamed call, {layer} layer"
        rows, notes = contender_rows(samples, _call_values, absent), _paired_notes(samples, references)
        sections.append(Section(f"per_call_{layer}", title, description, CALL_METRICS, rows, RAW, AGNO, notes, checks))
    return sections


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
        rows=contender_rows(samples, lambda record: _stream_values(record, sizes.stream_chunks)),
        raw_ref=RAW,
        agno_ref=AGNO,
        notes=[
            *_paired_notes(samples, (RAW, AGNO), "ttft_cpu"),
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
