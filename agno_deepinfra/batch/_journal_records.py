"""What a batch journal record holds: keyed request fingerprints, the account and base URL, the record shapes.

Fingerprints are keyed: an HMAC-SHA256 of the endpoint and the canonical JSON body (sorted keys),
keyed by a secret derived from the API key (`Account`). Whoever holds the journal but not the key
cannot confirm a guessed prompt, and a journal's records only match for the key that wrote them.
The fingerprint leaves out the fields that change from process to process (`VOLATILE_FIELDS` and
a `prompt_cache_key` derived from agno's random session id, which starts with
`SESSION_KEY_PREFIX`).

Records (one JSON object a line, each with `"v": VERSION`):

- `submitting`: `token`, `account` (`Account.id`), `base_url` (`plain_url`), `endpoint`, `model`,
  `file_id`, `requests` (`[fingerprint, custom_id]` pairs in file order); written before the batch
  is created.
- `submitted`: `token`, `batch_id`.
- `finished`: `token`, `status` (the batch's, or "lost" when DeepInfra no longer knows it),
  `delivered` (custom_ids answered) and `retry` (custom_ids that failed for a passing reason).

`problem` says why a line is not one of these (another version, corruption); the journal skips it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

VERSION = 1  # the `v` of every record this version writes and reads
# The prefix of the prompt cache keys `DeepInfra` derives from agno's session (see `chat._session_cache`).
SESSION_KEY_PREFIX = "agno-session-"
# Body fields that do not change what is asked: a batch has no streams.
VOLATILE_FIELDS = ("stream", "stream_options")


@dataclass(frozen=True)
class Account:
    """Who asks, as the journal knows it: keyed hashes of the API key, never the key.

    `id` names the account in records (64 bits of an HMAC keyed by the API key); `secret` keys the
    request fingerprints. A rotated key is another account: see RELIABILITY.md.
    """

    id: str
    secret: bytes = field(repr=False)

    @classmethod
    def of(cls, api_key: str) -> Account:
        key = api_key.encode()
        name = hmac.new(key, b"agno-deepinfra batch journal: account", hashlib.sha256).hexdigest()[:16]
        secret = hmac.new(key, b"agno-deepinfra batch journal: requests", hashlib.sha256).digest()
        return cls(name, secret)

    def fingerprint(self, endpoint: str, body: dict[str, Any]) -> str:
        """What identifies a request across processes (see the module docstring)."""
        stable = {key: value for key, value in body.items() if key not in VOLATILE_FIELDS}
        cache_key = stable.get("prompt_cache_key")
        if isinstance(cache_key, str) and cache_key.startswith(SESSION_KEY_PREFIX):
            del stable["prompt_cache_key"]
        canonical = json.dumps({"endpoint": endpoint, "body": stable}, sort_keys=True, separators=(",", ":"))
        return hmac.new(self.secret, canonical.encode(), hashlib.sha256).hexdigest()


def plain_url(base_url: str) -> str:
    """The base URL as records keep it: scheme, host, port and path; no user-info, query or fragment."""
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}".rstrip("/")


def problem(record: Any) -> str:
    """Why a JSON line is not a record this version reads ("" when it is one)."""
    if not isinstance(record, dict):
        return f"not a journal record (a JSON {type(record).__name__})"
    if record.get("v") != VERSION:
        return f"a record of another version (v={record.get('v')!r}; this version reads v={VERSION})"
    event = record.get("event")
    fields: dict[str, type] = {"token": str}
    if event == "submitting":
        fields |= {"account": str, "base_url": str, "endpoint": str, "model": str, "file_id": str, "requests": list}
    elif event == "submitted":
        fields["batch_id"] = str
    elif event == "finished":
        fields |= {"status": str, "delivered": list, "retry": list}
    else:
        return f"an unknown event {event!r}"
    for name, kind in fields.items():
        if not isinstance(record.get(name), kind):
            return f"a {event!r} record whose {name!r} is not a {kind.__name__}"
    if event == "submitting" and not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
        for pair in record["requests"]
    ):
        return "a 'submitting' record whose 'requests' are not [fingerprint, custom_id] pairs"
    if event == "finished" and not all(isinstance(item, str) for item in record["delivered"] + record["retry"]):
        return "a 'finished' record whose custom_ids are not strings"
    return ""
