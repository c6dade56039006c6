"""DeepInfra's model catalog: `list_models()` / `alist_models()` and model-id suggestions."""

from __future__ import annotations

import difflib
import threading
from typing import Any

import httpx
from agno.exceptions import AgnoError
from pydantic import BaseModel, Field

from agno_deepinfra._config import default_base_url, openai_url, resolve_api_key
from agno_deepinfra._errors import MAPPED_EXCEPTIONS, status_error, transport_error

_SUGGESTION_TIMEOUT = 5.0  # seconds: suggestions decorate an error, they must not hold it up for long


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
    return [ModelInfo.from_wire(entry) for entry in response.json().get("data", [])]


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
    """Async twin of `list_models`."""
    url, headers = _request(api_key, base_url)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url, headers=headers)
    except MAPPED_EXCEPTIONS as exc:
        raise transport_error(exc, model_id="models", model_name="DeepInfra", what="catalog") from exc
    return _parse(response)


_known_ids: dict[str, list[str]] = {}
_known_ids_lock = threading.Lock()


def closest_model_ids(model_id: str, base_url: str, api_key: str | None = None, n: int = 3) -> list[str]:
    """Catalog ids that look like `model_id`, for an "unknown model" error.

    The catalog is fetched on the first unknown-model error only (never on the happy path) and
    cached per base URL; any failure to fetch it just means no suggestions.
    """
    with _known_ids_lock:
        ids = _known_ids.get(base_url)
    if ids is None:
        try:
            ids = [m.id for m in list_models(api_key=api_key, base_url=base_url, timeout=_SUGGESTION_TIMEOUT)]
        except (AgnoError, ValueError, KeyError):  # suggestions are a courtesy; the original error matters
            return []
        with _known_ids_lock:
            _known_ids[base_url] = ids
    lowered = {i.lower(): i for i in ids}
    matches = difflib.get_close_matches(model_id.lower(), list(lowered), n=n, cutoff=0.4)
    return [lowered[m] for m in matches]
