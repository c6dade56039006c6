"""Request handling independent of the transport: routing, recording, auth, validation and the script."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from agno_deepinfra._shared.redact import REDACTED, is_secret_name, is_secret_value, redact_url
from agno_deepinfra.testing.batches import BatchApi
from agno_deepinfra.testing.capacity import ConcurrencyCap
from agno_deepinfra.testing.catalog import Catalog
from agno_deepinfra.testing.chat import prepare_chat
from agno_deepinfra.testing.chat_wire import StreamUsage
from agno_deepinfra.testing.completions import prepare_completions
from agno_deepinfra.testing.control import PREFIX as CONTROL_PREFIX
from agno_deepinfra.testing.control import Control
from agno_deepinfra.testing.endpoints import prepare_embeddings, prepare_inference, prepare_models
from agno_deepinfra.testing.errors import detail_error, field_error, not_found, status_message, validation_error
from agno_deepinfra.testing.media import PREPARERS as MEDIA_PREPARERS
from agno_deepinfra.testing.media import ROUTES as MEDIA_ROUTES
from agno_deepinfra.testing.media import is_form, loggable, parse_form
from agno_deepinfra.testing.native import prepare_model_info
from agno_deepinfra.testing.outcome import Action, ApiError, Outcome, fault_action, json_response
from agno_deepinfra.testing.script import Fault, RecordedRequest, Reply, Script

Renderer = Callable[[Reply | None, Fault | None], Action]

# path -> (route, method)
_EXACT: dict[str, tuple[str, str]] = {
    "/v1/openai/chat/completions": ("chat", "POST"),
    "/v1/openai/completions": ("completions", "POST"),
    "/v1/openai/embeddings": ("embeddings", "POST"),
    "/v1/openai/models": ("models", "GET"),
    **MEDIA_ROUTES,
}
# prefix -> (route, method); the rest of the path is a model id, which may contain slashes.
_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("/v1/inference/", "inference", "POST"),
    ("/v1/openai/models/", "models", "GET"),
    ("/models/", "models", "GET"),
)

# Routes whose body names the model the request runs on: each counts against that model's cap.
_MODEL_ROUTES = frozenset({"chat", "completions", "embeddings", *MEDIA_PREPARERS})

NOT_FOUND = Outcome(json_response(404, not_found()))
METHOD_NOT_ALLOWED = Outcome(json_response(405, {"detail": "Method Not Allowed"}))
UNAUTHORIZED = Outcome(json_response(401, detail_error(status_message(401))))


def match_route(path: str) -> tuple[str, str, str | None] | None:
    """(route, allowed method, model id in the path) for a known path, else None."""
    exact = _EXACT.get(path)
    if exact is not None:
        return exact[0], exact[1], None
    for prefix, route, method in _PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            return route, method, unquote(path[len(prefix) :])
    return None


def _batch_route(path: str) -> str | None:
    """ "files" or "batches" for the Batch API's paths (see `testing/batches.py`), else None."""
    for route in ("files", "batches"):
        if path == f"/v1/openai/{route}" or path.startswith(f"/v1/openai/{route}/"):
            return route
    return None


def parse_json(body: bytes) -> tuple[Any, str | None]:
    """(parsed body, None) or (None, decoder message); an empty body parses to None."""
    if not body:
        return None, None
    try:
        return json.loads(body), None
    except ValueError as error:
        return None, str(error).split(":")[0]


