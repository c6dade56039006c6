"""DeepInfra's model catalog: `list_models()` / `alist_models()` and model-id suggestions."""

from __future__ import annotations

import difflib
import logging
import threading
from typing import Any

import httpx
from agno.exceptions import AgnoError
from pydantic import BaseModel, Field

from agno_deepinfra._config import default_base_url, openai_url, resolve_api_key
from agno_deepinfra._errors import MAPPED_EXCEPTIONS, status_error, transport_error, unusable_response_error

_SUGGESTION_TIMEOUT = 5.0  # seconds: suggestions decorate an error, they must not hold it up for long

logger = logging.getLogger("agno_deepinfra")


class ModelPricing(BaseModel):
    """Prices in USD per 1M tokens (None when DeepInfra does not price that way)."""

    input_per_million: float | None = Field(default=None, description="USD per 1M input tokens")
    output_per_million: float | None = Field(default=None, description="USD per 1M output tokens")


class ModelInfo(BaseModel):
    """One entry of DeepInfra's catalog (`GET /v1/openai/models`)."""

    id: str = Field(description="The id to pass as DeepInfra(id=...)")
    description: str | None = None
    context_length: int | None = Field(default=None, description="Context window, in tokens")
    max_tokens: int | None = Field(default=None, description="Longest completion, in tokens")
    pricing: ModelPricing = Field(default_factory=ModelPricing)
    tags: list[str] = Field(default_factory=list, description="Capabilities such as 'tools', 'vision', 'json'")
    owned_by: str | None = None

    @classmethod
    def from_wire(cls, entry: dict[str, Any]) -> ModelInfo:
        """Build from one `data[]` entry of DeepInfra's response."""
        metadata = entry.get("metadata") or {}
        pricing = metadata.get("pricing") or {}
        return cls(
            id=entry["id"],
            description=metadata.get("description"),
            context_length=metadata.get("context_length"),
            max_tokens=metadata.get("max_tokens"),
            pricing=ModelPricing(
                input_per_million=pricing.get("input_tokens"), output_per_million=pricing.get("output_tokens")
            ),
            tags=list(metadata.get("tags") or []),
            owned_by=entry.get("owned_by"),
        )


def _request(api_key: str | None, base_url: str | None) -> tuple[str, dict[str, str]]:
    url = openai_url(base_url or default_base_url()) + "/models"
    key = resolve_api_key(api_key)  # the catalog is public; a key is sent when there is one
    return url, ({"Authorization": f"Bearer {key}"} if key else {})


def _parse(response: httpx.Response) -> list[ModelInfo]:
    if response.status_code >= 400:
        raise status_error(response.status_code, response, model_id="models", model_name="DeepInfra", what="catalog")
    try:
        entries = response.json()["data"]
        return [ModelInfo.from_wire(entry) for entry in entries]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # pydantic's ValidationError is a ValueError
        problem = f'expected {{"data": [{{"id": ...}}, ...]}}, got {response.text[:200]!r}'
        raise unusable_response_error(problem, model_id="models", model_name="DeepInfra", what="catalog") from exc


def list_models(api_key: str | None = None, base_url: str | None = None, timeout: float = 30.0) -> list[ModelInfo]:
    """DeepInfra's model catalog, typed.

    Args:
        api_key: optional (the catalog is public); defaults to `DEEPINFRA_API_KEY`.
        base_url: root or `/v1/openai` URL; defaults to `DEEPINFRA_BASE_URL`, then DeepInfra's.
        timeout: seconds.

    Raises:
        ModelProviderError: DeepInfra answered with an error or could not be reached.
    """
    url, headers = _request(api_key, base_url)
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except MAPPED_EXCEPTIONS as exc:
        raise transport_error(exc, model_id="models", model_name="DeepInfra", what="catalog") from exc
    return _parse(response)


async def alist_models(
    api_key: str | None = None, base_url: str | None = None, timeout: float = 30.0
) -> list[ModelInfo]:
    """Async twin of `list_models`.

    Args:
        api_key: optional (the catalog is public); defaults to `DEEPINFRA_API_KEY`.
        base_url: root or `/v1/openai` URL; defaults to `DEEPINFRA_BASE_URL`, then DeepInfra's.
        timeout: seconds.
    """
    url, headers = _request(api_key, base_url)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url, headers=headers)
    except MAPPED_EXCEPTIONS as exc:
        raise transport_error(exc, model_id="models", model_name="DeepInfra", what="catalog") from exc
    return _parse(response)


# The catalog's ids per base URL, fetched on the first unknown-model error only (never on the
# happy path) and kept for the process; case corrections found in it, per (base URL, id).
_known_ids: dict[str, list[str]] = {}
_spellings: dict[tuple[str, str], str] = {}
_lock = threading.Lock()
# A failed fetch just means no suggestions or corrections: the original error matters.
_FETCH_FAILURES = (AgnoError, ValueError, KeyError)


def cached_ids(base_url: str) -> list[str]:
    """The catalog ids fetched so far for `base_url` (empty before the first fetch)."""
    with _lock:
        return _known_ids.get(base_url, [])


def _remember(base_url: str, models: list[ModelInfo]) -> list[str]:
    ids = [m.id for m in models]
    with _lock:
        _known_ids[base_url] = ids
    return ids


def known_ids(base_url: str, api_key: str | None) -> list[str]:
    """The catalog's ids, fetched once per base URL (with a short timeout); empty if it cannot be had."""
    if ids := cached_ids(base_url):
        return ids
    try:
        return _remember(base_url, list_models(api_key=api_key, base_url=base_url, timeout=_SUGGESTION_TIMEOUT))
    except _FETCH_FAILURES:
        return []


async def aknown_ids(base_url: str, api_key: str | None) -> list[str]:
    """Async twin of `known_ids`: the fetch does not block the event loop."""
    if ids := cached_ids(base_url):
        return ids
    try:
        return _remember(base_url, await alist_models(api_key=api_key, base_url=base_url, timeout=_SUGGESTION_TIMEOUT))
    except _FETCH_FAILURES:
        return []


def closest_model_ids(model_id: str, ids: list[str], n: int = 3) -> list[str]:
    """Ids among `ids` that look like `model_id`, for an "unknown model" error."""
    lowered = {i.lower(): i for i in ids}
    matches = difflib.get_close_matches(model_id.lower(), list(lowered), n=n, cutoff=0.4)
    return [lowered[m] for m in matches]


def spelling(model_id: str, base_url: str) -> str:
    """The id to send: `model_id`, or the catalog's spelling once a case correction was found."""
    return _spellings.get((base_url, model_id), model_id)


def _case_match(model_id: str, ids: list[str], base_url: str) -> str | None:
    """The one catalog id equal to `model_id` but for case; None if it is exact, unknown or ambiguous."""
    same = [i for i in ids if i.lower() == model_id.lower()]
    if len(same) != 1 or same[0] == model_id:
        return None
    with _lock:
        _spellings[(base_url, model_id)] = same[0]
    logger.warning(
        "DeepInfra has no model %r (ids are case-sensitive); using the catalog's spelling %r", model_id, same[0]
    )
    return same[0]


def case_correction(model_id: str, base_url: str, api_key: str | None) -> str | None:
    """After a 404 for `model_id`: the catalog id that differs from it only in case, if exactly one does."""
    return _case_match(model_id, known_ids(base_url, api_key), base_url)


async def acase_correction(model_id: str, base_url: str, api_key: str | None) -> str | None:
    """Async twin of `case_correction`."""
    return _case_match(model_id, await aknown_ids(base_url, api_key), base_url)
