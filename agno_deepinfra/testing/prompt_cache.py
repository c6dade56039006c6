"""DeepInfra's prompt cache, as the emulator plays it: a repeated `prompt_cache_key` hits the shared prefix.

DeepInfra's "Prompt caching" docs: prefixes are cached automatically, `prompt_cache_key` tags
requests that share one (one key per chat session is recommended), and
`usage.prompt_tokens_details.cached_tokens` says how many input tokens came from the cache. The
emulator remembers the messages of the last request per key; the next request with that key has
the tokens of the messages it shares from the start cached, billed at `CACHED_INPUT_FACTOR` of
the input price (the emulator's own price: DeepInfra's cached rates vary by model).
"""

from __future__ import annotations

import threading
from typing import Any

from agno_deepinfra.testing.text import prompt_tokens

CACHED_INPUT_FACTOR = 0.5


class PromptCache:
    """The last prompt per `prompt_cache_key`."""

    def __init__(self) -> None:
        self._prompts: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    def cached_tokens(self, body: dict[str, Any]) -> int:
        """Prompt tokens of `body` served from the cache (0 without a key or on a first use)."""
        key = body.get("prompt_cache_key")
        messages = body.get("messages")
        if not isinstance(key, str) or not isinstance(messages, list):
            return 0
        with self._lock:
            previous = self._prompts.get(key, [])
            self._prompts[key] = messages
        shared = 0
        for before, now in zip(previous, messages, strict=False):
            if before != now:
                break
            shared += 1
        return prompt_tokens(messages[:shared])

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._prompts.clear()
