"""`DeepInfraReranker`: agno's `Reranker` over DeepInfra's native `POST /v1/inference/{model}`."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from os import getenv
from typing import Any
from urllib.parse import quote

from agno.exceptions import AgnoError
from agno.knowledge.document import Document
from agno.knowledge.reranker.base import Reranker
from pydantic import Field, PrivateAttr, field_validator

from agno_deepinfra._shared.config import API_KEY_ENV, default_base_url, logger, openai_url, resolve_api_key, root_url
from agno_deepinfra._shared.http import (
    Call,
    ClosesClients,
    HttpClients,
    batch_fanout,
    gather_bounded,
    share_in_deepcopy,
)
from agno_deepinfra._shared.limiter import Limiter, MaxConcurrency, check_max_concurrency, new_limiter, set_limit
from agno_deepinfra._shared.records import shown_in_repr
from agno_deepinfra._shared.retry import RetryPolicy, acall_with_retries, call_with_retries, check_retry_settings
from agno_deepinfra._shared.tracing import KnowledgeSpan, note_retry, reranker_span

DEFAULT_RERANKER_MODEL = "Qwen/Qwen3-Reranker-0.6B"
_OWNER = "DeepInfraReranker"


class DeepInfraReranker(ClosesClients, Reranker):
    """Reorders retrieved documents by relevance with a DeepInfra reranker model.

    Example:
        ```python
        from agno.knowledge.knowledge import Knowledge
        from agno_deepinfra import DeepInfraEmbedder, DeepInfraReranker

        knowledge = Knowledge(vector_db=..., reranker=DeepInfraReranker(top_n=5))  # agno >= 3.1
        ```

    Returns copies of the documents with `reranking_score` set (in [0, 1]), most relevant first;
    the caller's documents are never modified. On a DeepInfra failure it follows agno's reranker
    convention (log the error with its traceback, return the documents in their original order)
    unless `raise_on_error=True`. Each request is an OpenInference RERANKER span when OpenTelemetry
    tracing is set up.

    Attributes:
        model: DeepInfra reranker; `"Qwen/Qwen3-Reranker-0.6B"` by default (`-4B` and `-8B` are
            larger and more accurate).
        api_key: DeepInfra API key; defaults to `DEEPINFRA_API_KEY`, read again at request time if
            unset. Never shown in `repr()`, `model_dump()`, logs or errors.
        base_url: DeepInfra's URL, root or `/v1/openai` form (stored in the `/v1/openai` form, like
            `DeepInfra`'s; reranking goes to the root's `/v1/inference/{model}`). Defaults to
            `DEEPINFRA_BASE_URL` when set, else DeepInfra's public endpoint; an explicit argument wins.
        instruction: task description for instruction-aware rerankers (Qwen3), e.g. "Given a support
            question, retrieve the policy that answers it".
        top_n: keep at most this many documents (None keeps all). agno's `limit` argument, when
            given, also caps the result; the smaller of the two wins.
        batch_size: documents per request; longer lists are split (64).
        max_concurrency: HTTP requests this reranker keeps in flight at once, across threads and
            event loops: `None` (default) sets no limit (one `arerank` call still sends at most 4
            batches at once; `rerank` sends them one by one), an int is a fixed limit, `"auto"`
            learns DeepInfra's cap from its 429s (see `DeepInfra.max_concurrency`). Settable at any
            time: the next request uses the new limit.
        raise_on_error: raise DeepInfra failures instead of logging them and keeping the input order.
        retries: retries of a transient failure (as `DeepInfra`'s: see `_shared.errors.error_class`); each batch
            makes at most `retries + 1` requests.
        delay_between_retries: seconds before each retry.
        exponential_backoff: double the delay on each retry.
        max_retry_delay: upper bound, in seconds, on a wait the server asks for with `Retry-After`
            (a retry's, and a 429's hold on `max_concurrency="auto"`).
        retry_jitter: add up to this fraction of each wait at random (0 keeps waits exact).
        timeout: request timeout in seconds; `None` means 300 s reads and a 10 s connect timeout.
        request_params: extra JSON fields for every request (e.g. `{"service_tier": "priority"}`).
        client: an `httpx.Client` or `httpx2.Client` to use instead of the reranker's own (the caller closes it).
        async_client: an `httpx.AsyncClient` or `httpx2.AsyncClient` to use instead of the reranker's own,
            on one event loop.
    """

    model: str = DEFAULT_RERANKER_MODEL
    api_key: str | None = Field(default_factory=lambda: getenv(API_KEY_ENV), repr=False, exclude=True)
    base_url: str = Field(default_factory=default_base_url)
    instruction: str | None = None
    top_n: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=64, ge=1)
    max_concurrency: MaxConcurrency = None
    raise_on_error: bool = False

    retries: int = Field(default=0, ge=0)
    delay_between_retries: float = Field(default=1.0, ge=0)
    exponential_backoff: bool = False
    max_retry_delay: float = Field(default=60.0, ge=0)
    retry_jitter: float = Field(default=0.0, ge=0)
    timeout: float | None = None

    request_params: dict[str, Any] | None = None
    client: Any = Field(default=None, repr=False, exclude=True)
    async_client: Any = Field(default=None, repr=False, exclude=True)
    _clients: HttpClients = PrivateAttr(default_factory=HttpClients)
    _limiter: Limiter | None = PrivateAttr(default=None)

    @field_validator("base_url", mode="before")
    @classmethod
    def _openai_form(cls, value: Any) -> str:
        return openai_url(str(value)) if value else default_base_url()

    @field_validator("max_concurrency", mode="before")
    @classmethod
    def _valid_limit(cls, value: Any) -> Any:
        check_max_concurrency(value)
        return value

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        check_retry_settings(self)
        self._limiter = new_limiter(self.max_concurrency)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """pydantic's repr fields, every credential (URL user-info, `request_params` values) redacted."""
        for name, value in super().__repr_args__():
            yield name, shown_in_repr(name or "", value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "max_concurrency":  # a new limit takes effect at once (see `_shared.limiter.set_limit`)
            set_limit(self, value)
        super().__setattr__(name, value)

    # ------------------------------------------------------------------------- entry points

    def rerank(self, query: str, documents: list[Document], limit: int | None = None) -> list[Document]:
        """Score `documents` against `query`; batches are sent one after another."""
        if not documents:
            return []
        try:
            scores = [score for batch in self._batches(documents) for score in self._score(query, batch)]
        except AgnoError:  # what the transport and DeepInfra can raise; a bug still propagates
            if self.raise_on_error:
                raise
            logger.exception("DeepInfra reranking failed; keeping the original order of %d documents", len(documents))
            return list(documents)
        return self._ranked(documents, scores, limit)

    async def arerank(self, query: str, documents: list[Document], limit: int | None = None) -> list[Document]:
        """Async twin of `rerank` on the event loop itself (no thread), batches sent concurrently."""
        if not documents:
            return []
        jobs = [partial(self._ascore, query, batch) for batch in self._batches(documents)]
        try:
            fanout = batch_fanout(self.max_concurrency, len(jobs))
            scores = [score for batch in await gather_bounded(jobs, fanout) for score in batch]
        except AgnoError:
            if self.raise_on_error:
                raise
            logger.exception("DeepInfra reranking failed; keeping the original order of %d documents", len(documents))
            return list(documents)
        return self._ranked(documents, scores, limit)

    # ------------------------------------------------------------------ one batch, two paths

    def _batches(self, documents: list[Document]) -> list[list[Document]]:
        return [documents[start : start + self.batch_size] for start in range(0, len(documents), self.batch_size)]

    def _score(self, query: str, batch: list[Document]) -> list[float]:
        call = self._build_payload(query, batch)
        client = self._clients.sync(self.client, self.timeout, call.url)
        with self._span(query, batch) as span:
            return call_with_retries(
                lambda: self._parse_response(span.response(call.send(client)), call),
                self._retry_policy(),
            )

    async def _ascore(self, query: str, batch: list[Document]) -> list[float]:
        call = self._build_payload(query, batch)
        client = self._clients.async_(self.async_client, self.timeout, call.url)

        with self._span(query, batch) as span:

            async def attempt() -> list[float]:
                return self._parse_response(span.response(await call.asend(client)), call)

            return await acall_with_retries(attempt, self._retry_policy())

    def _retry_policy(self) -> RetryPolicy:
        """This object's retry settings; each retry is an event on the span in progress (when traced)."""
        return RetryPolicy.of(self, on_retry=note_retry)

    def _span(self, query: str, batch: list[Document]) -> KnowledgeSpan:
        """An OpenInference RERANKER span around one request and its retries (a no-op without tracing)."""
        return reranker_span(self.model, query, len(batch), self.top_n, resolve_api_key(self.api_key))

    def _build_payload(self, query: str, batch: list[Document]) -> Call:
        """The request for one batch; Qwen3 rerankers need one query per document, so it is repeated."""
        payload: dict[str, Any] = {"queries": [query] * len(batch), "documents": [doc.content for doc in batch]}
        if self.instruction is not None:
            payload["instruction"] = self.instruction
        url = f"{root_url(self.base_url)}/v1/inference/{quote(self.model, safe='/:')}"
        return Call.of(self, url, payload, model_id=self.model, name=_OWNER, what="reranker")

    @staticmethod
    def _parse_response(body: Any, call: Call) -> list[float]:
        """One score per document, in request order; any other shape is refused (never guessed at)."""
        expected = len(call.payload["documents"])
        scores = body.get("scores") if isinstance(body, dict) else None
        if not isinstance(scores, list) or not all(_is_number(score) for score in scores):
            raise call.bad_response("no 'scores' list of numbers in the response")
        if len(scores) != expected:
            raise call.bad_response(f"{len(scores)} scores for {expected} documents")
        return [float(score) for score in scores]

    def _ranked(self, documents: list[Document], scores: list[float], limit: int | None) -> list[Document]:
        """Scored copies, most relevant first (ties keep their input order), cut to `top_n` / `limit`."""
        order = sorted(range(len(documents)), key=lambda index: scores[index], reverse=True)
        keep = min((n for n in (self.top_n, limit) if n is not None), default=len(order))
        return [_scored_copy(documents[index], scores[index]) for index in order[:keep]]

    # ------------------------------------------------------------------------------- copying

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> DeepInfraReranker:
        # A caller's clients are shared by the copy; the clients made here are not copied (see HttpClients).
        memo = {} if memo is None else memo
        share_in_deepcopy(memo, self.client, self.async_client)
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        # A pickle carries settings, never connections: a caller's clients stay behind, and the
        # copy opens its own on first use (see `_shared.portable`).
        state = super().__getstate__()
        state["__dict__"] = {**state["__dict__"], "client": None, "async_client": None}
        return state


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scored_copy(document: Document, score: float) -> Document:
    """A copy carrying the score; its metadata is copied too, so editing it never reaches the caller's."""
    return replace(document, meta_data=copy.deepcopy(document.meta_data), reranking_score=score)
