"""What agno stores of a model: plain JSON, with no credential in it (see `_shared.redact`).

agno writes `model.to_dict()` into every session record and saved agent, and skips saving the
whole session (with only a warning) when `json.dumps` refuses a value: the next turn then goes
out without history. So the record is made JSON here, whatever the constructor was given.

Also the way back: `settings_arguments` checks what a `settings()` message may decide before
`DeepInfra.from_settings` builds a model from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from os import getenv
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agno_deepinfra._shared.config import BASE_URL_ENV, DEFAULT_BASE_URL, default_base_url, openai_url
from agno_deepinfra._shared.redact import REDACTED, placeholders, redact_url, redacted


def stored_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` as JSON types only, every credential in it redacted (the rule is `_shared.redact`'s)."""
    record: dict[str, Any] = redacted({str(key): jsonable(value) for key, value in data.items()})
    return record


def jsonable(value: Any) -> Any:
    """The closest JSON value: containers element-wise, timeouts as their dict, the rest as text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    as_dict = getattr(value, "as_dict", None)  # httpx.Timeout (and httpx2's, under openai 3)
    if callable(as_dict):
        return jsonable(as_dict())
    model_dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(model_dump):
        return jsonable(model_dump(mode="json"))
    return str(value)  # URLs, paths, decimals: their text is what a reader of the record wants


# Fields whose values `repr()` never shows, only their names: headers and the client's own options.
_OPAQUE_IN_REPR = ("default_headers", "extra_headers", "client_params")


def shown_repr(owner: object, items: Iterable[tuple[str, Any]]) -> str:
    """`Owner(name=value, ...)` for `repr()`, each value as `shown_in_repr` shows it."""
    shown = (f"{name}={shown_in_repr(name, value)!r}" for name, value in items)
    return f"{type(owner).__name__}({', '.join(shown)})"


def shown_in_repr(name: str, value: Any) -> Any:
    """What `repr()` shows of field `name`: credentials redacted, header and client option values hidden."""
    if isinstance(value, Mapping):
        if name in _OPAQUE_IN_REPR:
            return dict.fromkeys(value, REDACTED)
        if name == "request_params":  # its headers hidden too, then the rule as everywhere
            value = {key: dict.fromkeys(item, REDACTED) if _opaque(key, item) else item for key, item in value.items()}
    return redacted(value)


def _opaque(name: Any, value: Any) -> bool:
    return name in _OPAQUE_IN_REPR and isinstance(value, Mapping)


def settings_arguments(
    settings: Mapping[str, Any], overrides: Mapping[str, Any], not_settings: tuple[str, ...], trusted: Iterable[str]
) -> dict[str, Any]:
    """The constructor arguments for `from_settings`: the settings, checked, under the caller's overrides.

    Settings come from elsewhere (a task message); what they may decide is limited:
    - the base URL (where the worker's key goes) must be DeepInfra's, `DEEPINFRA_BASE_URL`, or one
      the code named (`trusted`, or a `base_url` override);
    - fields `settings()` never writes (the key, clients, `client_params`, `batch_api`) are refused;
    - no value may be a redaction placeholder: a rebuilt model would send `<redacted>` in place of
      the credential, so the caller must supply the field.

    Raises:
        ValueError: one of the above, saying what to pass instead.
    """
    foreign = sorted(set(settings) & set(not_settings))
    if foreign:
        raise ValueError(
            f"DeepInfra.from_settings(): the settings hold {', '.join(foreign)}, which settings() never writes "
            "(keys, clients and callbacks do not travel in messages); pass them as arguments in the code: "
            f"DeepInfra.from_settings(settings, {foreign[0]}=...)"
        )
    arguments = {**settings, **overrides}
    if "base_url" not in overrides:
        arguments["base_url"] = trusted_base_url(settings.get("base_url"), trusted)
    hidden = [f"{name}{path}" for name, value in arguments.items() for path in placeholders(value)]
    if hidden:
        raise ValueError(
            f"DeepInfra.from_settings(): {', '.join(hidden)}: a credential written out as {REDACTED!r} (credentials "
            "never travel in settings); a model rebuilt from it would send the placeholder. Supply the field in the "
            f"code that rebuilds the model: DeepInfra.from_settings(settings, {hidden[0].split('[')[0]}=...) "
            "(an argument replaces the whole field)."
        )
    return arguments


def trusted_base_url(url: Any, trusted: Iterable[str]) -> str:
    """`url` (from settings) if it is DeepInfra's, `DEEPINFRA_BASE_URL` or in `trusted`, in that one's full form.

    A URL written out redacted (`https://<redacted>@host/...`) matches the trusted URL it came
    from, which is then used as configured (its user-info and query included).

    Raises:
        ValueError: any other URL: the worker's `DEEPINFRA_API_KEY` would go to whoever wrote it.
    """
    if url is None:
        return default_base_url()
    wanted = _comparable(str(url))
    named = [trusted] if isinstance(trusted, str) else list(trusted)  # one URL given bare
    for candidate in (DEFAULT_BASE_URL, getenv(BASE_URL_ENV), *named):
        if candidate and wanted in _forms(str(candidate)):
            return openai_url(candidate)
    raise ValueError(
        f"DeepInfra.from_settings(): the settings ask for base_url {redact_url(str(url))!r}, which is neither "
        f"DeepInfra's ({DEFAULT_BASE_URL}) nor {BASE_URL_ENV}: the API key would be sent there. If the code "
        "trusts it, name it: DeepInfra.from_settings(settings, base_url=...) or trusted_base_urls=[...]."
    )


def _forms(candidate: str) -> tuple[str, ...]:
    """A trusted URL as settings may have written it: as it is, or redacted (an invalid one matches nothing)."""
    try:
        full = openai_url(candidate)
    except ValueError:
        return ()
    return _comparable(full), _comparable(redact_url(full))


def _comparable(url: str) -> str:
    try:
        parts = urlsplit(openai_url(url))
    except ValueError:
        return url
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))
