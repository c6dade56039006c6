"""The request body: DeepInfra's fields, agno's tools and formats on the wire, ready for `create`.

The body is built wire-ready and travels whole in `extra_body`, which the SDK sends as given and
merges over its keywords. Passed as keywords, it would be re-validated field by field against the
SDK's TypedDicts (`maybe_transform`): in `make bench`'s profile of 2026-11-22, 334 µs per call for
agno's class against 94 µs here, for a body that needs nothing done to it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

import openai
from agno.run.agent import RunOutput
from agno.run.team import TeamRunOutput
from pydantic import BaseModel

from agno_deepinfra import catalog
from agno_deepinfra._shared.http_stack import sdk_timeout
from agno_deepinfra.chat import families
from agno_deepinfra.chat._session_cache import session_cache_key
from agno_deepinfra.chat.families.profiles import ModelProfile


class RequestOwner(Protocol):
    """What building a request reads of the chat model (besides the `SDK_FIELDS` and `DEEPINFRA_FIELDS`)."""

    id: str
    name: str
    max_tokens: int | None
    max_completion_tokens: int | None
    request_params: dict[str, Any] | None
    extra_body: dict[str, Any] | None
    session_prompt_cache: bool
    strict_output: bool
    timeout: Any

    @property
    def _catalog_url(self) -> str: ...

    def model_profile(self) -> ModelProfile: ...


ResponseFormat = dict[str, Any] | type[BaseModel] | None

# `service_tier="flex"` may queue up to 10 minutes before DeepInfra answers (or 429s): the read
# timeout of a flex request without an explicit `timeout` outlasts that queue.
FLEX_TIMEOUT = openai.Timeout(660.0, connect=10.0)

# Request fields the openai SDK accepts as keyword arguments, sent when set.
SDK_FIELDS = (
    "store",
    "reasoning_effort",
    "verbosity",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "modalities",
    "audio",
    "presence_penalty",
    "seed",
    "stop",
    "temperature",
    "user",
    "top_p",
    "extra_headers",
    "extra_query",
    "metadata",
    "service_tier",
)
# DeepInfra-only fields: the SDK rejects unknown keywords, so these travel in `extra_body`.
DEEPINFRA_FIELDS = ("top_k", "min_p", "repetition_penalty", "chat_template_kwargs", "prompt_cache_key", "reasoning")
# `create()` keywords that are request options, not body fields.
_CALL_OPTIONS = ("extra_body", "extra_headers", "extra_query", "timeout")
# `create()` keywords that are request options, not body fields.
_CALL_OPTIONS = ("extra_body", "extra_headers", "extra_query", "timeout")
# agno marks tools with these keys for its own bookkeeping; they are not part of the wire format.
_AGNO_TOOL_KEYS = ("requires_confirmation", "external_execution", "approval_type")


def request_params(
    model: RequestOwner,
    response_format: ResponseFormat,
    tools: list[dict[str, Any]] | None,
    tool_choice: str | dict[str, Any] | None,
    run_response: RunOutput | TeamRunOutput | None,
) -> dict[str, Any]:
    """`DeepInfra.get_request_params`: keyword arguments for `create`, DeepInfra's fields in `extra_body`."""
    params = {name: value for name in SDK_FIELDS if (value := getattr(model, name)) is not None}
    max_tokens = model.max_completion_tokens if model.max_completion_tokens is not None else model.max_tokens
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    request_params = dict(model.request_params or {})
    # Later wins, and every layer is copied, never mutated: the typed DeepInfra fields, then
    # `extra_body=`, then an `extra_body` inside `request_params` (merged, not replacing the rest).
    extra_body = {name: value for name in DEEPINFRA_FIELDS if (value := getattr(model, name)) is not None}
    extra_body.update(model.extra_body or {})
    extra_body.update(request_params.pop("extra_body", None) or {})
    session_key = session_cache_key(run_response) if model.session_prompt_cache else None
    if session_key is not None and "prompt_cache_key" not in extra_body:
        extra_body["prompt_cache_key"] = session_key  # an explicit key wins
    if extra_body:
        params["extra_body"] = extra_body
    if response_format is not None:
        params["response_format"] = _wire_response_format(response_format, model.strict_output)
    if tools:
        params["tools"] = [_wire_tool(tool) for tool in tools]
        if tool_choice is not None:
            params["tool_choice"] = tool_choice
    params.update(request_params)
    return params


def chat_request(
    model: RequestOwner, params: dict[str, Any], wire_messages: list[dict[str, Any]], stream: bool
) -> dict[str, Any]:
    """Keyword arguments for `create`: `params` and the formatted messages as one wire-ready body."""
    options = {key: params.pop(key) for key in _CALL_OPTIONS if key in params}
    if "timeout" in options:  # a per-request timeout from `request_params`
        options["timeout"] = sdk_timeout(options["timeout"])
    model_id = catalog.spelling(model.id, model._catalog_url)  # the id, or its case correction (see `_create`)
    body = {"model": model_id, "messages": wire_messages, **params}
    if stream:
        body.setdefault("stream_options", {"include_usage": True})
        options["stream"] = True  # a keyword: it decides what `create` returns
    body.update(options.pop("extra_body", None) or {})  # the caller's extra_body wins, as with the SDK
    families.shape_request(body, model.model_profile(), model._catalog_url, model.name)
    if body.get("service_tier") == "flex" and model.timeout is None:
        options.setdefault("timeout", FLEX_TIMEOUT)
    return {"model": model_id, "messages": (), "extra_body": body, **options}


def for_model(request: dict[str, Any], model_id: str) -> dict[str, Any]:
    """The request with `model_id` as the model, in the keyword and in the body."""
    return {**request, "model": model_id, "extra_body": {**request["extra_body"], "model": model_id}}


def _wire_response_format(response_format: dict[str, Any] | type[BaseModel], strict: bool) -> dict[str, Any]:
    if isinstance(response_format, dict):
        return response_format
    return {
        "type": "json_schema",
        "json_schema": {"name": response_format.__name__, "schema": _json_schema(response_format), "strict": strict},
    }


@lru_cache(maxsize=256)
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """Pydantic schema conversion is slow and the schema of a class never changes: do it once."""
    from agno.utils.models.schema_utils import get_response_schema_for_provider

    return get_response_schema_for_provider(schema, "openai")


def _wire_tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, dict):
        return tool
    if not any(key in function for key in _AGNO_TOOL_KEYS):
        return tool
    cleaned = {key: value for key, value in function.items() if key not in _AGNO_TOOL_KEYS}
    return {**tool, "function": cleaned}