class App:
    """Turns one HTTP request into an `Outcome`; pure computation, so it runs inline on the event loop."""

    def __init__(
        self,
        api_key: str,
        catalog: Catalog,
        script: Script,
        batch_api: BatchApi | None = None,
        cap: ConcurrencyCap | None = None,
        service_time: float = 0.0,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("the emulator's api_key must be a non-empty string: requests are checked against it")
        self.catalog = catalog
        self.script = script
        self.batch_api = batch_api or BatchApi(catalog)
        self.prompt_cache = self.batch_api.prompt_cache
        self.api_key = api_key
        self.cap = cap or ConcurrencyCap()
        self.service_time = service_time  # seconds every admitted model request takes, before its answer
        self._bearer = f"Bearer {api_key}"
        self.stream_usage: StreamUsage = "deepinfra"  # where streams carry usage; see chat_wire.StreamUsage
        self.control = Control(api_key, script, catalog, self.batch_api, self.cap)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Outcome:
        """Record the request, then answer it: errors first, then the script, then the endpoint."""
        path = target.partition("?")[0]
        matched = match_route(path)
        form = is_form(headers)
        parsed, json_problem = parse_form(headers, body) if form else parse_json(body)
        if path.startswith(CONTROL_PREFIX):  # scripting over HTTP; never logged (see testing/control.py)
            if json_problem is not None:
                return Outcome(json_response(400, {"error": f"the body is not JSON: {json_problem}"}))
            return self.control.handle(method, target, headers, parsed)
        batch_route = _batch_route(path)
        route = matched[0] if matched else (batch_route or "unknown")
        if self.script.record_requests:  # credentials redacted (`_loggable_headers`), even in the path's query
            logged = loggable(parsed) if form else parsed
            shown_target = redact_url(target) if "?" in target else target
            shown = RecordedRequest(
                method, shown_target, route, self._loggable_headers(headers), logged, time.monotonic()
            )
            self.script.record(shown)
        if batch_route is not None and json_problem is None:
            if not self._authorized(headers):
                return UNAUTHORIZED
            return self.batch_api.handle(method, path, target.partition("?")[2], parsed)
        if matched is None:
            return NOT_FOUND
        route, allowed, path_model = matched
        if method != allowed:
            return METHOD_NOT_ALLOWED
        if route != "models" and not self._authorized(headers):
            return UNAUTHORIZED
        if json_problem is not None:
            item = field_error((0,), "JSON decode error", "json_invalid", {}) | {"ctx": {"error": json_problem}}
            return Outcome(json_response(422, validation_error([item])))
        try:
            render = self._prepare(route, path_model, parsed, native=path.startswith("/models/"))
        except ApiError as error:
            return Outcome(error.response)
        model = _model_of(route, path_model, parsed)
        if model is not None:
            rejected = self.cap.admit(model)
            if rejected is not None:
                return rejected
        plan = self.script.plan(route, parsed)
        delay = plan.delay + (self.service_time if model is not None else 0.0)
        if plan.terminal is not None:
            return Outcome(fault_action(plan.terminal), delay, model)
        return Outcome(render(plan.reply, plan.modifier), delay, model)

    def release(self, outcome: Outcome) -> None:
        """The outcome was carried out (or its connection died): free its cap slot."""
        if outcome.slot is not None:
            self.cap.release(outcome.slot)

    def _loggable_headers(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers as the request log keeps them: credentials redacted by the package's rule.

        The emulator's own key stays (every reader of the log, local or over the control routes,
        holds it already, and tests check it was sent); any other credential, such as a real
        DeepInfra key sent here by mistake, is never stored or served back.
        """
        own = (self.api_key, self._bearer)
        return {
            name: REDACTED if (is_secret_name(name) or is_secret_value(value)) and value not in own else value
            for name, value in headers.items()
        }

    def _authorized(self, headers: dict[str, str]) -> bool:
        value = headers.get("authorization", "")
        if value == self._bearer:
            return True
        scheme, _, token = value.partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.api_key

    def _prepare(self, route: str, path_model: str | None, body: Any, native: bool = False) -> Renderer:
        if route == "chat":
            return prepare_chat(body, self.catalog, self.stream_usage, self.prompt_cache)
        if route == "completions":
            return prepare_completions(body, self.catalog, self.stream_usage)
        if native and path_model is not None:  # `/models/...`: DeepInfra's native shapes, not OpenAI's
            return prepare_model_info(path_model, self.catalog)
        if route == "embeddings":
            return prepare_embeddings(body, self.catalog)
        if route == "inference":
            return prepare_inference(path_model or "", body, self.catalog)
        if route in MEDIA_PREPARERS:
            return MEDIA_PREPARERS[route](body, self.catalog)
        return prepare_models(path_model, self.catalog)


def _model_of(route: str, path_model: str | None, body: Any) -> str | None:
    """The model a request runs on (what DeepInfra's per-model cap counts), None for catalog reads.

    Every route that runs a model counts: chat, the legacy completions, embeddings, the media routes
    (images, speech, transcriptions: their model is a JSON or a form field) and native inference.
    """
    if route == "inference":
        return path_model
    if route in _MODEL_ROUTES and isinstance(body, dict):
        return str(body.get("model"))
    return None
