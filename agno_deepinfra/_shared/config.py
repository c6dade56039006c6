"""Where the API key and base URL come from: one lazy resolution shared by every class."""

from __future__ import annotations

import logging
from collections.abc import Callable
from os import getenv
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from agno_deepinfra._shared.url_logs import guard_url_logs, is_loopback, origin

API_KEY_ENV = "DEEPINFRA_API_KEY"
BASE_URL_ENV = "DEEPINFRA_BASE_URL"
ROOT_URL = "https://api.deepinfra.com"
OPENAI_PATH = "/v1/openai"
DEFAULT_BASE_URL = ROOT_URL + OPENAI_PATH

logger = logging.getLogger("agno_deepinfra")  # the package's one logger: every module logs through it
guard_url_logs()  # httpx's request log never shows a credential in a URL (see `_shared.url_logs`)


def openai_url(url: str) -> str:
    """Return the OpenAI-compatible URL (`.../v1/openai`) for a root or `/v1/openai` URL.

    Raises:
        ValueError: the URL is not an http(s) URL, or it carries a query string or fragment (the
            paths would be appended after it; the message never repeats the query, which may hold a key).
    """
    cleaned = str(url).strip().rstrip("/")
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"DeepInfra base URL must be an http(s) URL such as {DEFAULT_BASE_URL!r} or {ROOT_URL!r}; got {url!r}."
        )
    if parts.query or parts.fragment or cleaned.endswith(("?", "#")):
        raise ValueError(
            f"DeepInfra base URL {origin(cleaned)}{parts.path} must not carry a query string or fragment: pass "
            "query parameters with default_query={...} (DeepInfra) or extra_query in request_params."
        )
    return cleaned if cleaned.endswith(OPENAI_PATH) else cleaned + OPENAI_PATH


def root_url(url: str) -> str:
    """Return DeepInfra's root URL (for `/v1/inference/...`) from a root or `/v1/openai` URL."""
    return openai_url(url)[: -len(OPENAI_PATH)]


def default_base_url() -> str:
    """`DEEPINFRA_BASE_URL` when set (root or `/v1/openai` form), else DeepInfra's public endpoint."""
    from_env = getenv(BASE_URL_ENV)
    return openai_url(from_env) if from_env else DEFAULT_BASE_URL


def resolve_api_key(explicit: str | None) -> str | None:
    """The explicit key, else `DEEPINFRA_API_KEY` read now (so a key exported after construction counts)."""
    return explicit or getenv(API_KEY_ENV) or None


def missing_key_message(owner: str) -> str:
    """What to tell a user who has no key configured."""
    return (
        f"{API_KEY_ENV} is not set: {owner} needs a DeepInfra API key. Export {API_KEY_ENV}=<your key> "
        f"(create one at https://deepinfra.com/dash/api_keys) or pass api_key=... to {owner}."
    )


def warn_if_insecure(url: str) -> None:
    """Log a warning when the API key would travel in clear text to a host other than this machine."""
    parts = urlsplit(url)
    if parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return
    logger.warning(
        "DeepInfra base URL %s uses plain http: the API key would be sent unencrypted. Use https.", origin(url)
    )


T = TypeVar("T")


class ClientSetting(Generic[T]):
    """A model field that configures the client (how it retries, what it runs on), not the model.

    agno fingerprints a model for its judges and environments from its public attributes
    (`vars(model)`), skipping private names and its own retry fields. A plain dataclass field such
    as `max_retry_delay` would make an evaluation look changed when only the way the client retries
    changed. Used as a dataclass field's default, this descriptor keeps the argument's name in the
    constructor, `repr()` and equality, while the value lives under `_<name>`, which agno skips.


    `on_set(instance, value)`, when given, runs after every assignment (the constructor's too),
    for a setting whose change must reach live state (`max_concurrency` rebuilds the limiter).
    agno's `deepcopy` and unpickling write `_<name>` directly, so they never run it.
    """

    def __init__(self, default: T, on_set: Callable[[Any, T], None] | None = None) -> None:
        self.default = default
        self.on_set = on_set
        self.private = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.private = "_" + name

    def __get__(self, instance: object | None, owner: type) -> T:
        # On the class, the default: that is how a dataclass learns a descriptor field's default.
        if instance is None:
            return self.default
        value: T = instance.__dict__.get(self.private, self.default)
        return value

    def __set__(self, instance: object, value: T) -> None:
        if self.on_set is not None:
            self.on_set(instance, value)  # first: a refused value is never stored
        instance.__dict__[self.private] = value
