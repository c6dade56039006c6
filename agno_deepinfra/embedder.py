"""`DeepInfraEmbedder`: agno's `Embedder` over DeepInfra's OpenAI-compatible `/v1/openai/embeddings`."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import partial
from os import getenv
from typing import Any, Literal

from agno.exceptions import AgnoError
from agno.knowledge.embedder.base import Embedder

from agno_deepinfra._shared.config import (
    API_KEY_ENV,
    ClientSetting,
    default_base_url,
    openai_url,
    resolve_api_key,
)
from agno_deepinfra._shared.http import (
    PROVIDER,
    Call,
    ClosesClients,
    HttpClients,
    batch_fanout,
    deepcopy_sharing,
    gather_bounded,
)
from agno_deepinfra._shared.limiter import Limiter, MaxConcurrency, new_limiter, set_limit
from agno_deepinfra._shared.portable import without
from agno_deepinfra._shared.records import shown_repr
from agno_deepinfra._shared.retry import RetryPolicy, acall_with_retries, call_with_retries, check_retry_settings
from agno_deepinfra._shared.tracing import KnowledgeSpan, embedding_span, note_retry
from agno_deepinfra._shared.vectors import Vector, indexed_vectors
from agno_deepinfra.batch._collector import aresult, result
from agno_deepinfra.batch._embeddings import submit_embeddings
from agno_deepinfra.batch.options import BatchOptions, resolve_options

try:
    from agno.exceptions import EmbeddingError
except ImportError:  # agno 3.0 has no EmbeddingError; this stand-in takes the same arguments as 3.1's

    class EmbeddingError(AgnoError):  # type: ignore[no-redef]
        """Raised when an embedder fails to produce an embedding (agno >= 3.1 defines the real one)."""

        def __init__(
            self,
            message: str,
            status_code: int | None = None,
            model_id: str | None = None,
            provider: str | None = None,
        ) -> None:
            super().__init__(message, status_code if status_code is not None else 502)
            self.provider_status_code = status_code
            self.model_id = model_id
            self.provider = provider
            self.type = "embedding_error"
            self.error_id = "embedding_error"


DEFAULT_EMBEDDING_MODEL = "Qwen/Qwen3-Embedding-0.6B"
# Native vector sizes of DeepInfra's common embedding models; `dimensions` defaults to these.
NATIVE_DIMENSIONS = {
    "Qwen/Qwen3-Embedding-0.6B": 1024,
    "Qwen/Qwen3-Embedding-4B": 2560,
    "Qwen/Qwen3-Embedding-8B": 4096,
    "BAAI/bge-m3": 1024,
    "BAAI/bge-large-en-v1.5": 1024,
    "BAAI/bge-base-en-v1.5": 768,
    "intfloat/multilingual-e5-large": 1024,
    "sentence-transformers/all-mpnet-base-v2": 768,
    "sentence-transformers/all-MiniLM-L6-v2": 384,
}
FALLBACK_DIMENSIONS = 1024
_OWNER = "DeepInfraEmbedder"

Usage = dict[str, Any]
Batch = tuple[list[Vector], Usage | None]


@dataclass
class DeepInfraEmbedder(ClosesClients, Embedder):
    """Embeddings from DeepInfra for agno knowledge bases and vector databases.

    Example:
        ```python
        from agno.knowledge.knowledge import Knowledge
        from agno.vectordb.lancedb import LanceDb
        from agno_deepinfra import DeepInfraEmbedder

        embedder = DeepInfraEmbedder()  # Qwen/Qwen3-Embedding-0.6B, 1024 dimensions, batched
        knowledge = Knowledge(vector_db=LanceDb(uri="tmp/lancedb", table_name="docs", embedder=embedder))
        ```

    Attributes:
        id: DeepInfra embedding model; `"Qwen/Qwen3-Embedding-0.6B"` by default (`"BAAI/bge-m3"` is a
            multilingual alternative; both have 1024 dimensions).
        dimensions: vector size. Defaults to the model's native size from `NATIVE_DIMENSIONS` (1024
            for the default model, and for models not listed there). Always sent, so every vector has
            exactly this length: smaller truncates (Qwen3 embeddings are trained for it), larger is zero-padded by
            DeepInfra (which leaves cosine similarities unchanged). DeepInfra's minimum is 32.
        encoding_format: `"base64"` (default, as in the openai SDK) or `"float"`. base64 carries the
            model's float32 values exactly, in about a third of the bytes of JSON numbers, and
            decodes several times faster; callers get lists of floats either way.
        api_key: DeepInfra API key; defaults to `DEEPINFRA_API_KEY`, read again at request time if
            unset. Never shown in `repr()`, logs or errors.
        base_url: DeepInfra's URL, root (`https://api.deepinfra.com`) or `/v1/openai` form. Defaults
            to `DEEPINFRA_BASE_URL` when set, else DeepInfra's public endpoint; an explicit argument wins.
        enable_batch: let agno's vector databases embed many chunks per request (agno's switch).
            On by default, unlike agno's own embedders: DeepInfra prices embeddings by the token, not
            the request, so a document of 20 chunks costs the same in 1 request as in 20, and 19
            fewer requests count against its concurrency cap. It changes only the paths where agno
            embeds a list at once (a vector database's `async_insert`, so `knowledge.ainsert`);
            `False` sends one request per chunk everywhere.
        batch_size: texts per request in the batch methods (100).
        max_concurrency: HTTP requests this embedder keeps in flight at once, across threads and
            event loops: `None` (default) sets no limit (one call of
            `async_get_embeddings_batch_and_usage` still sends at most 4 batches at once), an int is
            a fixed limit, `"auto"` learns DeepInfra's cap from its 429s (see `DeepInfra.max_concurrency`).
            Settable at any time: the next request uses the new limit.
        retries: retries of a transient failure (as `DeepInfra`'s: see `_shared.errors.error_class`); each
            text or batch makes at most `retries + 1` requests.
        delay_between_retries: seconds before each retry.
        exponential_backoff: double the delay on each retry.
        max_retry_delay: upper bound, in seconds, on a wait the server asks for with `Retry-After`
            (a retry's, and a 429's hold on `max_concurrency="auto"`).
        retry_jitter: add up to this fraction of each wait at random (0 keeps waits exact).
        timeout: request timeout in seconds; `None` means 300 s reads and a 10 s connect timeout.
        request_params: extra JSON fields for every request (e.g. `{"service_tier": "priority"}`).
        client: an `httpx.Client` or `httpx2.Client` to use instead of the embedder's own (the caller closes it).
        async_client: an `httpx.AsyncClient` or `httpx2.AsyncClient` to use instead of the embedder's own,
            on one event loop.
        batch_api: embed through DeepInfra's Batch API at 20% off (`True` or
            `agno_deepinfra.BatchOptions(...)`; see `agno_deepinfra.batch`). Every request made
            within the window shares one batch: one `vector_db.async_insert(documents)` call, or
            concurrent `knowledge.ainsert(...)` calls (`asyncio.gather`), fill one batch. agno's
            `ainsert_many` inserts one item after another, so it makes one batch per item.

    Usage dicts are DeepInfra's `usage`: `prompt_tokens`, `total_tokens` and `estimated_cost` (USD).
    The batch methods give every text of a request that request's usage, as agno's embedders do.
    Failures raise agno's `EmbeddingError`, with DeepInfra's own message and the HTTP status.
    Each request is an OpenInference EMBEDDING span when OpenTelemetry tracing is set up.
    """

    id: str = DEFAULT_EMBEDDING_MODEL
    dimensions: int | None = None
    encoding_format: Literal["float", "base64"] = "base64"
    api_key: str | None = field(default_factory=lambda: getenv(API_KEY_ENV), repr=False)
    base_url: str | None = field(default_factory=default_base_url)
    max_concurrency: MaxConcurrency = None
    enable_batch: bool = True  # agno's Embedder says False: see the docstring

    retries: int = 0
    delay_between_retries: float = 1.0
    exponential_backoff: bool = False
    max_retry_delay: float = 60.0
    retry_jitter: float = 0.0
    timeout: float | None = None

    request_params: dict[str, Any] | None = None
    client: Any = field(default=None, repr=False, compare=False)
    async_client: Any = field(default=None, repr=False, compare=False)
    _clients: HttpClients = field(default_factory=HttpClients, init=False, repr=False, compare=False)
    batch_api: ClientSetting[bool | BatchOptions | None] = ClientSetting(None)
    _limiter: Limiter | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.batch_api = resolve_options(self.batch_api)
        self.base_url = openai_url(self.base_url or default_base_url())
        if self.dimensions is None:
            self.dimensions = NATIVE_DIMENSIONS.get(self.id, FALLBACK_DIMENSIONS)
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        check_retry_settings(self)
        self._limiter = new_limiter(self.max_concurrency)

    def __repr__(self) -> str:
        """The dataclass's repr with every credential (URL user-info, `request_params` values) redacted."""
        return shown_repr(self, ((spec.name, getattr(self, spec.name)) for spec in fields(self) if spec.repr))

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "max_concurrency":  # a new limit takes effect at once (see `_shared.limiter.set_limit`)
            set_limit(self, value)
        super().__setattr__(name, value)

    # ------------------------------------------------------------------------------ one text

    def get_embedding(self, text: str) -> list[float]:
        """The embedding of `text`."""
        return self.get_embedding_and_usage(text)[0]

    def get_embedding_and_usage(self, text: str) -> tuple[list[float], dict[str, Any] | None]:
        """The embedding of `text` and DeepInfra's usage for the request."""
        vectors, usage = self._embed([text])
        return vectors[0], usage

    async def async_get_embedding(self, text: str) -> list[float]:
        """Async twin of `get_embedding`."""
        return (await self.async_get_embedding_and_usage(text))[0]

    async def async_get_embedding_and_usage(self, text: str) -> tuple[list[float], dict[str, Any] | None]:
        """Async twin of `get_embedding_and_usage`."""
        vectors, usage = await self._aembed([text])
        return vectors[0], usage

    # ---------------------------------------------------------------------------- many texts

    def get_embeddings_batch_and_usage(self, texts: list[str]) -> tuple[list[list[float]], list[dict[str, Any] | None]]:
        """Embeddings of `texts` in input order, one request per `batch_size` texts, sent one after another.

        In batch mode every request joins the collector at once, so they can share one batch.
        """
        if isinstance(self.batch_api, BatchOptions):
            with _embedding_errors(self.id):
                calls = [self._batch_call(batch) for batch in self._batches(texts)]
                return _flatten([self._parse_response(result(future), call) for call, future in calls])
        return _flatten([self._embed(batch) for batch in self._batches(texts)])

    async def async_get_embeddings_batch_and_usage(
        self, texts: list[str]
    ) -> tuple[list[list[float]], list[dict[str, Any] | None]]:
        """Embeddings of `texts` in input order, one request per `batch_size` texts, several at once.

        In batch mode every request joins the collector at once (no concurrency bound: nothing is in flight).
        """
        if isinstance(self.batch_api, BatchOptions):
            with _embedding_errors(self.id):
                calls = [self._batch_call(batch) for batch in self._batches(texts)]
                return _flatten([self._parse_response(await aresult(future), call) for call, future in calls])
        jobs = [partial(self._aembed, batch) for batch in self._batches(texts)]
        return _flatten(await gather_bounded(jobs, batch_fanout(self.max_concurrency, len(jobs))))

    def _batches(self, texts: list[str]) -> list[list[str]]:
        return [texts[start : start + self.batch_size] for start in range(0, len(texts), self.batch_size)]

    # ----------------------------------------------------------------- one request, two paths

    def _embed(self, texts: list[str]) -> Batch:
        with _embedding_errors(self.id):
            if isinstance(self.batch_api, BatchOptions):
                call, future = self._batch_call(texts)
                return self._parse_response(result(future), call)
            call = self._build_payload(texts)
            client = self._clients.sync(self.client, self.timeout, call.url)
            with self._span(call) as span:
                return call_with_retries(
                    lambda: self._parse_response(span.response(call.send(client)), call),
                    self._retry_policy(),
                )

    async def _aembed(self, texts: list[str]) -> Batch:
        with _embedding_errors(self.id):
            if isinstance(self.batch_api, BatchOptions):
                call, future = self._batch_call(texts)
                return self._parse_response(await aresult(future), call)
            call = self._build_payload(texts)
            client = self._clients.async_(self.async_client, self.timeout, call.url)

            with self._span(call) as span:

                async def attempt() -> Batch:
                    return self._parse_response(span.response(await call.asend(client)), call)

                return await acall_with_retries(attempt, self._retry_policy())

    def _batch_call(self, texts: list[str]) -> tuple[Call, Future[dict[str, Any]]]:
        """The request for `texts`, handed to the batch collector (see `batch._embeddings`)."""
        assert isinstance(self.batch_api, BatchOptions)
        call = self._build_payload(texts)
        base_url = openai_url(self.base_url or default_base_url())
        policy = self._retry_policy()
        return call, submit_embeddings(self.batch_api, call, base_url, self.timeout, policy, _OWNER, len(texts))

    def _retry_policy(self) -> RetryPolicy:
        """This object's retry settings; each retry is an event on the span in progress (when traced)."""
        return RetryPolicy.of(self, on_retry=note_retry)

    def _span(self, call: Call) -> KnowledgeSpan:
        """An OpenInference EMBEDDING span around one request and its retries (a no-op without tracing)."""
        return embedding_span(self.id, len(call.payload["input"]), call.payload, resolve_api_key(self.api_key))

    def _build_payload(self, texts: list[str]) -> Call:
        payload: dict[str, Any] = {
            "model": self.id,
            "input": texts,
            "encoding_format": self.encoding_format,
            "dimensions": self.dimensions,
        }
        url = openai_url(self.base_url or default_base_url()) + "/embeddings"
        return Call.of(self, url, payload, model_id=self.id, name=_OWNER, what="embedding model")

    @staticmethod
    def _parse_response(body: Any, call: Call) -> Batch:
        """Vectors in input order and the usage; a response that cannot be paired with the inputs raises."""
        expected = len(call.payload["input"])
        indexed = indexed_vectors(body, call)
        indices = [index for index, _ in indexed]
        # Vectors are paired with texts by position: a missing or duplicate index would shift every
        # later text onto another text's vector, so anything but exactly 0..n-1 is refused.
        if indices != list(range(expected)):
            raise call.bad_response(f"{len(indexed)} embeddings (indices {indices}) for {expected} inputs")
        usage = body.get("usage")
        return [vector for _, vector in indexed], (dict(usage) if isinstance(usage, dict) else None)

    # ------------------------------------------------------------------------------- copying

    def __deepcopy__(self, memo: dict[int, Any]) -> DeepInfraEmbedder:
        # agno deep-copies agents and their knowledge; a caller's clients are shared, not copied.
        return deepcopy_sharing(self, memo, self.client, self.async_client)

    def __getstate__(self) -> dict[str, Any]:
        # A pickle carries settings, never connections: a caller's clients stay behind, and the
        # copy opens its own on first use (see `_shared.portable`).
        return without(vars(self), "client", "async_client")


@contextmanager
def _embedding_errors(model_id: str) -> Iterator[None]:
    """Re-raise the plugin's agno errors as agno's `EmbeddingError`, DeepInfra's text and status kept."""
    try:
        yield
    except EmbeddingError:
        raise
    except AgnoError as error:
        raise EmbeddingError(
            error.message, status_code=error.status_code, model_id=model_id, provider=PROVIDER
        ) from error


def _flatten(batches: list[Batch]) -> tuple[list[Vector], list[Usage | None]]:
    vectors: list[Vector] = []
    usages: list[Usage | None] = []
    for batch_vectors, usage in batches:
        vectors.extend(batch_vectors)
        usages.extend([usage] * len(batch_vectors))
    return vectors, usages
