"""Chat sections: client CPU and wall time per non-streamed call (model and agent layers), and streaming."""

from __future__ import annotations

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
    Target,
    agent_calls,
    model_calls,
    streams,
)
from benchmarks.measure import (
    CallSamples,
    StreamSamples,
    interleaved_calls,
    interleaved_streams,
    median,
    paired_ratio,
    percentile,
)
from benchmarks.report import Check, Metric, Row, Section
from benchmarks.server import SHORT_REPLY, long_reply

CALL_METRICS = [
    Metric("cpu_us", "client CPU / call (µs)", ratio=True),
    Metric("wall_us", "wall / call (µs)", ratio=True),
    Metric("wall_p90_us", "wall p90 (µs)"),
    Metric("errors", "errors"),
]


def _rows(samples: dict[str, CallSamples] | dict[str, StreamSamples], missing_note: str = "") -> list[Row]:
    rows = []
    for name in CONTENDERS:
        record = samples.get(name)
        if record is None:
            absent = name == LITELLM and not HAS_LITELLM
            rows.append(Row(name, name, LABELS[name], {}, SKIPPED_ROW if absent else missing_note))
            continue
        note = f"last error: {record.last_error}" if record.errors else ""
        rows.append(Row(name, name, LABELS[name], record.summary(), note))
    return rows


def _paired_notes(samples: dict[str, CallSamples], references: tuple[str, ...]) -> list[str]:
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
                f"{low:.3f} to {high:.3f} over {len(samples[OURS].cpu_by_round)} rounds (the spread is the noise "
                "floor of this machine: differences inside it are not significant)."
            )
    return notes


def _paired_ttft_notes(samples: dict[str, StreamSamples]) -> list[str]:
    """Per-round differences of client CPU to first token, ours minus each reference (streams alternate)."""
    notes = []
    for reference in (RAW, AGNO):
        ours, theirs = samples.get(OURS), samples.get(reference)
        if ours is None or theirs is None or ours.errors or theirs.errors or not ours.ttft_cpu:
            continue
        differences = [(mine - other) * 1e3 for mine, other in zip(ours.ttft_cpu, theirs.ttft_cpu, strict=False)]
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

    def timed(calls: dict[str, Call]) -> dict[str, CallSamples]:
        return interleaved_calls(
            calls, warmup=sizes.warmup_calls, rounds=sizes.rounds, batch=sizes.batch, expected=SHORT_REPLY
        )

    model = timed(model_calls(target))
    agent = timed({name: call for name, call in agent_calls(target).items() if call is not None})
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
        rows=_rows(model),
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
        rows=_rows(agent, "no agent layer"),
        raw_ref=RAW,
        agno_ref=AGNO,
        notes=_paired_notes(agent, (AGNO,)),
        checks=[
            Check("agent layer: client CPU/call of ours <= agno's built-in", OURS, "cpu_us", "ratio_max", 1.0, AGNO),
        ],
    )
    return [model_section, agent_section]


def streaming_section(target: Target, sizes: Sizes) -> Section:
    """Time to first token and client CPU per chunk on a 2,000-chunk streamed reply."""
    samples = interleaved_streams(
        streams(target),
        warmup=sizes.stream_warmup,
        rounds=sizes.streams,
        expected_text=long_reply(sizes.stream_chunks),
        expected_chunks=sizes.stream_chunks,
    )
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
        rows=_rows(samples),
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
            Check(
                "streaming: TTFT overhead of ours <= raw SDK + 0.2 ms (client CPU to first token)",
                OURS,
                "ttft_cpu_ms",
                "diff_max",
                0.2,
                RAW,
            ),
            Check(
                "streaming: wall TTFT of ours <= raw SDK + 0.2 ms (noisy, see note)",
                OURS,
                "ttft_ms",
                "diff_max",
                0.2,
                RAW,
            ),
        ],
    )
