"""DeepInfra's model catalog: `list_models()` / `alist_models()` and model-id suggestions."""

from __future__ import annotations

import difflib
import threading
import time
from typing import Any

import httpx
import openai
from agno.exceptions import AgnoError
from pydantic import BaseModel, Field

from agno_deepinfra._shared.config import default_base_url, logger, openai_url, resolve_api_key
from agno_deepinfra._shared.errors import MAPPED_EXCEPTIONS, status_error, transport_error, unusable_response_error
from agno_deepinfra._shared.http_stack import new_async_http_client, new_sync_http_client

_SUGGESTION_TIMEOUT = 5.0  # seconds: suggestions decorate an error, they must not hold it up for long
# What a catalog may be before it is refused unread (DeepInfra's is about 100-200 models, well
# under a megabyte): a hostile or broken server cannot make a fetch hold a 404 up or eat memory.
MAX_CATALOG_BYTES = 8 * 1024 * 1024
MAX_CATALOG_MODELS = 5_000  # a lookup compares the id with each (difflib): 20,000 would take about 2 s


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


class _Reader:
    """The catalog's body, read within a deadline and a size: the one bound for the sync and async fetch.

    A read waits at most a quarter of the timeout and the whole fetch stops at the timeout, so a
    server dripping a byte at a time is cut off within 1.25 times the timeout, not per read.
    """

    def __init__(self, api_key: str | None, base_url: str | None, timeout: float) -> None:
        self.url = openai_url(base_url or default_base_url()) + "/models"
        self.key = resolve_api_key(api_key)  # the catalog is public; a key is sent when there is one
        self.headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        self.timeout = timeout
        self.limits = openai.Timeout(timeout / 4, connect=timeout)
        self.deadline = time.monotonic() + timeout
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        """Keep one chunk of the body; raises once the body is too large or the time is up."""
        self.size += len(chunk)
        if self.size > MAX_CATALOG_BYTES:
            raise self.unusable(f"the catalog is larger than {MAX_CATALOG_BYTES // 2**20} MiB")
        if time.monotonic() > self.deadline:
            exc = httpx.ReadTimeout(f"the catalog was not read within {self.timeout:g} s")
            raise transport_error(exc, model_id="models", model_name="DeepInfra", what="catalog", secret=self.key)
        self.chunks.append(chunk)

    def transport_failure(self, exc: BaseException) -> AgnoError:
        return transport_error(exc, model_id="models", model_name="DeepInfra", what="catalog", secret=self.key)

    def unusable(self, problem: str) -> AgnoError:
        return unusable_response_error(problem, model_id="models", model_name="DeepInfra", what="catalog")

    def models(self, streamed: httpx.Response) -> list[ModelInfo]:
        """The models in the body read (or DeepInfra's error, when it answered one)."""
        response = httpx.Response(streamed.status_code, headers=streamed.headers, content=b"".join(self.chunks))
        if response.status_code >= 400:
            raise status_error(
                response.status_code,
                response,
                model_id="models",
                model_name="DeepInfra",
                what="catalog",
                secret=self.key,
            )
        try:
            entries = response.json()["data"]
            if len(entries) > MAX_CATALOG_MODELS:
                raise self.unusable(f"{len(entries)} models, more than the {MAX_CATALOG_MODELS} a catalog may list")
            return [ModelInfo.from_wire(entry) for entry in entries]
        # pydantic's ValidationError is a ValueError; RecursionError: JSON nested deeper than the parser goes
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            problem = f'expected {{"data": [{{"id": ...}}, ...]}}, got {response.text[:200]!r}'
            raise self.unusable(problem) from exc


def list_models(api_key: str | None = None, base_url: str | None = None, timeout: float = 30.0) -> list[ModelInfo]:
    """DeepInfra's model catalog, typed.

    Args:
        api_key: optional (the catalog is public); defaults to `DEEPINFRA_API_KEY`.
        base_url: root or `/v1/openai` URL; defaults to `DEEPINFRA_BASE_URL`, then DeepInfra's.
        timeout: seconds for the whole fetch (each read waits at most a quarter of it).

    Raises:
        ModelProviderError: DeepInfra answered with an error, could not be reached in time, or sent
            a catalog that is not one (or over 8 MiB, or over 5,000 models).
    """
    reader = _Reader(api_key, base_url, timeout)
    try:
        with (
            new_sync_http_client(reader.url, reader.limits, follow_redirects=False) as client,
            client.stream("GET", reader.url, headers=reader.headers) as streamed,
        ):
            for chunk in streamed.iter_bytes():
                reader.add(chunk)
    except MAPPED_EXCEPTIONS as exc:
        raise reader.transport_failure(exc) from exc
    return reader.models(streamed)


