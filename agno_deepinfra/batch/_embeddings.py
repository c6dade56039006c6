"""Batch mode for the embedder: its requests handed to the batch collector (`/v1/embeddings`).

The Batch API adapter of `DeepInfraEmbedder`, as `batch._chat` is the chat model's: the request
built by the embedder, its key, base URL and retry policy made into a `Target`, one future per
request (resolved with the response body of its line).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from openai import OpenAI

from agno_deepinfra._shared.http import Call
from agno_deepinfra._shared.http_stack import new_sync_http_client, sdk_timeout
from agno_deepinfra._shared.retry import RetryPolicy
from agno_deepinfra.batch._collector import submit
from agno_deepinfra.batch.options import BatchOptions, Target, account_of


def submit_embeddings(
    options: BatchOptions, call: Call, base_url: str, timeout: Any, policy: RetryPolicy, owner: str, weight: int
) -> Future[dict[str, Any]]:
    """Hand one embeddings request to the collector; raises before any request when no key is set."""
    headers = dict(call.headers)
    params: dict[str, Any] = {
        "api_key": headers["Authorization"].removeprefix("Bearer "),
        "base_url": base_url,
        "timeout": sdk_timeout(timeout),
        "max_retries": 0,  # retries are the embedder's own (`RetryPolicy`)
    }

    def client() -> OpenAI:
        return OpenAI(**params, http_client=new_sync_http_client(base_url))

    target = Target("/v1/embeddings", base_url, client, policy, owner, account_of(params["api_key"]))
    return submit(options, target, call.payload, weight=weight)
