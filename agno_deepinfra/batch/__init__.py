"""Batch mode: agno's model calls run through DeepInfra's Batch API, billed 20% below real time.

`DeepInfra(batch_api=True)` or `DeepInfra(batch_api=BatchOptions(...))` (and the same on
`DeepInfraEmbedder`). User code stays as it is: every model call made within `window` seconds
waits in one collector, shared by every event loop and thread of the process for one
`BatchOptions` object, one endpoint and one base URL. The collected calls are written as one
JSONL file (a `custom_id` per call), uploaded with `purpose=batch`, submitted as one batch
(`completion_window="24h"`) and polled with backoff (`batch._job`); each waiting call then gets
its own answer, matched by `custom_id`. A sync call blocks until then; an async call awaits it.

Cost: DeepInfra's Batch API docs do not say that a batch output line carries `estimated_cost`,
nor at which price (the line's body is "the real-time response"). So the cost agno sees is
computed here: the line's token counts priced from DeepInfra's catalog (`GET /models`) at the
batch rate, `BATCH_PRICE_FACTOR` (0.8) times the real-time price. Cached prompt tokens are priced
as ordinary input tokens (the catalog has no cached-token price): an upper bound.
"""

from agno_deepinfra.batch.options import BatchOptions, BatchProgress

__all__ = ["BatchOptions", "BatchProgress"]
