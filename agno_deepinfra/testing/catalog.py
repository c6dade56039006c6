"""The emulator's model catalog: a handful of real DeepInfra ids with metadata and pricing.

Prices are USD per 1M tokens, close to DeepInfra's public list at the time of writing; they only need
to be realistic and stable so `estimated_cost` is deterministic.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ModelKind = Literal["chat", "embedding", "reranker", "image", "speech-recognition", "text-to-speech"]
ReasoningStyle = Literal["field", "think_tags"]


@dataclass(frozen=True)
class ModelEntry:
    """One model the emulator serves, with the metadata `GET /v1/openai/models` reports."""

    id: str
    kind: ModelKind = "chat"
    description: str = ""
    context_length: int = 32768
    max_tokens: int = 8192
    input_price: float = 0.1
    output_price: float = 0.0
    tags: tuple[str, ...] = ()
    dimensions: int = 0
    reasoning: ReasoningStyle | None = None
    metadata_extra: Mapping[str, Any] = field(default_factory=dict)

    def cost(self, input_tokens: int, output_tokens: int = 0) -> float:
        """USD cost of a call, from the per-1M-token prices (rounded so it prints cleanly)."""
        return round((input_tokens * self.input_price + output_tokens * self.output_price) / 1_000_000, 12)

    def to_json(self) -> dict[str, Any]:
        """The model's entry as DeepInfra's OpenAI-compatible model list shows it."""
        metadata: dict[str, Any] = {
            "description": self.description,
            "context_length": self.context_length,
            "max_tokens": self.max_tokens,
            "pricing": {"input_tokens": self.input_price, "output_tokens": self.output_price},
            "tags": list(self.tags),
        }
        if self.dimensions:
            metadata["dimensions"] = self.dimensions
        metadata.update(self.metadata_extra)
        return {"id": self.id, "object": "model", "created": 1700000000, "owned_by": "deepinfra", "metadata": metadata}


def _chat(
    model_id: str, context: int, prices: tuple[float, float], tags: Iterable[str], description: str
) -> ModelEntry:
    reasoning: ReasoningStyle | None = guess_reasoning(model_id, "chat")
    return ModelEntry(
        id=model_id,
        kind="chat",
        description=description,
        context_length=context,
        max_tokens=min(context, 16384),
        input_price=prices[0],
        output_price=prices[1],
        tags=tuple(tags),
        reasoning=reasoning,
    )


def _vector(model_id: str, kind: ModelKind, context: int, price: float, dims: int, description: str) -> ModelEntry:
    tag = "embeddings" if kind == "embedding" else "reranker"
    return ModelEntry(
        id=model_id,
        kind=kind,
        description=description,
        context_length=context,
        max_tokens=0,
        input_price=price,
        tags=(tag,),
        dimensions=dims,
    )


def _media(model_id: str, kind: ModelKind, description: str) -> ModelEntry:
    # Media models are priced per image, minute or character, not per token: no token prices.
    tag = {"image": "text-to-image", "speech-recognition": "automatic-speech-recognition"}.get(kind, kind)
    return ModelEntry(
        id=model_id, kind=kind, description=description, context_length=0, max_tokens=0, input_price=0.0, tags=(tag,)
    )


def guess_reasoning(model_id: str, kind: ModelKind) -> ReasoningStyle | None:
    """How a chat model shows its reasoning: DeepSeek-R1 via `reasoning_content`, Qwen3 via `<think>`."""
    if kind != "chat":
        return None
    if model_id.startswith("deepseek-ai/DeepSeek-R1"):
        return "field"
    if model_id.startswith("Qwen/Qwen3-"):
        return "think_tags"
    return None


def model_entry(
    model_id: str,
    *,
    kind: ModelKind = "chat",
    context_length: int = 32768,
    max_tokens: int | None = None,
    tags: Iterable[str] = (),
    pricing: Mapping[str, float] | None = None,
    dimensions: int = 1024,
    description: str = "",
    reasoning: ReasoningStyle | None = None,
) -> ModelEntry:
    """The entry `DeepInfraEmulator.add_model` (and `POST /_emulator/models`) adds, with its defaults."""
    prices: Mapping[str, Any] = pricing or {}
    return ModelEntry(
        id=model_id,
        kind=kind,
        description=description,
        context_length=context_length,
        max_tokens=max_tokens if max_tokens is not None else min(context_length, 16384),
        input_price=float(prices.get("input_tokens", 0.1)),
        output_price=float(prices.get("output_tokens", 0.0 if kind != "chat" else 0.3)),
        tags=tuple(tags),
        dimensions=dimensions if kind == "embedding" else 0,
        reasoning=reasoning if reasoning is not None else guess_reasoning(model_id, kind),
    )


CATALOG: tuple[ModelEntry, ...] = (
    _chat("meta-llama/Llama-2-70b-chat-hf", 4096, (0.64, 0.80), (), "Llama 2 70B chat (agno's default id)."),
    _chat("meta-llama/Meta-Llama-3.1-8B-Instruct", 131072, (0.03, 0.05), ("tools", "json"), "Llama 3.1 8B Instruct."),
    _chat(
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        131072,
        (0.13, 0.39),
        ("tools", "json"),
        "Llama 3.3 70B Instruct, FP8 turbo.",
    ),
    _chat("Qwen/Qwen3-32B", 40960, (0.10, 0.30), ("tools", "json", "reasoning"), "Qwen3 32B, hybrid thinking."),
    _chat(
        "deepseek-ai/DeepSeek-R1-0528",
        163840,
        (0.50, 2.15),
        ("tools", "json", "reasoning"),
        "DeepSeek R1 (May 2025), returns reasoning_content.",
    ),
    _chat(
        "meta-llama/Llama-3.2-11B-Vision-Instruct",
        131072,
        (0.049, 0.049),
        ("vision", "json"),
        "Llama 3.2 11B with image input.",
    ),
    _chat(
        "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
        128000,
        (0.075, 0.20),
        ("tools", "json", "vision"),
        "Mistral Small 3.2 24B Instruct.",
    ),
    _vector("BAAI/bge-m3", "embedding", 8192, 0.01, 1024, "BGE-M3 multilingual embeddings."),
    _vector("Qwen/Qwen3-Embedding-0.6B", "embedding", 32768, 0.005, 1024, "Qwen3 embeddings, 0.6B."),
    _vector("sentence-transformers/all-MiniLM-L6-v2", "embedding", 512, 0.005, 384, "MiniLM L6 sentence embeddings."),
    _vector("Qwen/Qwen3-Reranker-0.6B", "reranker", 32768, 0.01, 0, "Qwen3 reranker, 0.6B."),
    _vector("Qwen/Qwen3-Reranker-4B", "reranker", 32768, 0.025, 0, "Qwen3 reranker, 4B."),
    _vector("Qwen/Qwen3-Reranker-8B", "reranker", 32768, 0.05, 0, "Qwen3 reranker, 8B."),
    _vector("cross-encoder/ms-marco-MiniLM-L-12-v2", "reranker", 512, 0.005, 0, "MS MARCO cross-encoder."),
    _media("black-forest-labs/FLUX-1-schnell", "image", "FLUX.1 [schnell], 1 to 4 step image generation."),
    _media("black-forest-labs/FLUX-2-dev", "image", "FLUX.2 [dev] image generation."),
    _media("openai/whisper-large-v3-turbo", "speech-recognition", "Whisper large-v3 turbo speech recognition."),
    _media("openai/whisper-large-v3", "speech-recognition", "Whisper large-v3 speech recognition."),
    _media("hexgrad/Kokoro-82M", "text-to-speech", "Kokoro 82M text-to-speech."),
)


class Catalog:
    """The emulator's live model table: the built-in `CATALOG` plus models added at run time.

    Reads are lock-free (the dict is replaced, never mutated) because every request looks a model
    up; only `add` takes the lock.
    """

    def __init__(self, entries: Iterable[ModelEntry] = CATALOG) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, ModelEntry] = {entry.id: entry for entry in entries}
        self._list_body: bytes | None = None

    def add(self, entry: ModelEntry) -> None:
        """Add or replace a model."""
        with self._lock:
            models = dict(self._models)
            models[entry.id] = entry
            self._models = models
            self._list_body = None

    def get(self, model_id: str) -> ModelEntry | None:
        """The entry for `model_id`; a `:VERSION` suffix is ignored, as DeepInfra resolves it."""
        models = self._models
        entry = models.get(model_id)
        if entry is None and ":" in model_id:
            entry = models.get(model_id.rsplit(":", 1)[0])
        return entry

    def entries(self) -> tuple[ModelEntry, ...]:
        """All entries, in insertion order."""
        return tuple(self._models.values())

    def list_body(self) -> bytes:
        """The `GET /v1/openai/models` body, serialised once and cached until the catalog changes."""
        body = self._list_body
        if body is None:
            data = [entry.to_json() for entry in self._models.values()]
            body = json.dumps({"object": "list", "data": data}, separators=(",", ":")).encode()
            self._list_body = body
        return body
