"""HTTP plumbing shared by the embedder, the reranker and the media tools: clients, one prepared POST, bounded fan-out.

They talk to DeepInfra on the openai SDK's HTTP stack (httpx, or httpx2 under openai 3, with the
process's shared TLS context: see `_shared.http_stack`), but not through its API client: the reranker's
`/v1/inference/{model}` route is not OpenAI-shaped anyway, the embeddings body is four fields,
`usage.estimated_cost` is read straight from the JSON, and there is no second retry layer to
switch off. Errors go through `_shared.errors`, the same mapping as the chat model's.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from agno.exceptions import ModelAuthenticationError

from agno_deepinfra._shared.config import missing_key_message, resolve_api_key, warn_if_insecure
from agno_deepinfra._shared.errors import (
    MAPPED_EXCEPTIONS,
    DeepInfraError,
    status_error,
    transport_error,
    unusable_response_error,
)
from agno_deepinfra._shared.http_stack import PerLoop, new_async_http_client, new_sync_http_client
from agno_deepinfra._shared.limiter import DEFAULT_MAX_WAIT, Limiter, aslot_of, slot_of
from agno_deepinfra._shared.portable import reset_after_fork

T = TypeVar("T")
PROVIDER = "DeepInfra"


def auth_headers(api_key: str | None, owner: str) -> dict[str, str]:
    """The `Authorization` header; raises agno's `ModelAuthenticationError` before any request when no key is set."""
    key = resolve_api_key(api_key)
    if not key:
        raise ModelAuthenticationError(message=missing_key_message(owner), model_name=owner)
    return {"Authorization": f"Bearer {key}"}


class CallOwner(Protocol):
    """What `Call.of` reads of an embedder or reranker."""

    api_key: str | None
    request_params: dict[str, Any] | None
    max_retry_delay: float
    _limiter: Limiter | None


@dataclass(frozen=True)
class Call:
    """One prepared POST to DeepInfra: built once, then sent by the sync or the async path.

    Attributes:
        url: the full endpoint URL.
        payload: the JSON body, or the form fields of a multipart upload when `files` is set.
        headers: request headers (they carry the API key, so they are kept out of `repr`).
        model_id: the DeepInfra model, for error messages.
        owner: the class making the call (agno's `model_name` in errors).
        what: what the model is, in error messages ("embedding model", "reranker").
        files: multipart file parts, `{field: (filename, content, content type)}` (audio uploads).
        binary: the answer is raw bytes (synthesised audio), returned as they are instead of decoded as JSON.
        limiter: the owner's `max_concurrency` limiter; every attempt holds one of its slots.
        max_wait: the owner's `max_retry_delay`: the longest a 429's `Retry-After` holds the limiter back.
    """

    url: str
    payload: dict[str, Any]
    headers: dict[str, str] = field(repr=False)
    model_id: str = ""
    owner: str = PROVIDER
    what: str = "model"
    files: Mapping[str, tuple[str, bytes, str]] | None = field(default=None, repr=False)
    binary: bool = False
    limiter: Limiter | None = field(default=None, repr=False, compare=False)
    max_wait: float = DEFAULT_MAX_WAIT

    def send(self, client: Any) -> Any:
        """POST and return the decoded JSON; failures raise `_shared.errors`' agno exceptions."""
        with slot_of(self.limiter, self.max_wait):
            try:
                response = client.post(self.url, headers=self.headers, **self._body())
            except MAPPED_EXCEPTIONS as exc:
                raise self._transport_error(exc) from exc
            return self._decode(response)

    async def asend(self, client: Any) -> Any:
        """Async twin of `send`."""
        async with aslot_of(self.limiter, self.max_wait):
            try:
                response = await client.post(self.url, headers=self.headers, **self._body())
            except MAPPED_EXCEPTIONS as exc:
                raise self._transport_error(exc) from exc
            return self._decode(response)

    def _body(self) -> dict[str, Any]:
        if self.files is None:
            return {"json": self.payload}
        return {"data": self.payload, "files": dict(self.files)}

    def _decode(self, response: Any) -> Any:
        if response.status_code >= 400:
            raise status_error(
                response.status_code,
                response,
                model_id=self.model_id,
                model_name=self.owner,
                what=self.what,
                secret=self._secret,
            )
        if self.binary:
            return response.content
        try:
            return response.json()
        except ValueError as exc:  # a cut or non-JSON 200 (a proxy page): as transient as a dropped connection
            raise self._transport_error(exc) from exc

    def _transport_error(self, exc: BaseException) -> DeepInfraError:
        return transport_error(exc, model_id=self.model_id, model_name=self.owner, what=self.what, secret=self._secret)

    @property
    def _secret(self) -> str | None:
        """The key this call carries (`auth_headers`), kept out of its errors' text."""
        return self.headers.get("Authorization", "").removeprefix("Bearer ") or None

    @classmethod
    def of(cls, owner: CallOwner, url: str, payload: dict[str, Any], *, model_id: str, name: str, what: str) -> Call:
        """The call of an embedder or reranker: its key, limiter and wait cap; its `request_params` win."""
        return cls(
            url=url,
            payload={**payload, **(owner.request_params or {})},
            headers=auth_headers(owner.api_key, name),
            model_id=model_id,
            owner=name,
            what=what,
            limiter=owner._limiter,
            max_wait=owner.max_retry_delay,
        )

    def bad_response(self, problem: str) -> DeepInfraError:
        """A well-formed answer that does not fit the request (a count or a field is wrong); never retried."""
        return unusable_response_error(problem, model_id=self.model_id, model_name=self.owner, what=self.what)


