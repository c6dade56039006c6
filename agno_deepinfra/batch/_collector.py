"""The collectors: calls waiting for the next batch, per `BatchOptions` object, endpoint, base URL and account.

Every model call made within `window` seconds waits in one collector, shared by every event loop
and thread of the process for one `BatchOptions` object. The registry of collectors lives here,
not on the options (which stay plain settings that pickle as they are): it holds each options
object weakly, and each collector holds its options weakly, so an options object nobody uses any
more takes its idle collectors with it.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from concurrent.futures import Future
from typing import Any

from agno_deepinfra.batch._job import BatchJob
from agno_deepinfra.batch._journal import Account
from agno_deepinfra.batch.options import (
    ENDPOINTS,
    MAX_EMBEDDING_INPUTS,
    BatchOptions,
    Target,
    Waiting,
    batch_error,
)

_Key = tuple[str, str, Account]
_registry: weakref.WeakKeyDictionary[BatchOptions, dict[_Key, _Collector]] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def submit(options: BatchOptions, target: Target, body: dict[str, Any], weight: int = 1) -> Future[dict[str, Any]]:
    """Hand one request body to the collector; the future resolves to the response body of its line.

    Raises before any request is sent for an unsupported endpoint, a call above the limits, or a
    model other than the one this collector's batches run.
    """
    model_id = str(body.get("model"))
    if target.endpoint not in ENDPOINTS:
        raise batch_error(
            f"DeepInfra's Batch API runs {', '.join(ENDPOINTS)}; {target.endpoint} cannot run in batch mode",
            model_id=model_id,
            model_name=target.model_name,
        )
    if target.endpoint == "/v1/embeddings" and weight > MAX_EMBEDDING_INPUTS:
        raise batch_error(
            f"an embeddings batch takes at most {MAX_EMBEDDING_INPUTS} inputs; this call has {weight}: split it",
            model_id=model_id,
            model_name=target.model_name,
        )
    with _registry_lock:
        collectors = _registry.setdefault(options, {})
        key = (target.base_url, target.endpoint, target.account)
        collector = collectors.get(key)
        if collector is None:
            collector = collectors[key] = _Collector(options, target, model_id)
    return collector.add(body, weight)


def result(future: Future[dict[str, Any]]) -> dict[str, Any]:
    """Block until the call's batch is done (a sync run)."""
    return future.result()


async def aresult(future: Future[dict[str, Any]]) -> dict[str, Any]:
    """Await the call's batch without blocking the event loop (an async run)."""
    return await asyncio.wrap_future(future)


class _Collector:
    """Calls waiting for the next batch of one model, endpoint and base URL."""

    def __init__(self, options: BatchOptions, target: Target, model_id: str) -> None:
        self._options = weakref.ref(options)  # the registry holds the options weakly (see above)
        self.target = target
        self.model_id = model_id
        self.waiting: list[Waiting] = []
        self.weight = 0
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()

    def add(self, body: dict[str, Any], weight: int) -> Future[dict[str, Any]]:
        model_id = str(body.get("model"))
        if model_id != self.model_id:
            raise batch_error(
                f"a DeepInfra batch runs one model: these BatchOptions already collect for '{self.model_id}', "
                f"not '{model_id}'. Give each model its own BatchOptions (or batch_api=True)",
                model_id=model_id,
                model_name=self.target.model_name,
            )
        future: Future[dict[str, Any]] = Future()
        waiting = Waiting(body, self.target.account.fingerprint(self.target.endpoint, body), weight, future)
        with self.lock:
            if self.waiting and self._full_with(weight):
                self._flush_locked()
            self.waiting.append(waiting)
            self.weight += weight
            options = self._options()
            if options is None or len(self.waiting) >= options.max_requests:
                self._flush_locked()
            elif self.timer is None:
                self.timer = threading.Timer(options.window, self._flush_on_timer)
                self.timer.daemon = True
                self.timer.start()
        return future

    def _full_with(self, weight: int) -> bool:
        return self.target.endpoint == "/v1/embeddings" and self.weight + weight > MAX_EMBEDDING_INPUTS

    def _flush_on_timer(self) -> None:
        with self.lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        """Start a job for the waiting calls (in a thread of its own: it waits minutes to hours)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.waiting, self.weight = self.waiting, [], 0
        options = self._options()
        if not batch or options is None:  # no options: no caller is left to wait for an answer
            return
        job = BatchJob(options, self.target, self.model_id, batch)
        threading.Thread(target=job.run, name="deepinfra-batch", daemon=True).start()
