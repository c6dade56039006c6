"""What tests tell the emulator to do: replies, faults, per-route queues and rules, and the request log."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Route = Literal["chat", "completions", "embeddings", "inference", "models", "images", "transcriptions", "speech"]
ROUTES: tuple[Route, ...] = (
    "chat",
    "completions",
    "embeddings",
    "inference",
    "models",
    "images",
    "transcriptions",
    "speech",
)

# Routes the request log knows besides the scriptable ones: the Batch API's ("files", "batches",
# answered by testing/batches.py, never scripted) and "unknown" (a path the emulator does not serve).
LOGGED_ROUTES: tuple[str, ...] = (*ROUTES, "files", "batches", "unknown")

FaultKind = Literal["status", "drop", "drop_after", "delay", "hang", "malformed_json", "no_done"]
# Faults that change how a normal answer is delivered, rather than replacing it.
MODIFIER_KINDS = frozenset({"drop_after", "malformed_json", "no_done"})


@dataclass(frozen=True)
class ToolCall:
    """A tool call in a scripted reply; a `str` `arguments` is sent verbatim (it may be invalid JSON).

    Attributes:
        name: the function the model calls.
        arguments: its arguments: a dict is sent as JSON, a `str` as it is.
        id: the call's id; one is made up when `None`.
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """A scripted answer.

    Chat uses `content`, `tool_calls`, `reasoning_content`, `finish_reason` (default "tool_calls" when
    there are tool calls, else "stop"), `usage` (overrides `prompt_tokens` / `completion_tokens`) and
    `chunks` (stream the content in exactly this many pieces; default one per word), `leak` (send
    the tool calls as text in that family grammar instead, see families.py) and `tool_index`
    (streamed tool-call deltas: "ok", "omit" the index, or "zero" on every call). Embeddings use
    `embeddings`; inference uses `scores` (rerankers) or `embeddings`. `body` replaces the whole JSON
    response of a non-streaming request on any route.

    Attributes:
        content: the answer's text (chat and completions).
        tool_calls: tool calls the model makes (`ToolCall`).
        reasoning_content: reasoning sent as DeepInfra's `reasoning_content` field.
        finish_reason: the finish reason; "tool_calls" when there are tool calls, else "stop".
        usage: fields of `usage` to report instead of the counted ones.
        chunks: stream the content in exactly this many pieces (default: one per word).
        embeddings: the vectors of an embeddings or native-embedding answer.
        scores: the scores of a reranker answer, one per document.
        body: the whole JSON response of a non-streaming request, on any route.
        leak: send the tool calls as text in this family grammar instead (`testing.families.GRAMMARS`,
            e.g. "hermes").
        tool_index: streamed tool-call deltas: "ok", "omit" the index, or "zero" on every call.
    """

    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    reasoning_content: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    chunks: int | None = None
    embeddings: list[list[float]] | None = None
    scores: list[float] | None = None
    body: Any = None
    leak: str | None = None
    tool_index: Literal["ok", "omit", "zero"] | None = None


@dataclass(frozen=True)
class Fault:
    """A scripted failure; build one with the class methods (`Fault.status(503)`, `Fault.drop()`, ...).

    Attributes:
        kind: which fault: "status", "drop", "drop_after", "delay", "hang", "malformed_json" or "no_done".
        status_code: the HTTP status of a "status" fault.
        body: the JSON body of a "status" fault (DeepInfra-like by default).
        text: an HTML body of a "status" fault instead of JSON.
        headers: extra response headers of a "status" fault (e.g. `Retry-After`).
        count: content events streamed before a "drop_after" cuts the socket.
        seconds: the wait of a "delay".
        then: the answer after a "delay", "drop_after", "malformed_json" or "no_done".
    """

    kind: FaultKind
    status_code: int = 0
    body: Any = None
    text: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    count: int = 0
    seconds: float = 0.0
    then: Reply | Fault | None = None

    @classmethod
    def status(
        cls, code: int, *, body: Any = None, text: str | None = None, headers: Mapping[str, str] | None = None
    ) -> Fault:
        """Answer with HTTP `code`: a DeepInfra-like JSON body by default, `body` as JSON, or `text` as HTML."""
        return cls("status", status_code=code, body=body, text=text, headers=dict(headers or {}))

    @classmethod
    def drop(cls) -> Fault:
        """Read the request, then close the socket without sending a byte."""
        return cls("drop")

    @classmethod
    def drop_after(cls, chunks: int, *, then: Reply | None = None) -> Fault:
        """Stream exactly `chunks` content-carrying events of the answer, then abort the socket.

        No separate role event is sent: the first event carries both the role and the first content
        piece. The answer is `then` or whatever the route would have answered. Non-streaming requests
        are dropped like `drop()`.
        """
        return cls("drop_after", count=chunks, then=then)

    @classmethod
    def delay(cls, seconds: float, *, then: Reply | Fault | None = None) -> Fault:
        """Wait, then answer with `then` or the route's next rule / unscripted answer (no second queue item)."""
        return cls("delay", seconds=seconds, then=then)

    @classmethod
    def hang(cls) -> Fault:
        """Never answer: hold the connection until the client leaves or the emulator stops."""
        return cls("hang")

    @classmethod
    def malformed_json(cls, *, then: Reply | None = None) -> Fault:
        """Answer 200 with a body that is not JSON (in a stream: a `data: {not json` event after the role event)."""
        return cls("malformed_json", then=then)

    @classmethod
    def no_done(cls, *, then: Reply | None = None) -> Fault:
        """Stream the whole answer but end the response cleanly without `data: [DONE]`."""
        return cls("no_done", then=then)


