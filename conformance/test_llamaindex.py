"""LlamaIndex: `llama-index-llms-deepinfra` (chat, stream_chat, complete, achat, model details) and
`llama-index-embeddings-deepinfra` (native embeddings).

The LLM is pointed at the emulator with `api_base=<emulator root>`. The embedding model has no
base-URL option: its module constant `INFERENCE_URL` is set to the emulator's for each test.
"""

from __future__ import annotations

import math

import aiohttp
import pytest
import requests
from conftest import CHAT_MODEL, EMBEDDING_MODEL, UNTAGGED_MODEL
from llama_index.core.base.llms.types import ChatMessage
from llama_index.embeddings.deepinfra import DeepInfraEmbeddingModel
from llama_index.llms.deepinfra import DeepInfraLLM

from agno_deepinfra.testing import DeepInfraEmulator


def llm(emu: DeepInfraEmulator, model: str = CHAT_MODEL) -> DeepInfraLLM:
    return DeepInfraLLM(model=model, api_key=emu.api_key, api_base=emu.root_url, max_retries=1, timeout=10)


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def test_chat(emu: DeepInfraEmulator) -> None:
    response = llm(emu).chat(user("What is 7 * 6?"))
    assert "42" in response.message.content
    assert response.raw["usage"]["completion_tokens"] > 0


def test_stream_chat(emu: DeepInfraEmulator) -> None:
    """LlamaIndex reads `choices[-1]` of every chunk: DeepInfra's wire has a choice on each."""
    responses = list(llm(emu).stream_chat(user("Stream this")))
    assert len(responses) > 3 and "Stream this" in responses[-1].message.content
    assert responses[-1].message.content == "".join(response.delta for response in responses)


def test_complete(emu: DeepInfraEmulator) -> None:
    """`complete` posts a raw prompt to the legacy `/v1/openai/completions`."""
    response = llm(emu).complete("What is 8 + 8?")
    assert "16" in response.text
    assert emu.requests_for("completions")[0].body["prompt"] == "What is 8 + 8?"


def test_stream_complete(emu: DeepInfraEmulator) -> None:
    responses = list(llm(emu).stream_complete("Say something"))
    assert "Say something" in responses[-1].text


async def test_achat(emu: DeepInfraEmulator) -> None:
    response = await llm(emu).achat(user("What is 9 - 4?"))
    assert "5" in response.message.content


def test_model_details(emu: DeepInfraEmulator) -> None:
    """`metadata` asks `GET /models/{model}` and reads `"tools" in tags` at its top level; 404: no tools."""
    assert llm(emu).metadata.is_function_calling_model is True
    assert llm(emu, UNTAGGED_MODEL).metadata.is_function_calling_model is False
    assert llm(emu, "acme/unknown").metadata.is_function_calling_model is False


@pytest.fixture
def embedder(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> DeepInfraEmbeddingModel:
    monkeypatch.setattr("llama_index.embeddings.deepinfra.base.INFERENCE_URL", f"{emu.root_url}/v1/inference")
    return DeepInfraEmbeddingModel(model_id=EMBEDDING_MODEL, api_token=emu.api_key)


def test_native_embeddings(emu: DeepInfraEmulator, embedder: DeepInfraEmbeddingModel) -> None:
    cat, kitten, stocks = embedder.get_text_embedding_batch(["a cat sat", "a kitten sat", "stock prices fell"])
    assert len(cat) == 1024 and math.isclose(math.hypot(*cat), 1.0, rel_tol=1e-6)
    assert sum(a * b for a, b in zip(cat, kitten, strict=True)) > sum(a * b for a, b in zip(cat, stocks, strict=True))
    assert emu.requests_for("inference")[0].path == f"/v1/inference/{EMBEDDING_MODEL}"


async def test_native_embeddings_async(embedder: DeepInfraEmbeddingModel) -> None:
    query = await embedder.aget_query_embedding("a cat sat")
    assert query == embedder.get_query_embedding("a cat sat")


@pytest.mark.xfail(
    raises=KeyError,
    reason="llama-index-embeddings-deepinfra 0.6.0 bug: the async path (`_apost`) never calls "
    "`raise_for_status()`, so an HTTP error (here a 401) surfaces as KeyError('embeddings')",
)
async def test_native_embeddings_async_auth_error(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("llama_index.embeddings.deepinfra.base.INFERENCE_URL", f"{emu.root_url}/v1/inference")
    embedder = DeepInfraEmbeddingModel(model_id=EMBEDDING_MODEL, api_token="wrong-key")
    with pytest.raises(aiohttp.ClientResponseError, match="401"):  # what a fixed `_apost` would raise
        await embedder.aget_query_embedding("x")


def test_native_embeddings_auth_error(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("llama_index.embeddings.deepinfra.base.INFERENCE_URL", f"{emu.root_url}/v1/inference")
    embedder = DeepInfraEmbeddingModel(model_id=EMBEDDING_MODEL, api_token="wrong-key")
    with pytest.raises(requests.HTTPError, match="401"):
        embedder.get_query_embedding("x")
