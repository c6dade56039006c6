"""`DeepInfra`: agno's OpenAI-like chat model, made exact for DeepInfra."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import MISSING, dataclass, field, fields
from functools import partial
from os import getenv
from typing import Any, Literal

import httpx
from agno.exceptions import ModelProviderError
from agno.metrics import MessageMetrics
from agno.models.message import Message
from agno.models.openai.like import OpenAILike
from agno.models.response import ModelResponse
from agno.run.agent import RunOutput
from agno.run.team import TeamRunOutput
from openai import AsyncOpenAI, OpenAI
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from agno_deepinfra import catalog
from agno_deepinfra._shared.config import (
    API_KEY_ENV,
    ClientSetting,
    default_base_url,
    openai_url,
)
from agno_deepinfra._shared.errors import incomplete_response_error, is_retryable
from agno_deepinfra._shared.http_stack import (
    AsyncTransport,
    PerLoop,
    check_async_transport,
    sdk_timeout,
)
from agno_deepinfra._shared.limiter import Limiter, MaxConcurrency, new_limiter, set_limit
from agno_deepinfra._shared.portable import reset_after_fork, without
from agno_deepinfra._shared.records import settings_arguments, shown_repr, stored_form
from agno_deepinfra._shared.retry import RetryPolicy, check_retry_settings
from agno_deepinfra.batch.options import BatchOptions, resolve_options
from agno_deepinfra.chat import families
from agno_deepinfra.chat._attempt import DEFAULT_MODEL_ID, FailureScope, StreamScope, acreate, create
from agno_deepinfra.chat._clients import async_client, client_params, sync_client
from agno_deepinfra.chat._request import DEEPINFRA_FIELDS, ResponseFormat, chat_request, request_params
from agno_deepinfra.chat._tracing import traced_model_call
from agno_deepinfra.chat._usage import usage_metrics
from agno_deepinfra.chat.families.profiles import ModelProfile
from agno_deepinfra.model_strings import warn_if_rebuilt_as_agnos

# Not in `settings()`: the secret, live objects, and options that are not plain data.
_NOT_SETTINGS = ("api_key", "client", "async_client", "http_client", "client_params", "batch_api")
# Live connection state: never pickled, dropped in a forked child.
_LIVE = ("client", "async_client", "http_client", "_async_clients", "_loopless_client")
# agno calls `_is_retryable_error(error)` and then `_get_retry_delay(attempt)` without the error.
# The server's Retry-After travels between the two through this variable: same thread, same task.
_server_retry_hint: ContextVar[float | None] = ContextVar("agno_deepinfra_retry_hint", default=None)


@dataclass
class DeepInfra(OpenAILike):
    """A DeepInfra chat model for agno agents: a drop-in for `agno.models.deepinfra.DeepInfra`.

    Setup: `pip install agno-deepinfra` and `export DEEPINFRA_API_KEY=...`.

    Example:
        ```python
        from agno.agent import Agent
        from agno_deepinfra import DeepInfra

        agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo", retries=2))
        agent.print_response("Share a two-sentence horror story.")
        ```

    With agno's tracing on (`setup_tracing`, `AgentOS(tracing=True)`), every call is an OpenInference
    LLM span with tokens and cost (`pip install "agno-deepinfra[tracing]"`; see `_shared.tracing`).

    Attributes:
        id: DeepInfra model id (`"meta-llama/Llama-2-70b-chat-hf"` by default, as in agno's class).
        name: the model's display name in agno (`"DeepInfra"`).
        provider: the provider name in agno (`"DeepInfra"`).
        api_key: DeepInfra API key; defaults to `DEEPINFRA_API_KEY`, read again at request time if
            unset. Never shown in `repr()`, `to_dict()`, logs or errors.
        base_url: DeepInfra's OpenAI-compatible URL. Defaults to `DEEPINFRA_BASE_URL` when set, else
            `https://api.deepinfra.com/v1/openai`. Both the root form (`https://api.deepinfra.com`)
            and the `/v1/openai` form are accepted; an explicit argument always wins.
        retries: how many times agno's invocation loop retries a transient failure (408, 425, 429,
            500, 502, 503, 504, 529, connection errors, timeouts; the table is `_shared.errors.error_class`).
            Each model call makes at most `retries + 1` HTTP attempts: the openai client's own
            retries are off.
        delay_between_retries: seconds before each retry (floats accepted).
        exponential_backoff: double the delay on each retry: `delay_between_retries * 2**k` before retry k.
        max_retry_delay: upper bound, in seconds, on a wait the server asks for with `Retry-After`
            or `retry-after-ms` on a retried error (the wait is never shorter than the schedule), and on
            how long a 429 holds `max_concurrency="auto"` back.
        retry_jitter: add up to this fraction of each wait at random (0.1 = up to +10%); 0 keeps
            the documented schedule exact.
        timeout: request timeout in seconds, or an `openai.Timeout` (an `httpx.Timeout` or
            `httpx2.Timeout` is converted to the installed SDK's own type); `None` means 300 s reads
            and a 10 s connect timeout.
        http_client: an `httpx` or `httpx2` client of your own (the openai SDK accepts either): a
            `Client` serves sync calls, an `AsyncClient` async calls. It is used as given (your
            timeouts, proxies, TLS) and never closed here; without one, the model builds the SDK's
            own clients, sharing one TLS context per process.
        async_transport: the HTTP stack under `arun`: `"httpx"` (default, the openai SDK's) or
            `"aiohttp"` (the SDK's `DefaultAioHttpClient`; `pip install "agno-deepinfra[aiohttp]"`).
            aiohttp's connection pool stays cheap with hundreds of requests in flight, where
            httpx's costs grow with every queued request: about 1.9x the calls per second at 1,000
            concurrent `arun` calls in `make bench`. Sync calls always use httpx.
        max_concurrency: HTTP requests this model keeps in flight at once, in this process, across
            threads and event loops (DeepInfra allows 200 per model and account and answers 429
            beyond). `None` (default): no limit. An int: a fixed limit; callers beyond it wait
            their turn, first come first served, and never fail for waiting. `"auto"`: learn the
            limit from the server, as TCP congestion control does: start at 10, double every
            round trip (paced) until the first 429, then slowly (fast again after two round trips
            without a 429); a 429 cuts to a twentieth below what is in flight, sends nothing more
            until a request succeeds and waits out its `Retry-After` before growing; processes
            unaware of each other each back off on their own 429s. Under `"auto"` a refused
            request is retried after `Retry-After` only (the limiter holds it back until a slot
            comes free), not after the `delay_between_retries` schedule. Each HTTP attempt (each
            retry) takes a slot; copies made by agno share the limit, a pickled copy has its own.
            Settable at any time: the next request uses the new limit.
        max_retries: the openai client's own retries, 0 unless set. When set, every one of agno's
            attempts may make up to `max_retries + 1` HTTP requests, with the SDK's delays.
        top_k: sample from the k most likely tokens.
        min_p: drop tokens whose probability is below `min_p` times the top token's.
        repetition_penalty: penalise repeated tokens (1.0 = off).
        service_tier: `"default"`, `"priority"` (DeepInfra's faster, pricier tier) or `"flex"` (20%
            off; may queue up to 10 minutes, then 429: without a `timeout`, flex requests wait 11
            minutes for an answer).
        chat_template_kwargs: passed to the model's chat template, e.g. `{"enable_thinking": False}` for Qwen3.
        prompt_cache_key: groups requests that share a prompt prefix for DeepInfra's prompt cache.
        reasoning: DeepInfra's reasoning settings, e.g. `{"effort": "low"}` or `{"enabled": False}`.
        max_completion_tokens: sent as DeepInfra's `max_tokens` (it wins over `max_tokens`).
        extra_body: extra top-level JSON fields; they win over the DeepInfra fields above when both set a key.
        supports_json_schema_outputs: send `json_schema` response formats for `output_schema`
            instead of JSON mode. Set from the model's profile when it is built (its
            structured-output ladder); JSON mode is not universal on DeepInfra either: a model
            that answers 405 to a format steps down its ladder (json_schema, json_object, agno's
            JSON prompt alone) and is remembered, with no retry needed (see `families`).
        profile: what the model's family needs (`agno_deepinfra.ModelProfile`): leaked tool calls
            recovered, reasoning sent back, tool-call id form, role rules, structured-output
            ladder. Chosen from the id by default; pass a `ModelProfile`, a family name
            (`"qwen"`, `"kimi"`, `"mistral"`, ...) or a dict of changes to the id's profile
            (`{"tool_markup": ()}` switches tool-call recovery off). See README "Open model families".
        batch_api: run every call through DeepInfra's Batch API at 20% off: `True`, or
            `agno_deepinfra.BatchOptions(window=..., max_requests=..., poll_interval=..., journal=...)`.
            Calls wait for their batch (minutes to hours); see `agno_deepinfra.batch`.
        session_prompt_cache: when a run has an agno session and no `prompt_cache_key` is set,
            send a key derived from agno's user and session ids (hashed; see `chat._session_cache`),
            so one conversation keeps hitting DeepInfra's prompt cache. `False` switches it off.
        supports_native_structured_outputs: agno's switch for OpenAI's native structured outputs;
            off here, so `output_schema` uses DeepInfra's JSON mode unless
            `supports_json_schema_outputs` is set.
        client: an `openai.OpenAI` client of your own for sync calls (used as given, never closed here).
        async_client: an `openai.AsyncOpenAI` client of your own for async calls, on one event loop.
    """

    id: str = DEFAULT_MODEL_ID
    name: str = "DeepInfra"
    provider: str = "DeepInfra"
    # Equality means "same configuration": keys and live clients do not take part.
    api_key: str | None = field(default_factory=lambda: getenv(API_KEY_ENV), repr=False, compare=False)
    base_url: str | httpx.URL | None = field(default_factory=default_base_url)  # a str once built

    retries: int = 0
    delay_between_retries: float = 1  # type: ignore[assignment]  # agno says int; floats work
    exponential_backoff: bool = False
    # Client settings, not model identity: kept out of agno's judge and policy fingerprints.
    max_retry_delay: ClientSetting[float] = ClientSetting(60.0)
    retry_jitter: ClientSetting[float] = ClientSetting(0.0)
    async_transport: ClientSetting[AsyncTransport] = ClientSetting("httpx")
    max_concurrency: ClientSetting[MaxConcurrency] = ClientSetting(None, on_set=set_limit)
    batch_api: ClientSetting[bool | BatchOptions | None] = ClientSetting(None)
    session_prompt_cache: ClientSetting[bool] = ClientSetting(True)
    profile: ClientSetting[ModelProfile | str | dict[str, Any] | None] = ClientSetting(None)

    top_k: int | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    service_tier: Literal["default", "priority", "flex"] | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    prompt_cache_key: str | None = None
    reasoning: dict[str, Any] | None = None

    supports_native_structured_outputs: bool = False

    client: OpenAI | None = field(default=None, repr=False, compare=False)
    async_client: AsyncOpenAI | None = field(default=None, repr=False, compare=False)
    # An httpx or httpx2 client of the caller's (the SDK accepts either), never closed here.
    http_client: Any = field(default=None, repr=False, compare=False)

    # One async client per event loop: an AsyncOpenAI client cannot outlive the loop it was used on.
    # Each with the shutdown hook that closes it with its loop (None for a caller's http client).
    _async_clients: PerLoop[AsyncOpenAI] = field(default_factory=PerLoop, init=False, repr=False, compare=False)
    _limiter: Limiter | None = field(default=None, init=False, repr=False, compare=False)

    # The client `get_async_client()` hands out when no event loop runs (see there).
    _loopless_client: AsyncOpenAI | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.base_url = openai_url(str(self.base_url or default_base_url()))
        if self.timeout is not None:  # an httpx or httpx2 Timeout becomes the SDK's own type
            self.timeout = sdk_timeout(self.timeout)  # type: ignore[assignment]  # agno says float
        check_async_transport(self.async_transport)
        self.batch_api = resolve_options(self.batch_api)
        self._limiter = new_limiter(self.max_concurrency)
        check_retry_settings(self)
        if "json_schema" in self.model_profile().structured_output:  # agno reads it before the run
            self.supports_json_schema_outputs = True
        reset_after_fork(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> DeepInfra:
        copied: DeepInfra = super().__deepcopy__(memo)
        copied.http_client = self.http_client  # the caller's, shared (agno's copy drops it)
        copied._async_clients = PerLoop()
        copied._loopless_client = None
        return copied

    # A pickle or a forked child carries the settings (the API key included), never live clients:
    # the copy builds its own on first use, as agno's deepcopy does (see `_shared.portable`).
    def __getstate__(self) -> dict[str, Any]:
        return without(vars(self), *_LIVE)

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._after_fork()  # fresh empty client slots, as in a forked child
        reset_after_fork(self)

    def _after_fork(self) -> None:
        vars(self).update(dict.fromkeys(_LIVE), _async_clients=PerLoop())

    # ----------------------------------------------------------------------------------- clients

    def _get_client_params(self) -> dict[str, Any]:
        """Client settings; raises `ModelAuthenticationError` before any request when no key is set."""
        return client_params(self)

    def get_client(self) -> OpenAI:
        """The sync client (a client supplied by the caller wins), on the SDK's HTTP stack (see `chat._clients`)."""
        return sync_client(self)

    def get_async_client(self) -> AsyncOpenAI:
        """The async client for the running event loop (a client supplied by the caller wins; see `chat._clients`)."""
        return async_client(self)

    # ------------------------------------------------------------------------------ request body

    def model_profile(self) -> ModelProfile:
        """What this model's family needs: `profile=` or the id's family, under what a 400 taught (see `families`)."""
        url = self._catalog_url
        return families.profile_of(self.id, self.profile, catalog.cached_tags(url, self.id), url)

    def _format_all_messages(
        self, messages: list[Message], compress_tool_results: bool = False
    ) -> list[dict[str, Any]]:
        """agno's message formatting, shaped to the model's family (ids, arguments, reasoning, roles)."""
        return families.format_messages(self, messages, compress_tool_results, self.model_profile())

    def get_request_params(
        self,
        response_format: ResponseFormat = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        run_response: RunOutput | TeamRunOutput | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments for `chat.completions.create`, DeepInfra fields in `extra_body` (see `chat._request`)."""
        return request_params(self, response_format, tools, tool_choice, run_response)

    def _chat_request(
        self,
        messages: list[Message],
        response_format: ResponseFormat,
        tools: list[dict[str, Any]] | None,
        tool_choice: str | dict[str, Any] | None,
        run_response: RunOutput | TeamRunOutput | None,
        compress_tool_results: bool,
        stream: bool = False,
    ) -> dict[str, Any]:
        """Keyword arguments for `chat.completions.create`, shared by the four paths (see `chat._request`)."""
        params = self.get_request_params(response_format, tools, tool_choice, run_response)
        wire_messages = families.format_messages(self, messages, compress_tool_results, self.model_profile())
        return chat_request(self, params, wire_messages, stream)

    def _builder(self, *chat_request_args: Any) -> Callable[[], dict[str, Any]]:
        """`_chat_request(*chat_request_args)` to call: `_create` builds the request again after a lesson."""
        return partial(self._chat_request, *chat_request_args)

    @property
    def _catalog_url(self) -> str:
        return str(self.base_url)

    def _create(self, request: dict[str, Any], rebuild: Callable[[], dict[str, Any]] | None = None) -> Any:
        """`chat.completions.create`, with a 404's case correction, a 405's step down, a reasoning 400's resend."""
        return create(self, request, rebuild)

    async def _acreate(self, request: dict[str, Any], rebuild: Callable[[], dict[str, Any]] | None = None) -> Any:
        """Async twin of `_create`; the catalog is fetched without blocking the event loop."""
        return await acreate(self, request, rebuild)

    # ------------------------------------------------------------------- the four entry points
    # `traced_model_call`: an OpenInference LLM span per call while agno's tracing is on (see `_shared.tracing`).

    @traced_model_call
    def invoke(
        self,
        messages: list[Message],
        assistant_message: Message,
        response_format: ResponseFormat = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        run_response: RunOutput | TeamRunOutput | None = None,
        compress_tool_results: bool = False,
    ) -> ModelResponse:
        """One chat completion; failures raise agno's exceptions (see `_shared.errors`)."""
        build = self._builder(messages, response_format, tools, tool_choice, run_response, compress_tool_results)
        request = build()
        with FailureScope(self):
            assistant_message.metrics.start_timer()
            completion = self._create(request, build)
            assistant_message.metrics.stop_timer()
        return self._parse_reply(completion, request, response_format)

    @traced_model_call
    async def ainvoke(
        self,
        messages: list[Message],
        assistant_message: Message,
        response_format: ResponseFormat = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        run_response: RunOutput | TeamRunOutput | None = None,
        compress_tool_results: bool = False,
    ) -> ModelResponse:
        """Async twin of `invoke`."""
        build = self._builder(messages, response_format, tools, tool_choice, run_response, compress_tool_results)
        request = build()
        async with FailureScope(self):
            assistant_message.metrics.start_timer()
            completion = await self._acreate(request, build)
            assistant_message.metrics.stop_timer()
        return self._parse_reply(completion, request, response_format)

    @traced_model_call
    def invoke_stream(
        self,
        messages: list[Message],
        assistant_message: Message,
        response_format: ResponseFormat = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        run_response: RunOutput | TeamRunOutput | None = None,
        compress_tool_results: bool = False,
    ) -> Iterator[ModelResponse]:
        """A streamed chat completion; retried by agno only until output reaches the consumer."""
        build = self._builder(messages, response_format, tools, tool_choice, run_response, compress_tool_results, True)
        request = build()
        with StreamScope(self, request) as scope:
            assistant_message.metrics.start_timer()
            with self._create(request, build) as stream:
                for chunk in stream:
                    yield scope.deliver(chunk)
            scope.ended()
            assistant_message.metrics.stop_timer()

    @traced_model_call
    async def ainvoke_stream(
        self,
        messages: list[Message],
        assistant_message: Message,
        response_format: ResponseFormat = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        run_response: RunOutput | TeamRunOutput | None = None,
        compress_tool_results: bool = False,
    ) -> AsyncIterator[ModelResponse]:
        """Async twin of `invoke_stream`."""
        build = self._builder(messages, response_format, tools, tool_choice, run_response, compress_tool_results, True)
        request = build()
        async with StreamScope(self, request) as scope:
            assistant_message.metrics.start_timer()
            async with await self._acreate(request, build) as stream:
                async for chunk in stream:
                    yield scope.deliver(chunk)
            scope.ended()
            assistant_message.metrics.stop_timer()

    # --------------------------------------------------------------------- agno's retry hooks

    def _is_retryable_error(self, error: ModelProviderError) -> bool:
        """Called by agno's loop on every failed attempt; see `_shared.retry.is_retryable`."""
        retryable = is_retryable(error)
        _server_retry_hint.set(getattr(error, "retry_after", None) if retryable else None)
        return retryable

    def _get_retry_delay(self, attempt: int) -> float:
        """Seconds agno's loop sleeps before retry `attempt` (0-based), honouring `Retry-After`."""
        hint = _server_retry_hint.get()
        _server_retry_hint.set(None)
        return RetryPolicy.of(self).delay_before(attempt, hint)

    # ------------------------------------------------------------------------------- responses

    def _parse_provider_response(  # type: ignore[override]  # OpenAIChat's signature, itself narrower than Model's
        self, response: ChatCompletion, response_format: dict[Any, Any] | type[BaseModel] | None = None
    ) -> ModelResponse:
        """agno's parsing, after checking the response has a choice to parse."""
        if not response.choices:
            raise incomplete_response_error("no choices", model_id=self.id, model_name=self.name)
        return super()._parse_provider_response(response, response_format=response_format)

    def _parse_reply(
        self, completion: ChatCompletion, request: dict[str, Any], response_format: ResponseFormat
    ) -> ModelResponse:
        """A whole reply parsed, then repaired for the model's family (see `families.repair_response`)."""
        response = self._parse_provider_response(completion, response_format=response_format)
        finish = completion.choices[0].finish_reason
        return families.repair_response(response, finish, self.model_profile(), request["extra_body"], self.id)

    # --------------------------------------------------------------------------------- metrics

    def _get_metrics(self, response_usage: CompletionUsage) -> MessageMetrics:
        """agno's token metrics plus DeepInfra's `usage.estimated_cost` (USD) as `cost`.

        The usage may be the SDK's model, a dict or any object with the fields (see `chat._usage`).
        """
        return usage_metrics(response_usage)

    # --------------------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        """What agno stores for this model in sessions and saved agents: plain JSON, never the key.

        agno's own fields (name, id, provider and the request parameters `OpenAIChat` writes) plus
        DeepInfra's request fields. It is a record, not a recipe: agno rebuilds a stored model from
        its provider and id alone, so client settings (base URL, key, retries, timeouts, transport)
        are not written. To get a configured model back, register it in agno's `Registry`.
        """
        warn_if_rebuilt_as_agnos(sys._getframe(1))
        data = super().to_dict()
        data.update({name: value for name in DEEPINFRA_FIELDS if (value := getattr(self, name)) is not None})
        return stored_form(data)

    def __repr__(self) -> str:
        """The dataclass's repr with every credential redacted and no header or `client_params` value."""
        return shown_repr(self, ((spec.name, getattr(self, spec.name)) for spec in fields(self) if spec.repr))

    def settings(self) -> dict[str, Any]:
        """Every constructor argument that differs from its default, as JSON, never a credential.

        The recipe `to_dict()` is not: what a Celery task or a config file needs to build the same
        model elsewhere with `DeepInfra.from_settings(...)` (the key comes from the environment
        there). Live clients, `client_params` and `batch_api` options (callbacks) do not travel;
        the base URL always does. Credentials in headers, URLs, query strings and `extra_*` values
        are written as `"<redacted>"` (`from_settings` asks for them again).
        """
        chosen = {
            spec.name: value
            for spec in fields(self)
            if spec.init and spec.name not in _NOT_SETTINGS
            if (value := getattr(self, spec.name)) is not None and (spec.default is MISSING or value != spec.default)
        }
        return stored_form(chosen)

    @classmethod
    def from_settings(
        cls, settings: dict[str, Any], *, trusted_base_urls: Iterable[str] = (), **overrides: Any
    ) -> DeepInfra:
        """Build a model from `settings()` output (a timeout comes back as an `openai.Timeout`).

        The settings are data from elsewhere (a task message), so they may not choose where the
        key goes: their `base_url` must be DeepInfra's, `DEEPINFRA_BASE_URL`, or one the calling
        code names in `trusted_base_urls` (or passes as `base_url=`). A credential written out
        redacted (a secret header, query parameter or `extra_body` value) must be supplied again
        as an argument: it is never sent as the placeholder.

        Args:
            settings: what `settings()` wrote.
            trusted_base_urls: other base URLs the settings may name (root or `/v1/openai` form; one
                may be given as a plain string).
            **overrides: constructor arguments that win over the settings (the key, headers...).

        Raises:
            ValueError: an untrusted `base_url`, a redacted credential not supplied, or a field
                `settings()` never writes (the key, clients, `client_params`, `batch_api`).
        """
        arguments = settings_arguments(settings, overrides, _NOT_SETTINGS, trusted_base_urls)
        if isinstance(arguments.get("timeout"), dict):
            arguments["timeout"] = sdk_timeout(arguments["timeout"])
        return cls(**arguments)
