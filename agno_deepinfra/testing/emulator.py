"""`DeepInfraEmulator`: the public handle that runs the server in a background thread with its own loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from types import TracebackType
from typing import Any

from agno_deepinfra.testing.app import App
from agno_deepinfra.testing.batches import BatchApi, BatchClock
from agno_deepinfra.testing.capacity import DEFAULT_CONCURRENCY_LIMIT, DEFAULT_RETRY_AFTER, ConcurrencyCap
from agno_deepinfra.testing.catalog import Catalog, ModelEntry, ModelKind, ReasoningStyle, model_entry
from agno_deepinfra.testing.chat_wire import STREAM_USAGE_STYLES, StreamUsage
from agno_deepinfra.testing.script import Fault, Item, RecordedRequest, Reply, Script
from agno_deepinfra.testing.server import DEFAULT_MAX_BODY_BYTES, EmulatorServer

DEFAULT_API_KEY = "emulator-key"


class DeepInfraEmulator:
    """A local DeepInfra API on 127.0.0.1 for offline tests, demos and benchmarks.

    Use it as a context manager (or call `start()` / `stop()`): it listens on a free port (or
    `port`) in a daemon thread. Script answers per route with `queue`, `always` and `fail_every`;
    anything unscripted gets a deterministic, useful answer. Every request is logged in `requests`.
    The Batch API lives in `batch_api` (`fail_requests`, `end_next`, `created`); a batch stays
    `batch_validating_seconds` validating, then `batch_running_seconds` in progress, on `batch_clock`
    (`time.time` unless given; `ManualClock` and `TickingClock` make it deterministic).

    `stream_usage` says where streamed chat and completions carry `usage`: "deepinfra" (default,
    DeepInfra's documented wire) on the chunk whose `finish_reason` is set, on every stream;
    "openai" in a separate `choices: []` chunk, only when `stream_options.include_usage` is set;
    "both" in both places. See WIRE.md in this package for each shape and its source.

    Hardened for a shared machine: request bodies over `max_body_bytes` (64 MiB) are answered 413;
    a request whose `Host` header names neither a loopback name, the bound address nor one of
    `allowed_hosts` is answered 421 (a web page cannot reach it through DNS rebinding); the request
    log keeps no credential but the emulator's own key (see `testing/app.py`); an empty `api_key`
    is refused.

    Like DeepInfra, it admits `concurrency_limit` requests in flight per model (200; None: no cap)
    and answers the rest with DeepInfra's 429 and a `Retry-After` of `retry_after` seconds.
    `service_time` is how long every admitted model request takes before its answer starts, so
    that concurrency shows (0 by default: answers are immediate).

    Args:
        host: address to listen on; the control routes under `/_emulator/` answer only on loopback.
        port: port to listen on; 0 (default) picks a free one (read it from `port` after `start()`).
        api_key: the key clients must send (`Authorization: Bearer ...`); `"emulator-key"` by default.
        chunk_delay: seconds between streamed chunks (0: as fast as the socket takes them).
        record: keep the request log (`requests`, `requests_for`); `False` for long benchmarks.
        stream_usage: where streams carry `usage`: `"deepinfra"`, `"openai"` or `"both"` (above).
        batch_clock: the Batch API's clock: `time.time` unless given (`ManualClock`, `TickingClock`).
        batch_validating_seconds: how long a new batch stays `validating` on `batch_clock`.
        batch_running_seconds: how long a batch then stays `in_progress` before it completes.
        concurrency_limit: model requests in flight per model before DeepInfra's 429 (200;
            `None`: no cap).
        retry_after: the `Retry-After` seconds of that 429.
        service_time: seconds every admitted model request takes before its answer starts.
        max_body_bytes: the largest request body accepted (64 MiB); a larger one is answered 413.
        allowed_hosts: further `Host` names accepted besides loopback names and the bound address;
            any other `Host` is answered 421.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        chunk_delay: float = 0.0,
        record: bool = True,
        stream_usage: StreamUsage = "deepinfra",
        batch_clock: BatchClock | None = None,
        batch_validating_seconds: float = 0.2,
        batch_running_seconds: float = 0.5,
        concurrency_limit: int | None = DEFAULT_CONCURRENCY_LIMIT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        service_time: float = 0.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        allowed_hosts: Iterable[str] | None = None,
    ) -> None:
        if service_time < 0:
            raise ValueError(f"service_time must be >= 0 seconds, not {service_time!r}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be positive, not {max_body_bytes!r}")
        self.host = host
        self.api_key = api_key
        self.catalog = Catalog()
        self.cap = ConcurrencyCap(concurrency_limit, retry_after)
        self._script = Script(record=record)
        # The Batch API (files and batches); its statuses move on `batch_clock` (see testing/batches.py).
        self.batch_api = BatchApi(self.catalog, batch_clock, batch_validating_seconds, batch_running_seconds)
        app = App(api_key, self.catalog, self._script, self.batch_api, self.cap, service_time)
        hosts = frozenset(name.lower() for name in allowed_hosts) if allowed_hosts is not None else None
        self._server = EmulatorServer(app, host, port, chunk_delay, max_body_bytes, hosts)
        self.stream_usage = stream_usage
        self._initial_stream_usage = stream_usage  # what `reset()` restores
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> DeepInfraEmulator:
        """Start serving (idempotent); returns self once the port is bound."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="deepinfra-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(
                f"DeepInfra emulator could not start on {self.host}:{self._server.port}"
            ) from self._error
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and join the thread (idempotent)."""
        thread, loop, stopped = self._thread, self._loop, self._stopped
        if thread is None or loop is None or stopped is None:
            return
        loop.call_soon_threadsafe(_resolve, stopped)
        thread.join()
        self._thread = None

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._stopped = loop.create_future()
            try:
                loop.run_until_complete(self._server.start())
            except BaseException as error:  # reported to the starting thread
                self._error = error
                return
            finally:
                ready.set()
            loop.run_until_complete(self._stopped)
            loop.run_until_complete(self._server.close())
        finally:
            loop.close()

    def __enter__(self) -> DeepInfraEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (0 before `start()` when no port was given)."""
        return self._server.port

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:<port>`, DeepInfra's `https://api.deepinfra.com` equivalent."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, `<root_url>/v1/openai`."""
        return f"{self.root_url}/v1/openai"

    @property
    def open_connections(self) -> int:
        """Client connections open right now."""
        return self._server.open_connections

    @property
    def peak_connections(self) -> int:
        """The most connections open at once since start (or the last `reset()`)."""
        return self._server.peak_connections

    @property
    def stream_usage(self) -> StreamUsage:
        """Where streams carry `usage`: "deepinfra", "openai" or "both" (settable while running)."""
        return self._server.app.stream_usage

    @stream_usage.setter
    def stream_usage(self, style: StreamUsage) -> None:
        if style not in STREAM_USAGE_STYLES:
            raise ValueError(f"stream_usage must be one of {', '.join(STREAM_USAGE_STYLES)}, not {style!r}")
        self._server.app.stream_usage = style

    def rejected(self, model: str | None = None) -> int:
        """429s the concurrency cap answered, for one model or all, since start (or `reset()`)."""
        return self.cap.rejected[model] if model is not None else sum(self.cap.rejected.values())

    def peak_in_flight(self, model: str) -> int:
        """The most requests for `model` in flight at once since start (or `reset()`)."""
        return self.cap.peak[model]

    # -- scripting -------------------------------------------------------------------------------

    def queue(self, item: Reply | Fault, route: str = "chat") -> None:
        """Answer the next request on `route` with `item`.

        Routes: "chat", "completions", "embeddings", "inference", "models", and the media routes "images",
        "transcriptions" and "speech".
        """
        self._script.queue(item, route)

    def always(self, item: Reply | Fault, route: str = "chat") -> None:
        """Answer every request on `route` with `item` until `clear_always()` or `reset()`."""
        self._script.always(item, route)

    def fail_every(self, every: int, item: Item, route: str = "chat") -> None:
        """Answer every `every`-th request on `route`, counted from this call, with `item`."""
        self._script.fail_every(every, item, route)

    def fail_first(
        self, item: Item, key: Callable[[Any], Hashable | None], times: int = 1, route: str = "chat"
    ) -> None:
        """Answer the first `times` requests of each distinct `key(request_body)` with `item`.

        `key` runs on the emulator's thread and returns None for requests to leave alone, e.g.
        `lambda body: body["messages"][-1]["content"]` fails every conversation's first attempt.
        Unlike `fail_every`, a conversation can never draw more than `times` faults by the timing of others.
        """
        self._script.fail_first(item, key, times, route)

    def clear_always(self, route: str | None = None) -> None:
        """Remove the persistent rules (`always`, `fail_every`, `fail_first`) of `route`, or of every route."""
        self._script.clear_rules(route)

    def reset(self) -> None:
        """Clear queues, rules, counters and the request log, and restore the constructor's `stream_usage`.

        Models added with `add_model` stay. Also forgets the Batch API's files and batches and the
        prompt cache.
        """
        self._script.reset()
        self.batch_api.reset()
        self.stream_usage = self._initial_stream_usage
        self._server.peak_connections = self._server.open_connections
        self.cap.reset()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        return self._script.requests()

    def requests_for(self, route: str) -> list[RecordedRequest]:
        """The logged requests of one route: a route of `queue`, the Batch API's "files" or "batches", or
        "unknown" (paths the emulator does not serve). Any other name raises ValueError listing these."""
        return self._script.requests(route)

    # -- catalog ---------------------------------------------------------------------------------

    def add_model(
        self,
        model_id: str,
        *,
        kind: ModelKind = "chat",
        context_length: int = 32768,
        max_tokens: int | None = None,
        tags: Iterable[str] = (),
        pricing: Mapping[str, float] | None = None,
        dimensions: int = 1024,
        description: str = "",
        reasoning: ReasoningStyle | None = None,
        quirks: Iterable[str] = (),
    ) -> ModelEntry:
        """Serve another model; `pricing` is `{"input_tokens": usd_per_1m, "output_tokens": usd_per_1m}`.

        `quirks` switch on open-model family behaviours (`testing.families.QUIRKS`, WIRE.md "Model
        families"): e.g. `("leak:hermes",)` or `("tools_unsupported",)`.
        """
        entry = model_entry(
            model_id,
            kind=kind,
            context_length=context_length,
            max_tokens=max_tokens,
            tags=tags,
            pricing=pricing,
            dimensions=dimensions,
            description=description,
            reasoning=reasoning,
            quirks=quirks,
        )
        self.catalog.add(entry)
        return entry


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
