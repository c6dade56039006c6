"""One DeepInfra prompt cache key per agno session, derived so that raw ids never leave the process.

DeepInfra's "Prompt caching" docs recommend one `prompt_cache_key` per chat session, so that a
conversation's growing history keeps hitting the cache. agno knows each run's session and user.
The key is a salted SHA-256 of the two ids: stable for one session (across processes too), a new
key for another session, and no user id (often an e-mail address) or session id on the wire.
"""

from __future__ import annotations

import hashlib
from typing import Any

from agno_deepinfra.batch._journal import SESSION_KEY_PREFIX

_SALT = b"agno-deepinfra/prompt-cache-key/v1\x00"


def session_cache_key(run_response: Any) -> str | None:
    """`agno-session-<32 hex>` for a run with an agno session, else None."""
    session_id = getattr(run_response, "session_id", None)
    if not session_id:
        return None
    user_id = getattr(run_response, "user_id", None) or ""
    digest = hashlib.sha256(_SALT + f"{user_id}\x00{session_id}".encode()).hexdigest()
    return SESSION_KEY_PREFIX + digest[:32]
