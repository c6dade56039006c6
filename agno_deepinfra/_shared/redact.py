"""The one rule for what is a credential: used by `repr`, `to_dict`, `settings`, logs and spans.

A value is hidden when:

- its name (a header, a query parameter, a key at any depth of `extra_body`, `request_params`,
  `client_params` and the like) names a credential: a word such as `auth`, `key`, `token`, `sig`
  or `pwd`, or a part such as `authorization`, `authentication`, `password`, `secret`,
  `credential`, `cookie`, `signature`, `session` or `apikey` (`X-Api-Key`, `Helicone-Auth`,
  `X-Auth-Token`, `Proxy-Authorization`, `sessionid`, `accessToken`...);
- it is the user-info of a URL (`https://user:pass@host`) or a query parameter named as above;
- it is a string that starts with an HTTP auth scheme (`Bearer ...`, `Basic ...`), whatever its name.

Names are split into words (`max_tokens` is `max` + `tokens`, a count, not a credential), and a
few names that match the pattern but are harmless are listed as such (`prompt_cache_key`, a cache
grouping id that must stay readable). `tests/test_redaction.py` runs every field that can carry a
credential through every surface. Importing this module also puts the rule on the openai SDK's
request log (`RedactingFilter`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "<redacted>"

# Whole words of a name that make it a credential's name.
_SECRET_WORDS = frozenset({"auth", "key", "token", "sig", "pwd", "pass", "jwt", "bearer"})
# Parts that make any word a credential's name, wherever they occur in it.
_SECRET_PARTS = (
    "authori",  # authorization, authorisation
    "authent",  # authentication
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "cookie",
    "signature",
    "session",
    "apikey",
)
# Word endings that do the same (`accesstoken`, `xauth`, `clientsecret`; `tokens` is a count).
_SECRET_ENDINGS = ("token", "auth", "key")
# Names the pattern catches that carry no credential (compared with separators as `_`, lowercase).
_HARMLESS = frozenset({"prompt_cache_key", "session_prompt_cache", "idempotency_key", "stop_token_ids"})
# A value that is an HTTP credential whatever its name says: a scheme and one token, nothing more
# (so a prompt such as "Bearer of bad news" is text, not a credential).
_AUTH_SCHEME = re.compile(r"^\s*(bearer|basic)\s+[\w.~+/=-]{8,}\s*$", re.IGNORECASE)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _words(name: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(name)]


@lru_cache(maxsize=4096)  # the same header and field names come again and again
def is_secret_name(name: str) -> bool:
    """Whether a header, query parameter or field of this name may carry a credential."""
    words = _words(str(name))
    if "_".join(words) in _HARMLESS:
        return False
    joined = "".join(words)
    if any(part in joined for part in _SECRET_PARTS):
        return True
    return any(word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS) for word in words)


def is_secret_value(value: Any) -> bool:
    """Whether a string is a credential by its form alone (`Bearer sk-...`, `Basic dXNl...`)."""
    return isinstance(value, str) and _AUTH_SCHEME.match(value) is not None


def redact_url(url: str) -> str:
    """`url` with its user-info and its credential-named query parameters replaced by `REDACTED`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = "&".join(_redact_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    if netloc == parts.netloc and query == parts.query:
        return url  # nothing secret: exactly as given
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_pair(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    return f"{name}={REDACTED}" if equals and is_secret_name(unquote(name)) else pair


def redacted(value: Any, secret: bool = False) -> Any:
    """`value` with every credential in it replaced by `REDACTED`, at any depth; the rest as it was.

    Mappings keep their keys. Under a credential's name (`secret`), a scalar becomes `REDACTED`,
    a list's scalars too, while a mapping is searched like any other: `{"auth": {"password": ...}}`
    loses the password, and a JSON schema's `{"password": {"type": "string"}}` keeps its type.
    Lists and tuples keep their order; URLs (`http(s)://` strings) lose their user-info and
    secret query values.
    """
    if isinstance(value, Mapping):
        return {key: redacted(item, is_secret_name(str(key))) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redacted(item, secret) for item in value]
    if secret and value is not None:
        return REDACTED
    if isinstance(value, str):
        if is_secret_value(value):
            return REDACTED
        if value.startswith(("http://", "https://")):
            return redact_url(value)
    return value


def placeholders(value: Any, path: str = "") -> Iterator[str]:
    """Where `value` holds `REDACTED` (a credential that was written out redacted), as paths."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from placeholders(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from placeholders(item, f"{path}[{index}]")
    elif isinstance(value, str) and REDACTED in value:
        yield path


class RedactingFilter(logging.Filter):
    """Applies the rule to a log record's arguments before it is formatted.

    Installed on the openai SDK's client logger: openai 1.x and 2.x log every request's options at
    DEBUG (`OPENAI_LOG=debug`), headers, query and body included, and redact only `Authorization`,
    `api-key` and `x-amz-security-token` themselves.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):
            record.args = redacted(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(_log_argument(arg) for arg in record.args)
        if record.exc_info and not record.exc_text:  # a traceback's text names URLs (httpx's status errors)
            record.exc_text = redact_urls_in(logging.Formatter().formatException(record.exc_info))
        return True


_URL = re.compile(r"https?://[^\s'\"<>]+")


def redact_urls_in(text: str) -> str:
    """`text` with every URL in it passed through `redact_url` (user-info and secret query values)."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


def _log_argument(arg: Any) -> Any:
    if isinstance(arg, (Mapping, str)):  # request options, headers (httpx's `Headers` is a mapping), text
        return redacted(arg)
    if hasattr(arg, "scheme") and hasattr(arg, "host"):  # an httpx or httpx2 `URL`: its query may hold a key
        return redact_url(str(arg))
    return arg


_SDK_LOGGER = logging.getLogger("openai._base_client")
if not any(isinstance(existing, RedactingFilter) for existing in _SDK_LOGGER.filters):
    _SDK_LOGGER.addFilter(RedactingFilter())
