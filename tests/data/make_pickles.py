"""Writes `pickles-before-relayout.pickle`: the package's objects as pickled before its modules moved into wings.

Run once, at commit 599bc39 (the last layout with the 15 private top-level modules), with
`python tests/data/make_pickles.py`. tests/test_layout.py loads the file with today's code: a
Celery or Ray worker on the new layout must read what a worker on the old one wrote. Pickles
name private classes (`agno_deepinfra._limiter.Limiter`, `agno_deepinfra._http.HttpClients`).
"""

from __future__ import annotations

import pickle
from pathlib import Path

from agno_deepinfra import BatchOptions, DeepInfra, DeepInfraEmbedder, DeepInfraReranker, DeepInfraTools

URL = "http://127.0.0.1:9/v1/openai"  # replaced by the emulator's in the test


def objects() -> dict[str, object]:
    return {
        "model": DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=URL, retries=2, top_k=7),
        "model_fixed_limit": DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=URL, max_concurrency=4),
        "model_auto_limit": DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=URL, max_concurrency="auto"),
        "model_batch": DeepInfra(
            id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=URL, batch_api=BatchOptions(window=0.2)
        ),
        "embedder": DeepInfraEmbedder(base_url=URL, max_concurrency=2),
        "reranker": DeepInfraReranker(base_url=URL),
        "tools": DeepInfraTools(base_url=URL),
    }


if __name__ == "__main__":
    target = Path(__file__).with_name("pickles-before-relayout.pickle")
    target.write_bytes(pickle.dumps(objects(), protocol=4))
    print(f"wrote {target}")
