"""The control routes under `/_emulator/`: script a running emulator over HTTP, from any process or language.

Served only when the emulator listens on a loopback address (127.0.0.1, ::1, localhost), and only to
requests carrying the emulator's own key (`Authorization: Bearer <api_key>`). Bodies are JSON:

- `POST /_emulator/queue`      `{"route": "chat", "reply": {...}}` or `{"route": "chat", "fault": {...}}`
- `POST /_emulator/always`     the same; `POST /_emulator/fail_every` adds `"every": N`
- `POST /_emulator/clear`      `{"route": "chat"}` or `{}`: remove `always` / `fail_every` rules
- `POST /_emulator/reset`      queues, rules, request log, Batch API state, concurrency counters
- `POST /_emulator/models`     `add_model`'s keywords: `{"id": "acme/x", "kind": "chat", "pricing": {...}}`
- `GET  /_emulator/requests`   `?route=chat` optional: `{"requests": [{method, path, route, headers, body, time}]}`
  (credentials in headers and query strings are logged as `<redacted>`, all but the emulator's own key)

A reply is `Reply`'s fields (`tool_calls` items are `ToolCall`'s fields); a fault is `Fault`'s fields
with `kind`, e.g. `{"kind": "status", "status_code": 503, "headers": {"Retry-After": "1"}}`, and its
`then` is another `{"reply": ...}` or `{"fault": ...}`. Mistakes answer 400 with `{"error": "..."}`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, get_args
from urllib.parse import parse_qs

from agno_deepinfra._shared.url_logs import is_loopback
from agno_deepinfra.testing.batches import BatchApi
from agno_deepinfra.testing.capacity import ConcurrencyCap
from agno_deepinfra.testing.catalog import Catalog, model_entry
from agno_deepinfra.testing.outcome import Outcome, json_response
from agno_deepinfra.testing.script import Fault, FaultKind, Item, Reply, Script, ToolCall

PREFIX = "/_emulator/"
_FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


class ControlError(ValueError):
    """A control request the emulator cannot carry out; its text is the 400 answer's `error`."""


def host_allowed(host_header: str | None, bound: str, allowed: frozenset[str] | None) -> bool:
    """Whether a request's `Host` names this emulator: what stops DNS rebinding.

    A web page can make a browser send requests to 127.0.0.1 under its own name (its DNS answer
    changed to 127.0.0.1); the emulator's default key is public, so only the `Host` header tells
    such requests apart. On a loopback address the emulator answers loopback names and addresses,
    the address it is bound to and `allowed`; bound beyond loopback, any name unless `allowed` is
    given.
    """
    if host_header is None:
        return False
    name = host_header.strip().lower()
    if name.startswith("[") and "]" in name:  # [IPv6]:port
        name = name[1 : name.index("]")]
    elif name.count(":") == 1:  # name:port
        name = name.partition(":")[0]
    if is_loopback(name) or name == bound.lower() or (allowed is not None and name in allowed):
        return True
    return allowed is None and not is_loopback(bound)


class Control:
    """Answers `/_emulator/...` requests by driving the same script, catalog and Batch API as the routes."""

    def __init__(
        self, api_key: str, script: Script, catalog: Catalog, batch_api: BatchApi, cap: ConcurrencyCap
    ) -> None:
        self.enabled = True  # the server turns this off when it binds a non-loopback address
        self._api_key = api_key
        self._script = script
        self._catalog = catalog
        self._batch_api = batch_api
        self._cap = cap

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any) -> Outcome:
        """Authorise, then run one control request."""
        if not self.enabled:
            message = "the /_emulator/ control routes are served only when the emulator listens on 127.0.0.1"
            return Outcome(json_response(403, {"error": message}))
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self._api_key:
            return Outcome(json_response(401, {"error": "send the emulator's key: Authorization: Bearer <api_key>"}))
        path, _, query = target.partition("?")
        action = path[len(PREFIX) :]
        try:
            result = self._run(method, action, query, body)
        except ControlError as error:
            return Outcome(json_response(400, {"error": str(error)}))
        if result is None:
            return Outcome(json_response(404, {"error": f"no control route {method} {path}; see {__name__}"}))
        return Outcome(json_response(200, result))

    def _run(self, method: str, action: str, query: str, body: Any) -> dict[str, Any] | None:
        if method == "GET" and action == "requests":
            return self._requests(parse_qs(query).get("route", [None])[0])
        if method != "POST":
            return None
        data = body if body is not None else {}
        if not isinstance(data, dict):
            raise ControlError("the body must be a JSON object")
        route = data.get("route", "chat")
        try:
            if action == "queue":
                self._script.queue(parse_item(data), route)
            elif action == "always":
                self._script.always(parse_item(data), route)
            elif action == "fail_every":
                self._script.fail_every(_int(data, "every"), parse_item(data), route)
            elif action == "clear":
                self._script.clear_rules(data.get("route"))
            elif action == "reset":
                self._script.reset()
                self._batch_api.reset()
                self._cap.reset()
            elif action == "models":
                return {"model": self._add_model(data)}
            else:
                return None
        except (ValueError, TypeError) as error:
            raise ControlError(str(error)) from None
        return {"ok": True}

    def _requests(self, route: str | None) -> dict[str, Any]:
        try:
            log = self._script.requests(route)
        except ValueError as error:
            raise ControlError(str(error)) from None
        return {"requests": [dataclasses.asdict(request) for request in log]}

    def _add_model(self, data: dict[str, Any]) -> dict[str, Any]:
        fields = dict(data)
        model_id = fields.pop("id", None)
        if not isinstance(model_id, str) or not model_id:
            raise ControlError('"id" (the model id) is required')
        entry = model_entry(model_id, **fields)
        self._catalog.add(entry)
        return entry.to_json()


def parse_item(data: dict[str, Any]) -> Item:
    """The `Reply` or `Fault` in a control body: exactly one of `"reply"` and `"fault"`."""
    has_reply, has_fault = isinstance(data.get("reply"), dict), isinstance(data.get("fault"), dict)
    if has_reply == has_fault:
        raise ControlError('give exactly one of "reply" (Reply fields) and "fault" (Fault fields with "kind")')
    return _reply(data["reply"]) if has_reply else _fault(data["fault"])


def _reply(fields: dict[str, Any]) -> Reply:
    values = _known(Reply, fields)
    calls = values.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list) or not all(isinstance(call, dict) for call in calls):
            raise ControlError('"tool_calls" must be a list of objects with ToolCall fields (name, arguments, id)')
        values["tool_calls"] = [ToolCall(**_known(ToolCall, call)) for call in calls]
    return Reply(**values)


def _fault(fields: dict[str, Any]) -> Fault:
    values = _known(Fault, fields)
    if values.get("kind") not in _FAULT_KINDS:
        raise ControlError(f'"kind" must be one of {", ".join(_FAULT_KINDS)}, not {values.get("kind")!r}')
    then = values.get("then")
    if then is not None:
        if not isinstance(then, dict):
            raise ControlError('"then" must be {"reply": {...}} or {"fault": {...}}')
        values["then"] = parse_item(then)
    return Fault(**values)


def _known(cls: type, fields: dict[str, Any]) -> dict[str, Any]:
    names = [field.name for field in dataclasses.fields(cls)]
    unknown = sorted(set(fields) - set(names))
    if unknown:
        raise ControlError(f"unknown {cls.__name__} field(s) {', '.join(unknown)}; expected {', '.join(names)}")
    return dict(fields)


def _int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ControlError(f'"{name}" must be an integer, not {value!r}')
    return value
