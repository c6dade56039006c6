"""Batch embeddings: a corpus embedded through DeepInfra's Batch API into LanceDB, at 20% off.

`DeepInfraEmbedder(batch_api=...)` collects every embedding request made within the window into
one batch. One `vector_db.async_insert(documents)` call embeds all its documents concurrently,
so the whole corpus goes in one batch. (agno's `knowledge.ainsert_many` inserts one item after
another, which would make one batch per item; `asyncio.gather` over `knowledge.ainsert` calls
fills one batch too.) Searches need an answer now, so they use a real-time embedder on the same
table: same model, same vectors.

Run: `python cookbook/batch_corpus.py` (uses DEEPINFRA_API_KEY; needs
`pip install "agno-deepinfra[knowledge]"`). Against the real API a batch can take hours.
"""

import asyncio
import shutil
import tempfile

from _check import fail
from agno.knowledge.document import Document
from agno.vectordb.lancedb import LanceDb

from agno_deepinfra import BatchOptions, DeepInfraEmbedder

MODEL = "Qwen/Qwen3-Embedding-0.6B"
TOPICS = ["tents", "backpacks", "sleeping bags", "stoves", "boots", "jackets", "maps", "lamps"]
CORPUS = [
    Document(name=f"{topic}-{index}", content=f"Guide {index} on {topic}: how to choose, use and repair {topic}.")
    for topic in TOPICS
    for index in range(25)
]  # 200 documents

options = BatchOptions(window=10, max_requests=len(CORPUS), poll_interval=1, max_poll_interval=60)
batch_embedder = DeepInfraEmbedder(id=MODEL, batch_api=options)
realtime_embedder = DeepInfraEmbedder(id=MODEL)


async def ingest(db_dir: str) -> None:
    vector_db = LanceDb(uri=db_dir, table_name="guides", embedder=batch_embedder)
    vector_db.create()
    await vector_db.async_insert(content_hash="guides", documents=CORPUS)
    cost = sum((document.usage or {}).get("estimated_cost") or 0 for document in CORPUS)
    print(f"Embedded {len(CORPUS)} documents in one batch; batch cost ${cost:.8f}")

    searcher = LanceDb(uri=db_dir, table_name="guides", embedder=realtime_embedder)
    hits = searcher.search("Guide 7 on stoves: how to choose, use and repair stoves.", limit=2)
    for hit in hits:
        print(f"Search hit: {hit.name}")
    if not hits:
        fail("the search found nothing (see the warnings above)")


if __name__ == "__main__":
    db_dir = tempfile.mkdtemp(prefix="batch_corpus_")
    try:
        asyncio.run(ingest(db_dir))
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)
