"""URLs as log lines may show them: no user-info, no value of a credential-like query parameter.

httpx (and httpx2, under openai 3) logs every request at INFO as `HTTP Request: POST <url> ...`,
with the URL whole: a key in `default_query={"api_key": ...}`, `extra_query`, or a base URL's
`user:key@` would be written to every log that keeps INFO. Importing the package's configuration
installs `UrlLogFilter` on the `httpx` and `httpx2` loggers (once): it rewrites the URL arguments
of their records. Other query values, hosts and paths stay readable.

Also here, as plain functions the emulator shares: a URL's `origin` (what a warning may name) and
`is_loopback`, the one test for "this machine" (the plain-http warning, the emulator's control routes).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

from agno_deepinfra._shared.redact import redact_url


def loggable_url(url: object) -> str:
    """`url` with its user-info and credential-named query values redacted, by the package's one rule."""
    return redact_url(str(url))


def origin(url: str) -> str:
    """`scheme://host[:port]` of `url`: what a warning about the URL may name (never user-info, path or query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # not a number: leave it out rather than show what it might be
        port = ""
    return f"{parts.scheme}://{host}{port}"


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine: `localhost`, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UrlLogFilter(logging.Filter):
    """Rewrites the URL arguments of a log record with `loggable_url` (httpx passes its `URL` objects)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_url(arg) for arg in record.args):
            record.args = tuple(loggable_url(arg) if _is_url(arg) else arg for arg in record.args)
        return True


def _is_url(arg: Any) -> bool:
    if type(arg).__name__ == "URL":  # httpx.URL, httpx2.URL
        return True
    return isinstance(arg, str) and arg.startswith(("http://", "https://"))


def guard_url_logs(names: tuple[str, ...] = ("httpx", "httpx2")) -> None:
    """Install `UrlLogFilter` on the loggers `names`, once each."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, UrlLogFilter) for existing in logger.filters):
            logger.addFilter(UrlLogFilter())
