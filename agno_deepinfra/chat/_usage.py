"""A response's `usage` record, whatever its shape, as agno's `MessageMetrics`.

agno hands `_get_metrics` the SDK's pydantic `CompletionUsage` in production, but duck-typed
objects in its own tests and plain dicts where a usage record was stored or rebuilt. Reading every
field by name, from a mapping or an attribute, serves all three: DeepInfra's `estimated_cost`
(an extra field, outside the SDK's type) included.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agno.metrics import MessageMetrics


def usage_field(record: Any, name: str) -> Any:
    """`record[name]` for a mapping, else `record.name` (pydantic extras included); None when absent."""
    if record is None:
        return None
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _count(record: Any, name: str) -> int:
    value = usage_field(record, name)
    return int(value) if _finite(value) else 0


def _finite(value: Any) -> bool:
    """A number that can be counted: JSON's `Infinity` and `NaN` (Python's parser takes them) cannot."""
    return isinstance(value, (int, float)) and math.isfinite(value)


def usage_metrics(usage: Any) -> MessageMetrics:
    """agno's token metrics (as `OpenAIChat._get_metrics` computes them) plus DeepInfra's cost in USD.

    `cost` is DeepInfra's `estimated_cost`, else an OpenAI-style `cost`, else None (unknown, not free).
    """
    metrics = MessageMetrics()
    metrics.input_tokens = _count(usage, "prompt_tokens")
    metrics.output_tokens = _count(usage, "completion_tokens")
    metrics.total_tokens = _count(usage, "total_tokens")
    if prompt := usage_field(usage, "prompt_tokens_details"):
        metrics.audio_input_tokens = _count(prompt, "audio_tokens")
        metrics.cache_read_tokens = _count(prompt, "cached_tokens")
        metrics.cache_write_tokens = _count(prompt, "cache_write_tokens")
    if completion := usage_field(usage, "completion_tokens_details"):
        metrics.audio_output_tokens = _count(completion, "audio_tokens")
        metrics.reasoning_tokens = _count(completion, "reasoning_tokens")
    metrics.audio_total_tokens = metrics.audio_input_tokens + metrics.audio_output_tokens
    cost = usage_field(usage, "estimated_cost")
    if cost is None:
        cost = usage_field(usage, "cost")
    metrics.cost = float(cost) if _finite(cost) else None
    return metrics


# The token counters of `MessageMetrics` that a usage record sets (see `usage_metrics`).
_COUNTERS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
    "audio_total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


class StreamUsage:
    """Counts one stream's usage once, whichever chunks carry it.

    agno adds up the usage of every chunk of a stream. DeepInfra documents usage on the chunk
    whose `finish_reason` is set; OpenAI's shape puts it in a later `choices: []` chunk; a server
    may send both, or running totals on every chunk (`stream_options.continuous_usage_stats`).
    Each record is the stream's total so far, so each chunk passes on only what its record adds
    to the ones before: the stream's metrics end up equal to its last (largest) record.
    """

    def __init__(self) -> None:
        self._counted = MessageMetrics()
        self._cost: float | None = None

    def count(self, record: MessageMetrics) -> MessageMetrics | None:
        """The part of `record` not yet counted; None when it adds nothing (a repeated record)."""
        increment = MessageMetrics()
        added = False
        for name in _COUNTERS:
            new, old = getattr(record, name) or 0, getattr(self._counted, name) or 0
            if new > old:
                setattr(increment, name, new - old)
                setattr(self._counted, name, new)
                added = True
        if record.cost is not None and record.cost > (self._cost or 0.0):
            increment.cost = record.cost - (self._cost or 0.0)
            self._cost = record.cost
            added = True
        return increment if added else None
