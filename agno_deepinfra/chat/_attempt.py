"""One HTTP attempt of the chat model, and a stream's state: the failure and stream scopes.

Typed against `AttemptOwner`, what a scope needs of its model, so this module sits beneath the
`DeepInfra` class instead of importing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Protocol, TypeVar

import openai
from agno.exceptions import AgnoError
from agno.models.response import ModelResponse
from openai.types.chat import ChatCompletionChunk

from agno_deepinfra import catalog
from agno_deepinfra._shared.adaptive_limit import Ticket
from agno_deepinfra._shared.config import resolve_api_key
from agno_deepinfra._shared.errors import MAPPED_EXCEPTIONS, DeepInfraError, incomplete_response_error, map_error
from agno_deepinfra._shared.limiter import Limiter
from agno_deepinfra.batch import _chat as _batch_chat
from agno_deepinfra.batch._chat import BatchChatModel
from agno_deepinfra.batch.options import BatchOptions
from agno_deepinfra.chat import families
from agno_deepinfra.chat._reasoning import ThinkSplitter
from agno_deepinfra.chat._request import for_model
from agno_deepinfra.chat._usage import StreamUsage
from agno_deepinfra.chat.families.profiles import ModelProfile

# agno's default, kept so code written for agno's class runs unchanged; DeepInfra may retire it.
DEFAULT_MODEL_ID = "meta-llama/Llama-2-70b-chat-hf"


class AttemptOwner(Protocol):
    """What the scopes need of the chat model."""

    id: str
    name: str
    api_key: str | None
    max_retry_delay: float
    _limiter: Limiter | None

    profile: ModelProfile | str | dict[str, Any] | None  # the user's `profile=`

    @property
    def _catalog_url(self) -> str: ...

    def model_profile(self) -> ModelProfile: ...

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse: ...


class CreateOwner(AttemptOwner, BatchChatModel, Protocol):
    """What sending a request needs of the chat model, besides what a scope needs."""

    batch_api: Any

    def get_client(self) -> openai.OpenAI: ...

    def get_async_client(self) -> openai.AsyncOpenAI: ...


_Scope = TypeVar("_Scope", bound="FailureScope")


class FailureScope:
    """One HTTP attempt: holds a `max_concurrency` slot and turns transport failures into agno errors."""

    delivered = False  # whether output reached the consumer (only streams deliver before the end)
    ticket: Ticket | None = None  # the `max_concurrency` slot held

    def __init__(self, model: AttemptOwner) -> None:
        self.model = model
        self.limiter = model._limiter  # the slot goes back here, even if `max_concurrency` changes meanwhile

    def __enter__(self: _Scope) -> _Scope:
        if self.limiter is not None:
            self.ticket = self.limiter.acquire()
        return self

    async def __aenter__(self: _Scope) -> _Scope:
        if self.limiter is not None:
            self.ticket = await self.limiter.aacquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        error = None
        try:
            if isinstance(exc, MAPPED_EXCEPTIONS):
                error = map_error(
                    exc,
                    model_id=self.model.id,
                    model_name=self.model.name,
                    delivered=self.delivered,
                    secret=resolve_api_key(self.model.api_key),
                )
                if error.status_code == 404:
                    _suggest_model_ids(error, self.model)
        finally:
            if self.limiter is not None and self.ticket is not None:  # a 429 shrinks an "auto" limit
                self.limiter.release(self.ticket, error or exc, self.model.max_retry_delay)
        if error is not None:
            raise error from exc

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class StreamScope(FailureScope):
    """A stream's state: thinking split out of the content, usage counted, output delivered, a finish seen."""

    def __init__(self, model: AttemptOwner, request: dict[str, Any] | None = None) -> None:
        super().__init__(model)
        profile = model.model_profile()
        body = request["extra_body"] if request is not None else {}
        self.thinking = ThinkSplitter(inside=profile.starts_in_thinking and not families.thinking_disabled(body))
        self.usage = StreamUsage()
        self.finished = False
        offered = families.offered_names(body) if "tools" in body else frozenset()
        self.fixes = families.StreamFixes(profile, offered, model.id)  # per family: see `families`

    def deliver(self, chunk: ChatCompletionChunk) -> ModelResponse:
        """Parse a chunk on its way to the consumer; once output is out, a failure must not be retried."""
        if not isinstance(chunk, ChatCompletionChunk):  # `data: 1e100`: the SDK yields any JSON value as sent
            raise incomplete_response_error(
                f"a stream event that is not a chunk object ({type(chunk).__name__})",
                model_id=self.model.id,
                model_name=self.model.name,
                delivered=self.delivered,
            )
        response = self.thinking.split(self.model._parse_provider_response_delta(chunk))
        finish = chunk.choices[0].finish_reason if chunk.choices else None
        if response.tool_calls or finish or self.fixes.holding:  # the family's repairs (see `families`)
            response = self.fixes.response(response, finish)
        if response.response_usage is not None:  # a usage record may come more than once (see StreamUsage)
            response.response_usage = self.usage.count(response.response_usage)
        if not self.delivered and (response.content or response.tool_calls or response.reasoning_content):
            self.delivered = True
        if finish:
            self.finished = True
        return response

    def ended(self) -> None:
        """The stream closed cleanly; without a finish reason the answer may be cut short."""
        if not self.finished:
            raise incomplete_response_error(
                "the stream ended before the model finished (no finish_reason)",
                model_id=self.model.id,
                model_name=self.model.name,
                delivered=self.delivered,
            )