Item = Reply | Fault


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it.

    Attributes:
        method: the HTTP method.
        path: the request target, query string included.
        route: the route name it was logged under (`"chat"`, `"embeddings"`, ...; see `requests_for`).
        headers: the request headers, names in lower case.
        body: the parsed JSON body (a multipart upload: its fields, file parts without their bytes).
        time: when it arrived, on `time.monotonic()`.
    """

    method: str
    path: str
    route: str
    headers: dict[str, str]
    body: Any
    time: float

    @property
    def model(self) -> str | None:
        """The model asked for: `body["model"]`, or the model in an inference path."""
        if isinstance(self.body, dict) and isinstance(self.body.get("model"), str):
            return str(self.body["model"])
        if self.route == "inference":
            return self.path.partition("?")[0].split("/v1/inference/", 1)[-1] or None
        return None


@dataclass(frozen=True)
class Plan:
    """How to answer one request: wait `delay`, then a terminal fault, or the reply (None = unscripted)."""

    delay: float = 0.0
    terminal: Fault | None = None
    modifier: Fault | None = None
    reply: Reply | None = None


UNSCRIPTED = Plan()


@dataclass
class _RouteScript:
    queue: deque[Item] = field(default_factory=deque)
    always: Item | None = None
    every: tuple[int, Item] | None = None
    count: int = 0
    per_key: tuple[Callable[[Any], Hashable | None], Item, int] | None = None
    seen: Counter[Hashable] = field(default_factory=Counter)

    def idle(self) -> bool:
        return not self.queue and self.always is None and self.every is None and self.per_key is None

    def keyed_fault(self, body: Any) -> Item | None:
        """The `fail_first` item when this request's key has not had its share of faults yet."""
        if self.per_key is None:
            return None
        key_of, item, times = self.per_key
        key = key_of(body)
        if key is None or self.seen[key] >= times:
            return None
        self.seen[key] += 1
        return item


def resolve(items: list[Item]) -> Plan:
    """Fold a queued item and/or a rule into a plan; delays add up and `then` chains are followed."""
    delay = 0.0
    modifier: Fault | None = None
    for first in items:
        item: Item | None = first
        while item is not None:
            if isinstance(item, Reply):
                return Plan(delay, None, modifier, item)
            if item.kind == "delay":
                delay += item.seconds
            elif item.kind in MODIFIER_KINDS:
                modifier = modifier or item
            elif modifier is None:
                return Plan(delay, item, None, None)
            item = item.then
    return Plan(delay, None, modifier, None)


class Script:
    """Per-route queues and persistent rules plus the request log; safe to drive from any thread."""

    def __init__(self, record: bool = True) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _RouteScript] = {route: _RouteScript() for route in ROUTES}
        self._log: list[RecordedRequest] = []
        self.record_requests = record

    def _route(self, route: str) -> _RouteScript:
        try:
            return self._routes[route]
        except KeyError:
            raise ValueError(f"unknown route {route!r}; expected one of {', '.join(ROUTES)}") from None

    def queue(self, item: Item, route: str = "chat") -> None:
        """Answer the next request on `route` with `item` (FIFO)."""
        with self._lock:
            self._route(route).queue.append(item)

    def always(self, item: Item, route: str = "chat") -> None:
        """Answer every request on `route` with `item` until cleared (queued items still go first)."""
        with self._lock:
            self._route(route).always = item

    def fail_every(self, every: int, item: Item, route: str = "chat") -> None:
        """Answer every `every`-th request on `route` (counted from now) with `item`."""
        if every < 1:
            raise ValueError("every must be >= 1")
        with self._lock:
            state = self._route(route)
            state.every = (every, item)
            state.count = 0

    def fail_first(
        self, item: Item, key: Callable[[Any], Hashable | None], times: int = 1, route: str = "chat"
    ) -> None:
        """Answer the first `times` requests of each distinct `key(body)` with `item` (None: never).

        Faults bounded per conversation, whatever the order requests arrive in: unlike `fail_every`,
        no request can draw more than `times` of them by bad luck of timing.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            state = self._route(route)
            state.per_key, state.seen = (key, item, times), Counter()

    def clear_rules(self, route: str | None = None) -> None:
        """Remove the persistent rules (`always`, `fail_every`, `fail_first`) of one route or of all routes."""
        with self._lock:
            for name in ROUTES if route is None else (route,):
                state = self._route(name)
                state.always, state.every, state.per_key = None, None, None

    def reset(self) -> None:
        """Clear every queue, rule, counter and the request log."""
        with self._lock:
            self._routes = {route: _RouteScript() for route in ROUTES}
            self._log = []

    def record(self, request: RecordedRequest) -> None:
        """Append a request to the log."""
        if self.record_requests:
            with self._lock:
                self._log.append(request)

    def requests(self, route: str | None = None) -> list[RecordedRequest]:
        """A snapshot of the log, optionally for one route (one of `LOGGED_ROUTES`, else ValueError)."""
        if route is not None and route not in LOGGED_ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {', '.join(LOGGED_ROUTES)}")
        with self._lock:
            log = list(self._log)
        return log if route is None else [request for request in log if request.route == route]

    def plan(self, route: str, body: Any = None) -> Plan:
        """How to answer the next request on `route`: queue > fail_first > fail_every hit > always > unscripted."""
        with self._lock:
            state = self._routes[route]
            state.count += 1
            if state.idle():
                return UNSCRIPTED
            items: list[Item] = []
            if state.queue:
                items.append(state.queue.popleft())
            keyed = state.keyed_fault(body)
            if keyed is not None:
                items.append(keyed)
            elif state.every is not None and state.count % state.every[0] == 0:
                items.append(state.every[1])
            elif state.always is not None:
                items.append(state.always)
        return resolve(items)
