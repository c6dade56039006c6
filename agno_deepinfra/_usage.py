"""A response's `usage` record, whatever its shape, as agno's `MessageMetrics`.

agno hands `_get_metrics` the SDK's pydantic `CompletionUsage` in production, but duck-typed
objects in its own tests and plain dicts where a usage record was stored or rebuilt. Reading every
field by name, from a mapping or an attribute, serves all three: DeepInfra's `estimated_cost`
(an extra field, outside the SDK's type) included.
"""

from __future__ import annotations

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
    return int(value) if isinstance(value, (int, float)) else 0


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
    metrics.cost = float(cost) if isinstance(cost, (int, float)) else None
    return metrics
