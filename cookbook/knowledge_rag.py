"""Knowledge RAG: DeepInfra embeddings and reranking over LanceDB, and an agent answering from them.

A handful of short store policies go into an agno `Knowledge` base on LanceDB (in a temporary
directory), embedded by `DeepInfraEmbedder`. A search is reranked by `DeepInfraReranker`, the
passages are printed with their reranking scores, then a `DeepInfra` agent answers a question by
searching the knowledge base itself.

Run: `python cookbook/knowledge_rag.py` (uses DEEPINFRA_API_KEY; `make demo` runs it against the
emulator). Needs LanceDB: `pip install "agno-deepinfra[knowledge]"`.
"""

import asyncio
import shutil
import tempfile

from _check import answered, fail
from agno.agent import Agent
from agno.knowledge.document import Document
from agno.knowledge.knowledge import Knowledge
from agno.vectordb.lancedb import LanceDb

from agno_deepinfra import DeepInfra
from agno_deepinfra.embedder import DeepInfraEmbedder
from agno_deepinfra.reranker import DeepInfraReranker

# ---------------------------------------------------------------------------
# Create the knowledge base
# ---------------------------------------------------------------------------

POLICIES = {
    "returns": "Returns: Nimbus Outfitters accepts returns of unworn gear within 45 days of delivery; "
    "refunds go back to the original payment method.",
    "shipping": "Shipping: orders over 80 euros ship free within the EU; standard delivery takes 3 to 5 business days.",
    "warranty": "Warranty: Nimbus tents and backpacks carry a lifetime warranty against manufacturing defects; "
    "normal wear and tear is not covered.",
    "rentals": "Rentals: sleeping bags and camping stoves can be rented for 9 euros per day with a 30 euro deposit.",
    "hours": "Store hours: the Grenoble flagship store opens 9:00 to 19:00 Monday to Saturday and closes on Sundays.",
}

# enable_batch: where agno embeds a list of documents at once (the vector database's `async_insert`),
# it sends up to `batch_size` texts per request. `knowledge.insert` / `ainsert` go one document at a
# time, and LanceDB's sync `insert` embeds chunk by chunk: one request per document or chunk.
embedder = DeepInfraEmbedder(id="Qwen/Qwen3-Embedding-0.6B", enable_batch=True)
reranker = DeepInfraReranker(
    model="Qwen/Qwen3-Reranker-0.6B",
    instruction="Given a customer question, retrieve the store policy that answers it",
)
db_dir = tempfile.mkdtemp(prefix="knowledge_rag_")
vector_db = LanceDb(uri=db_dir, table_name="policies", embedder=embedder)

if hasattr(Knowledge, "reranker"):  # agno >= 3.1 reranks in Knowledge, over a widened candidate pool
    knowledge = Knowledge(vector_db=vector_db, reranker=reranker, max_results=3)
else:  # agno 3.0 reranks in the vector database
    vector_db.reranker = reranker
    knowledge = Knowledge(vector_db=vector_db, max_results=3)

# ---------------------------------------------------------------------------
# Create the agent
# ---------------------------------------------------------------------------

agent = Agent(
    model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    knowledge=knowledge,
    search_knowledge=True,
    instructions="Search the knowledge base before answering and quote the policy you relied on.",
)

# ---------------------------------------------------------------------------
# Run the example
# ---------------------------------------------------------------------------

if __name__ == "__main__":
    # Many small documents: hand them to the vector database in one list, and all five are embedded
    # in a single request (`knowledge.insert` per policy would make five).
    documents = [Document(name=name, content=text) for name, text in POLICIES.items()]
    asyncio.run(vector_db.async_insert(content_hash="store-policies", documents=documents))

    question = "Search the knowledge base: how many days do I have to return unworn gear?"
    print(f"Question: {question}\n\nRetrieved passages, most relevant first:")
    passages = knowledge.search(question)
    for document in passages:
        score = "n/a" if document.reranking_score is None else f"{document.reranking_score:.3f}"
        print(f"  reranking_score={score}  {document.content}")
    if not passages or any(document.reranking_score is None for document in passages):
        fail("the search found no passages, or the reranker did not score them (see the warnings above)")

    response = answered(agent.run(question))
    print(f"\nAnswer: {response.content}")
    shutil.rmtree(db_dir, ignore_errors=True)