async def alist_models(
    api_key: str | None = None, base_url: str | None = None, timeout: float = 30.0
) -> list[ModelInfo]:
    """Async twin of `list_models`.

    Args:
        api_key: optional (the catalog is public); defaults to `DEEPINFRA_API_KEY`.
        base_url: root or `/v1/openai` URL; defaults to `DEEPINFRA_BASE_URL`, then DeepInfra's.
        timeout: seconds for the whole fetch (each read waits at most a quarter of it).
    """
    reader = _Reader(api_key, base_url, timeout)
    try:
        async with (
            new_async_http_client(reader.url, timeout=reader.limits, follow_redirects=False) as client,
            client.stream("GET", reader.url, headers=reader.headers) as streamed,
        ):
            async for chunk in streamed.aiter_bytes():
                reader.add(chunk)
    except MAPPED_EXCEPTIONS as exc:
        raise reader.transport_failure(exc) from exc
    return reader.models(streamed)


# The catalog's ids per base URL, fetched on the first unknown-model error only (never on the
# happy path) and kept for the process; case corrections found in it, per (base URL, id).
_known_ids: dict[str, list[str]] = {}
_known_tags: dict[str, dict[str, tuple[str, ...]]] = {}  # per base URL: tags by id (model profiles)
_spellings: dict[tuple[str, str], str] = {}
_lock = threading.Lock()
# A failed fetch just means no suggestions or corrections: the original error matters.
_FETCH_FAILURES = (AgnoError, ValueError, KeyError)


def cached_ids(base_url: str) -> list[str]:
    """The catalog ids fetched so far for `base_url` (empty before the first fetch)."""
    with _lock:
        return _known_ids.get(base_url, [])


def cached_tags(base_url: str, model_id: str) -> tuple[str, ...] | None:
    """The model's catalog tags if the catalog for `base_url` was fetched already, else None.

    Never fetches: model profiles read tags only when they are at hand (see `families.profiles`).
    """
    tags = _known_tags.get(base_url)
    return None if tags is None else tags.get(model_id)


def _remember(base_url: str, models: list[ModelInfo]) -> list[str]:
    ids = [m.id for m in models]
    with _lock:
        _known_ids[base_url] = ids
        _known_tags[base_url] = {m.id: tuple(m.tags) for m in models}
    return ids


def known_ids(base_url: str, api_key: str | None) -> list[str]:
    """The catalog's ids, fetched once per base URL (with a short timeout); empty if it cannot be had."""
    if ids := cached_ids(base_url):
        return ids
    try:
        return _remember(base_url, list_models(api_key=api_key, base_url=base_url, timeout=_SUGGESTION_TIMEOUT))
    except _FETCH_FAILURES as exc:
        return _gave_up(exc)


async def aknown_ids(base_url: str, api_key: str | None) -> list[str]:
    """Async twin of `known_ids`: the fetch does not block the event loop."""
    if ids := cached_ids(base_url):
        return ids
    try:
        return _remember(base_url, await alist_models(api_key=api_key, base_url=base_url, timeout=_SUGGESTION_TIMEOUT))
    except _FETCH_FAILURES as exc:
        return _gave_up(exc)


def _gave_up(exc: Exception) -> list[str]:
    """No ids: the lookup gives up and the original error stands (a slow, huge or broken catalog)."""
    logger.debug("DeepInfra's catalog could not be used for model-id suggestions: %s", exc)
    return []


def is_special_id(model_id: str) -> bool:
    """Whether `model_id` is a form the public catalog never lists: `org/name:VERSION` or `deploy_id:ID`.

    Such ids are not typos of catalog ids: no case correction and no suggestions for them (a LoRA
    name `user/name` looks like a public id and is treated like one; a 404 for it is its own).
    """
    return ":" in model_id


def closest_model_ids(model_id: str, ids: list[str], n: int = 3) -> list[str]:
    """Ids among `ids` that look like `model_id`, for an "unknown model" error (none for special ids)."""
    if is_special_id(model_id):
        return []
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
    if is_special_id(model_id):
        return None  # never fetched for a version or deployment id
    return _case_match(model_id, known_ids(base_url, api_key), base_url)


async def acase_correction(model_id: str, base_url: str, api_key: str | None) -> str | None:
    """Async twin of `case_correction`."""
    if is_special_id(model_id):
        return None
    return _case_match(model_id, await aknown_ids(base_url, api_key), base_url)
