"""How many embedding requests 20 chunks take on each of agno's knowledge paths, `enable_batch` off and on.

Run offline: `python -m agno_deepinfra.testing run docs/examples/knowledge_requests.py` (the emulator
counts the requests; needs `pip install "agno-deepinfra[knowledge,testing]"`). The table in
docs/guides/knowledge.md comes from this script.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import urllib.request
from collections.abc import Awaitable, Callable

from agno.knowledge.document import Document
from agno.knowledge.knowledge import Knowledge
from agno.vectordb.lancedb import LanceDb

from agno_deepinfra import DeepInfraEmbedder

ROOT, KEY = os.environ["DEEPINFRA_BASE_URL"], os.environ["DEEPINFRA_API_KEY"]
SHORT = [f"Policy {n}: item {n} may be returned within {n + 10} days of delivery." for n in range(20)]
# One long document that agno's default chunking splits into 20 chunks.
LONG = "\n\n".join(text + " More detail on this policy." * 170 for text in SHORT)


def emulator(action: str, method: str = "GET") -> dict:
    """The emulator's control API (see the emulator guide): its request log, or a reset."""
    request = urllib.request.Request(
        f"{ROOT}/_emulator/{action}",
        method=method,
        data=b"{}" if method == "POST" else None,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(request, timeout=10).read() or b"{}")


async def count(enable_batch: bool, insert: Callable[[Knowledge], Awaitable[object]]) -> str:
    emulator("reset", "POST")
    embedder = DeepInfraEmbedder(enable_batch=enable_batch)
    knowledge = Knowledge(vector_db=LanceDb(uri=tempfile.mkdtemp(), table_name="docs", embedder=embedder))
    await insert(knowledge)
    requests = emulator("requests?route=embeddings")["requests"]
    texts = sum(len(r["body"]["input"]) if isinstance(r["body"]["input"], list) else 1 for r in requests)
    return f"{len(requests)} ({texts} texts)"


async def main() -> None:
    documents = [Document(name=f"p{n}", content=text) for n, text in enumerate(SHORT)]
    paths: dict[str, Callable[[Knowledge], Awaitable[object]]] = {
        "`await knowledge.ainsert(text_content=LONG)`: one document, 20 chunks": (
            lambda k: k.ainsert(name="handbook", text_content=LONG)
        ),
        "`await vector_db.async_insert(documents=...)`: 20 documents in one list": (
            lambda k: k.vector_db.async_insert(content_hash="policies", documents=documents)
        ),
        "`knowledge.insert(text_content=LONG)` (sync): one document, 20 chunks": (
            lambda k: asyncio.to_thread(k.insert, name="handbook", text_content=LONG)
        ),
        "`asyncio.gather` of 20 `knowledge.ainsert(...)`, one short document each": (
            lambda k: asyncio.gather(*(k.ainsert(name=f"p{n}", text_content=t) for n, t in enumerate(SHORT)))
        ),
    }
    print("| path | requests, `enable_batch=False` | requests, `enable_batch=True` (default) |")
    print("|---|---:|---:|")
    for label, insert in paths.items():
        print(f"| {label} | {await count(False, insert)} | {await count(True, insert)} |")


if __name__ == "__main__":
    asyncio.run(main())
