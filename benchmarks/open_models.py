"""Open-model handling (issue 25): the client CPU a family's profile adds to a call, against profile="default".

`profile="default"` gives a model the profile of one in no family: no markup recovery, the server's
tool-call ids, no reasoning sent back, no role rules. `acme/custom-model` (which the benchmark's
emulator adds) is in no family: both its columns run the same code, a control for the noise.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from benchmarks.chat import time_calls
from benchmarks.config import Sizes
from benchmarks.contenders import OURS, Call, Target, ours_model
from benchmarks.measure import Samples, keep, paired
from benchmarks.report import Check, Metric, Row, Section
from benchmarks.server import NO_FAMILY_MODEL

MODELS = {
    "default": NO_FAMILY_MODEL,
    "qwen": "Qwen/Qwen3-32B",
    "kimi": "moonshotai/Kimi-K2-Instruct",
    "mistral": "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
}
MODES = {"call": "non-streamed (`model.response`)", "stream": "streamed (`model.response_stream`)"}
SCHEMA = {"type": "object", "properties": {"x": {"type": "string"}}}
TOOLS = [{"type": "function", "function": {"name": f"tool_{i}", "parameters": SCHEMA}} for i in range(3)]
RATIOS = {"x_default": "x default", "x_p25": "p25", "x_p75": "p75"}


def conversation() -> list[Any]:
    """A tool loop's history: system, user, four assistant tool-call turns with reasoning and their results, user."""
    from agno.models.message import Message

    messages = [Message(role="system", content="You are helpful. " * 20), Message(role="user", content="hi " * 50)]
    for i in range(4):
        call = {"id": f"call_{i}abc", "type": "function", "function": {"name": "tool_0", "arguments": '{"x": "y"}'}}
        messages.append(Message(role="assistant", content="", tool_calls=[call], reasoning_content="thinking " * 10))
        messages.append(Message(role="tool", content="result " * 20, tool_call_id=f"call_{i}abc"))
    return [*messages, Message(role="user", content="and then?")]


def _calls(model: Any, history: list[Any]) -> dict[str, Call]:
    def call() -> str:  # a copy of the list each time: agno appends the reply to the list it gets
        return str(model.response(messages=list(history), tools=TOOLS).content)

    def stream() -> str:
        return "".join(str(r.content or "") for r in model.response_stream(messages=list(history), tools=TOOLS))

    return {"call": call, "stream": stream}


def open_model_sections(target: Target, sizes: Sizes) -> list[Section]:
    """Per model, the call with its own profile and with `profile="default"`, all interleaved in one run."""
    from agno_deepinfra import ModelProfile

    history, calls = conversation(), dict[str, Call]()
    for family, model_id in MODELS.items():
        if (found := ModelProfile.for_model(model_id).family) != family:
            raise RuntimeError(f"{model_id} is in family {found!r}, not {family!r}")
        for profile in (None, "default"):
            model = ours_model(replace(target, model=model_id), profile=profile)
            calls |= {f"{family}/{profile or 'own'}/{mode}": call for mode, call in _calls(model, history).items()}
    samples = keep("open_models", time_calls(calls, sizes))
    sections = [_section(family, samples, sizes) for family in MODELS]
    worst, row = max(
        ((section, row) for section in sections[1:] for row in section.rows),
        key=lambda pair: pair[1].values.get("x_default") or 0.0,
    )
    which = f"worst of {', '.join(list(MODELS)[1:])}, streamed or not: {worst.key.split('_')[-1]}, {row.key}"
    text = f"open-model family handling: client CPU/call <= 1.03x the same call with profile='default' ({which})"
    worst.checks.append(Check(text, row.key, "x_default", "value_max", 1.03))
    return sections


def _row(mode: str, own: Samples, default: Samples) -> Row:
    values = {"own_us": own.stat("cpu", scale=1e6), "default_us": default.stat("cpu", scale=1e6)}
    values |= zip(RATIOS, paired(own, default) or (None, None, None), strict=False)
    values["errors"] = float(own.errors + default.errors)
    note = "; ".join(f"last error: {record.last_error}" for record in (own, default) if record.errors)
    return Row(mode, OURS, MODES[mode], values, note)


def _section(family: str, samples: dict[str, Samples], sizes: Sizes) -> Section:
    description = (
        f"Medians of {sizes.rounds * sizes.batch} calls per column, interleaved; x default = median of the per-round "
        "ratios (p25 to p75 beside it)."
    )
    if family == "default":  # the first table says what every one measures
        description += (
            " The call: a tool loop's history (system, user, four assistant tool-call turns with `reasoning_content` "
            "and their results, a last user message), three tools offered, a short fixed reply; `DeepInfra(id=...)` "
            'against `DeepInfra(id=..., profile="default")`. This model is in no family: both columns run the same '
            "code (a control)."
        )
    return Section(
        key=f"open_models_{family}",
        title=f"Open-model handling: client CPU per call, `{MODELS[family]}` ({family} profile)",
        description=description,
        metrics=[
            Metric("own_us", f"{family} profile: CPU / call (µs)"),
            Metric("default_us", "profile='default' (µs)"),
            *(Metric(key, title, digits=3) for key, title in RATIOS.items()),
            Metric("errors", "errors"),
        ],
        rows=[_row(mode, samples[f"{family}/own/{mode}"], samples[f"{family}/default/{mode}"]) for mode in MODES],
    )
