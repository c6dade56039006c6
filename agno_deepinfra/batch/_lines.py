"""A finished batch's result lines as answers: each request's outcome, priced and marked with its batch.

An outcome is the answer's body, or the error its run ends with and whether the line failed for a
passing reason (the package's one retry verdict, `_shared.errors.error_class`: a 500 or 429 inside a
completed batch; with a journal a rerun submits such a line again, while permanent failures such
as a 400 are replayed). An answer's body gets `BATCH_DATA_KEY` (its batch, `custom_id` and whether
it is `replayed`: an earlier run already received it) and `usage.estimated_cost` at the batch
price (see `batch`'s docstring); a replay costs 0, so summing costs across reruns counts each
answer once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Container
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any

from agno_deepinfra._shared.error_text import text_of
from agno_deepinfra._shared.errors import DeepInfraError, error_class
from agno_deepinfra.batch.options import BATCH_DATA_KEY, BATCH_PRICE_FACTOR, batch_error

Outcome = tuple[dict[str, Any] | None, DeepInfraError | None, bool]  # (answer, or error and "passing")


@dataclass(frozen=True)
class Asker:
    """Who waits for the lines, for error messages: the agno model's name, the model id, a journal or not."""

    model_name: str
    model_id: str
    journal: bool


def result_lines(texts: list[str], wanted: Container[str]) -> dict[str, dict[str, Any]]:
    """The first result line of each wanted custom_id, from the JSONL texts of a batch's output and error files."""
    found: dict[str, dict[str, Any]] = {}
    for text in texts:
        for raw in text.splitlines():
            line = json.loads(raw) if raw.strip() else None
            custom_id = str(line.get("custom_id")) if isinstance(line, dict) else None
            if line is not None and custom_id is not None and custom_id in wanted and custom_id not in found:
                found[custom_id] = line
    return found


def outcome(who: Asker, batch_id: str, custom_id: str, line: dict[str, Any] | None, status: str, why: str) -> Outcome:
    """The outcome of one request from its result line (None: the batch has no line for it)."""
    if line is None:
        ending = f"ended '{status}'" + (f" ({why})" if why else "")
        if status == "completed":
            ending = "completed without a result for this request"
        message = f"DeepInfra batch {batch_id} {ending} (request {custom_id})"
        error = batch_error(message, model_id=who.model_id, model_name=who.model_name, status=502)
        return None, error, status == "completed"
    response = line.get("response") or {}
    code = int(response.get("status_code") or 0)
    body = response.get("body")
    if 200 <= code < 300 and isinstance(body, dict) and line.get("error") is None:
        return body, None, False
    problem = line.get("error") or body
    text = text_of(problem) if problem is not None else "no response"
    kind, passing = error_class(code or 500, text)
    message = f"DeepInfra batch {batch_id}, request {custom_id}: HTTP {code}: {text[:200]}"
    if passing and who.journal:
        message += " (a passing failure: a rerun with the same journal submits this request again)"
    error = kind(message=message, status_code=code or 500, model_name=who.model_name, model_id=who.model_id)
    error.retryable, error.detail = False, text  # agno's loop never retries batch mode: it would submit again
    return None, error, passing


def priced(
    body: dict[str, Any], prices: tuple[float, float] | None, batch_id: str, custom_id: str, replayed: bool
) -> dict[str, Any]:
    """The answer's body, marked with its batch, with `usage.estimated_cost` at the batch price.

    `prices` are the catalog's real-time (input, output) USD per million tokens, None when unknown
    (the cost is then left out: unknown, not free). A replay costs 0.
    """
    marked = {**body, BATCH_DATA_KEY: {"batch_id": batch_id, "custom_id": custom_id, "replayed": replayed}}
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return marked
    cost = dict(usage)
    if replayed:
        cost["estimated_cost"] = 0.0
    elif prices is None:
        cost.pop("estimated_cost", None)
    else:
        input_price, output_price = prices
        tokens_in = int(usage.get("prompt_tokens") or 0)
        tokens_out = int(usage.get("completion_tokens") or 0)
        total = (tokens_in * input_price + tokens_out * output_price) / 1_000_000 * BATCH_PRICE_FACTOR
        cost["estimated_cost"] = round(total, 12)
    return {**marked, "usage": cost}


def settle(
    future: Future[dict[str, Any]], value: dict[str, Any] | None = None, error: BaseException | None = None
) -> None:
    """Resolve a call's future, unless its run gave up waiting (an async run cancelled meanwhile)."""
    with contextlib.suppress(InvalidStateError):
        if error is not None:
            future.set_exception(error)
        elif value is not None:
            future.set_result(value)


def batch_errors(batch: Any) -> str:
    """The first reasons DeepInfra gives for a batch that ended badly (its `errors`)."""
    errors = getattr(batch, "errors", None)
    data = getattr(errors, "data", None) or []
    return "; ".join(f"line {item.line}: {item.message}" if item.line else str(item.message) for item in data[:3])
