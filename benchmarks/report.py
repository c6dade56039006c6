"""Result tables: sections of rows, ratios to the raw SDK and to agno's class, target checks, Markdown and JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from benchmarks.contenders import CONTENDERS, HAS_LITELLM, LABELS, LITELLM, SKIPPED_ROW, VARIANT_OF
from benchmarks.measure import Samples

Values = dict[str, float | None]
CheckKind = Literal["ratio_max", "ratio_min", "diff_max", "value_max"]


@dataclass(frozen=True)
class Metric:
    """One column: its key in `Row.values`, header, decimals, and whether ratio columns follow it."""

    key: str
    title: str
    digits: int = 0
    ratio: bool = False


@dataclass
class Row:
    """One contender (or one variant of it) in a section."""

    key: str
    contender: str
    label: str
    values: dict[str, float | None] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Check:
    """A "done when" target of the issue, e.g. ours' CPU per call <= 1.10x the raw SDK's."""

    text: str
    row: str
    metric: str
    kind: CheckKind
    bound: float
    ref: str | None = None


@dataclass
class Section:
    """One table: rows x metrics; ratios divide by the `raw_ref` and `agno_ref` rows."""

    key: str
    title: str
    description: str
    metrics: list[Metric]
    rows: list[Row]
    raw_ref: str | None = None
    agno_ref: str | None = None
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def row(self, key: str) -> Row | None:
        """The row with this key."""
        return next((row for row in self.rows if row.key == key), None)

    def value(self, row_key: str | None, metric: str) -> float | None:
        """A cell, or None."""
        row = self.row(row_key) if row_key else None
        return None if row is None else row.values.get(metric)

    def ratio(self, row: Row, metric: str, ref: str | None) -> float | None:
        """`row`'s value over the reference row's, or None."""
        value, base = row.values.get(metric), self.value(ref, metric)
        if value is None or not base:
            return None
        return value / base

    def evaluate(self, check: Check) -> tuple[float | None, bool | None]:
        """(the measured ratio, difference or value, whether it meets the bound); None when unmeasured."""
        ratio = check.kind.startswith("ratio")
        value, base = self.value(check.row, check.metric), self.value(check.ref, check.metric) if check.ref else 0.0
        if value is None or base is None or (ratio and not base):
            return None, None
        measured = value / base if ratio else value - base  # a plain value has no reference: base 0
        return measured, measured >= check.bound if check.kind == "ratio_min" else measured <= check.bound

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        """The section back from `to_json()`'s output (ratios and check results are recomputed)."""
        section = cls(**_known(cls, data))
        section.metrics = [Metric(**metric) for metric in data["metrics"]]
        section.rows = [Row(**_known(Row, row)) for row in data["rows"]]
        section.checks = [Check(**_known(Check, check)) for check in data["checks"]]
        return section

    def to_json(self) -> dict[str, Any]:
        """The section with its ratios and check results."""
        ratio_metrics = [metric.key for metric in self.metrics if metric.ratio]
        rows = [
            {
                **asdict(row),
                "ratios": {
                    key: {
                        "to_raw_sdk": self.ratio(row, key, self.raw_ref),
                        "to_agno": self.ratio(row, key, self.agno_ref),
                    }
                    for key in ratio_metrics
                },
            }
            for row in self.rows
        ]
        checks = []
        for check in self.checks:
            measured, passed = self.evaluate(check)
            checks.append({**asdict(check), "measured": measured, "passed": passed})
        return {**asdict(self), "rows": rows, "checks": checks}


def contender_rows(samples: dict[str, Samples], values: Callable[[Samples], Values], absent: str = "") -> list[Row]:
    """A row per contender, in their order, then the variants measured (aiohttp).

    A contender without samples gets `absent` as its note, LiteLLM's that it is not installed.
    """
    rows = []
    for name in (*CONTENDERS, *VARIANT_OF):
        record = samples.get(name)
        if record is not None:
            note = f"last error: {record.last_error}" if record.errors else ""
            rows.append(Row(name, VARIANT_OF.get(name, name), LABELS[name], values(record), note))
        elif name in CONTENDERS:
            note = SKIPPED_ROW if name == LITELLM and not HAS_LITELLM else absent
            rows.append(Row(name, name, LABELS[name], {}, note))
    return rows


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of `data` that are fields of the dataclass `cls` (computed extras dropped)."""
    return {item.name: data[item.name] for item in fields(cls) if item.name in data}


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def section_markdown(section: Section) -> str:
    """One section as a Markdown table plus its notes."""
    refs = [(title, ref) for title, ref in (("x raw", section.raw_ref), ("x agno", section.agno_ref)) if ref]
    headers = ["Contender"]
    for metric in section.metrics:
        headers += [metric.title, *(title for title, _ in refs if metric.ratio)]
    lines = [f"### {section.title}", "", section.description, ""]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|")
    for row in section.rows:
        label = f"**{row.label}**" if row.contender == "agno_deepinfra" else row.label
        cells = [label + (f" ({row.note})" if row.note else "")]
        for metric in section.metrics:
            cells.append(_fmt(row.values.get(metric.key), metric.digits))
            cells += [_ratio(section.ratio(row, metric.key, ref)) for _, ref in refs if metric.ratio]
        lines.append("| " + " | ".join(cells) + " |")
    if section.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in section.notes)
    return "\n".join(lines)


def checks_markdown(sections: list[Section]) -> str:
    """The issue's targets with what was measured and a verdict."""
    lines = ["| Target | Measured | Verdict |", "|---|---:|:---:|"]
    for section in sections:
        for check in section.checks:
            measured, passed = section.evaluate(check)
            unit = "ms" if check.kind == "diff_max" else ("x" if check.kind.startswith("ratio") else "")
            shown = (
                "n/a" if measured is None else f"{measured:+.3f} {unit}" if unit == "ms" else f"{measured:.2f}{unit}"
            )
            verdict = "not measured" if passed is None else ("met" if passed else "**missed**")
            lines.append(f"| {check.text} | {shown} | {verdict} |")
    return "\n".join(lines)


def write_json(path: Path, meta: dict[str, Any], sections: list[Section], extra: dict[str, Any]) -> None:
    """`results.json`: the run's metadata, every section with ratios and checks, and extras (capacity, scale sizes)."""
    document = {"meta": meta, **extra, "sections": [section.to_json() for section in sections]}
    path.write_text(json.dumps(document, indent=2, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    return asdict(value) if hasattr(value, "__dataclass_fields__") else str(value)


def contender_legend() -> str:
    """What each contender label means."""
    return "\n".join(f"- `{key}`: {label}" for key, label in LABELS.items())