def _suggest_model_ids(error: AgnoError, model: AttemptOwner) -> None:
    """Name the catalog's closest ids in an unknown-model error.

    Only from the cached catalog: `_create` / `_acreate` fetched it when the 404 arrived (the
    async one without blocking the loop), and an error must not wait on a second fetch.
    """
    suggestions = catalog.closest_model_ids(model.id, catalog.cached_ids(model._catalog_url))
    if suggestions:
        error.message = f"{error.message}; closest available ids: {', '.join(suggestions)}"
    if model.id == DEFAULT_MODEL_ID:
        error.message += (
            f"; '{DEFAULT_MODEL_ID}' is the default id (agno's, kept for drop-in compatibility): "
            "pass DeepInfra(id=...) with a model DeepInfra serves"
        )


# A 404 for an id whose case differs from exactly one catalog id (agno's eval endpoint
# lowercases ids; people mistype case) is sent once more with the catalog's spelling, inside
# the same attempt: it does not use up a retry. The spelling is then used from the start.
# Likewise a 405 for a response format (a rung down the ladder) and a 400 or 422 about sent-back
# reasoning (`rebuild` builds the request again under the lesson): once, and remembered.


def create(model: CreateOwner, request: dict[str, Any], rebuild: Callable[[], dict[str, Any]] | None = None) -> Any:
    """`chat.completions.create`, with the one resend described above (or a batch call)."""
    if isinstance(model.batch_api, BatchOptions):
        return _batch_chat.create(model, model.batch_api, request)
    completions = model.get_client().chat.completions
    try:
        return completions.create(**request)
    except openai.NotFoundError:
        spelling = catalog.case_correction(model.id, model._catalog_url, resolve_api_key(model.api_key))
        if spelling is None:
            raise
    except openai.APIStatusError as exc:  # the model lacks a feature, or wants its reasoning otherwise
        instead = _instead(model, exc, request, rebuild)
        if instead is None:
            raise
        with _final(model):
            return completions.create(**instead)
    return completions.create(**for_model(request, spelling))


async def acreate(
    model: CreateOwner, request: dict[str, Any], rebuild: Callable[[], dict[str, Any]] | None = None
) -> Any:
    """Async twin of `create`; the catalog is fetched without blocking the event loop."""
    if isinstance(model.batch_api, BatchOptions):
        return await _batch_chat.acreate(model, model.batch_api, request)
    completions = model.get_async_client().chat.completions
    try:
        return await completions.create(**request)
    except openai.NotFoundError:
        spelling = await catalog.acase_correction(model.id, model._catalog_url, resolve_api_key(model.api_key))
        if spelling is None:
            raise
    except openai.APIStatusError as exc:
        instead = _instead(model, exc, request, rebuild)
        if instead is None:
            raise
        with _final(model):
            return await completions.create(**instead)
    return await completions.create(**for_model(request, spelling))


def _instead(
    model: CreateOwner,
    error: openai.APIStatusError,
    request: dict[str, Any],
    rebuild: Callable[[], dict[str, Any]] | None,
) -> dict[str, Any] | None:
    """The request to send once more after a refusal, or None to fail (see `families`)."""
    profile = model.model_profile()
    if error.status_code == 405:
        return families.after_405(error, request, profile, model._catalog_url, model.name)
    if rebuild is None or error.status_code not in (400, 422):
        return None
    return families.after_reasoning_refusal(
        error, request, rebuild, profile, model._catalog_url, model.id, model.profile
    )


@contextmanager
def _final(model: CreateOwner) -> Iterator[None]:
    """The resend's refusal is final: it says so, and is not retried (retrying cannot change it)."""
    try:
        yield
    except openai.APIStatusError as again:
        if again.status_code not in (400, 405, 422):
            raise  # anything else (a 429, a 5xx) is the server's state, retried as usual
        error = map_error(again, model_id=model.id, model_name=model.name, secret=resolve_api_key(model.api_key))
        error.message = (
            f"{error.message}; refused again after one resend adjusted to DeepInfra's first refusal (not retried)"
        )
        if isinstance(error, DeepInfraError):
            error.retryable = False
        raise error from again