class HttpClients:
    """The HTTP clients of one embedder or reranker: the caller's own, or ones made (and closed) here.

    A caller's client may be an httpx or an httpx2 one; those made here are the SDK's own (see
    `_shared.http_stack`), with media-safe settings: redirects are not followed.
    One async client per event loop: an `AsyncClient`'s pooled connections belong to the
    loop that opened them, so reusing one after `asyncio.run` returned fails. Pickled, copied or
    forked, it starts empty: clients never travel (see `_shared.portable`).
    """

    def __init__(self) -> None:
        self._sync: Any = None  # httpx.Client, or httpx2.Client under openai 3
        self._async: PerLoop[Any] = PerLoop()  # each closes with its loop
        self._lock = threading.Lock()  # two threads embedding at once must not build two clients
        reset_after_fork(self)

    def sync(self, supplied: Any, timeout: float | None, base_url: str) -> Any:
        """The caller's client if given, else the cached one (created on first use)."""
        if supplied is not None:
            return supplied
        with self._lock:
            if self._sync is None or self._sync.is_closed:
                warn_if_insecure(base_url)
                self._sync = new_sync_http_client(base_url, timeout, follow_redirects=False)
            return self._sync

    def async_(self, supplied: Any, timeout: float | None, base_url: str) -> Any:
        """The caller's async client if given, else the one cached for the running event loop."""
        if supplied is not None:
            return supplied

        def make() -> Any:
            warn_if_insecure(base_url)
            return new_async_http_client(base_url, timeout=timeout, follow_redirects=False)

        return self._async.get(make, lambda client: bool(client.is_closed), lambda client: client.aclose())

    def close(self) -> None:
        """Close the sync client made here; the async ones close with their loops (closing needs the loop)."""
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()
        self._async = PerLoop()

    async def aclose(self) -> None:
        """Close the running loop's async client and the sync client made here."""
        client = self._async.pop_running()
        if client is not None:
            await client.aclose()
        self.close()

    def __deepcopy__(self, memo: dict[int, Any]) -> HttpClients:
        # Clients hold locks and sockets and cannot be copied: a copy starts with none of its own.
        return HttpClients()

    def __reduce__(self) -> tuple[Any, ...]:
        return (HttpClients, ())

    def _after_fork(self) -> None:
        # The parent's pools stay the parent's: dropped here unclosed (closing would shut the
        # parent's sockets too), the child opens its own.
        self.__init__()  # type: ignore[misc]


def deepcopy_sharing(obj: T, memo: dict[int, Any], *shared: object) -> T:
    """A deep copy of a plain object (a dataclass) that keeps `shared` objects (a caller's clients) as they are."""
    share_in_deepcopy(memo, *shared)
    cls = type(obj)
    copied = cls.__new__(cls)
    memo[id(obj)] = copied
    for name, value in vars(obj).items():
        setattr(copied, name, copy.deepcopy(value, memo))
    return copied


def share_in_deepcopy(memo: dict[int, Any], *shared: object) -> None:
    """Make `copy.deepcopy` reuse `shared` objects (a caller's clients) instead of copying them."""
    for item in shared:
        memo[id(item)] = item


DEFAULT_BATCH_FANOUT = 4


def batch_fanout(setting: int | str | None, jobs: int) -> int:
    """How many of one batch call's `jobs` to start at once."""
    if setting is None:
        return DEFAULT_BATCH_FANOUT
    return jobs if setting == "auto" else min(int(setting), max(jobs, 1))


async def gather_bounded(jobs: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run `jobs` with at most `limit` in flight; results in job order.

    The first failure cancels the jobs still running (no orphaned requests) and is raised.
    """
    if len(jobs) == 1:
        return [await jobs[0]()]
    semaphore = asyncio.Semaphore(max(1, limit))

    async def bounded(job: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await job()

    tasks = [asyncio.ensure_future(bounded(job)) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


_Owner = TypeVar("_Owner", bound="ClosesClients")


class ClosesClients:
    """`close()`, `aclose()` and `with` / `async with` for a class whose clients live in `_clients`."""

    if TYPE_CHECKING:
        _clients: HttpClients

    def close(self) -> None:
        """Close the HTTP client made here (a client passed in stays open)."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close this event loop's async client and the sync client made here."""
        await self._clients.aclose()

    def __enter__(self: _Owner) -> _Owner:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self: _Owner) -> _Owner:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
