"""The emulator's model catalog: a dated snapshot of DeepInfra's public model list, with metadata and pricing.

`SNAPSHOT_DATE` is when the snapshot was taken. Sources, by kind of model:

- chat models (ids, context lengths, USD per 1M input / output tokens, and the "tools", "vision" and
  "reasoning" tags from its `supports_*` flags): LiteLLM's `model_prices_and_context_window.json`, its
  `deepinfra/...` entries (github.com/BerriAI/litellm, commit 00035b69f416be24e2e323c13198d9b7d2d1bdf9),
  read on `SNAPSHOT_DATE`. The "json" tag of the first entries is an emulator convention, and
  `meta-llama/Llama-2-70b-chat-hf` (agno's default id, not in the snapshot) is kept for agno's default.
- embedding models (ids): the list of deepinfra.com/models/embeddings in the AI SDK's DeepInfra provider
  (`@ai-sdk/deepinfra` 2.0.19, `deepinfra-embedding-options.ts`); dimensions and context lengths are
  the models' own (their model cards). The Qwen3-Embedding ids (0.6B is the recipes' embedder; 4B
  and 8B the same family) are not in that list: they are kept from the emulator's earlier table.
- rerankers (ids): the Qwen3-Reranker family of DeepInfra's "Search That Actually Works: A Guide to LLM
  Rerankers" (2025-09-10); `cross-encoder/ms-marco-MiniLM-L-12-v2` is an emulator addition.
- media models: kept from the emulator's earlier table, not part of the snapshot (priced per image,
  minute or character, so no token prices here).

Embedding and reranker prices, and media prices, are emulator conventions (realistic, not quoted):
they only need to be stable so `estimated_cost` is deterministic. DeepInfra's catalog changes every
week: a model missing here gets a 404 that says so; serve it with `DeepInfraEmulator.add_model`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

SNAPSHOT_DATE = "2026-11-29"

ModelKind = Literal["chat", "embedding", "reranker", "image", "speech-recognition", "text-to-speech"]
# "think_open": the template opens `<think>` itself, so the content is `thought</think>\n\nanswer`.
ReasoningStyle = Literal["field", "think_tags", "think_open"]


@dataclass(frozen=True)
class ModelEntry:
    """One model the emulator serves, with the metadata `GET /v1/openai/models` reports.

    Attributes:
        id: DeepInfra's model id, e.g. `"meta-llama/Llama-3.3-70B-Instruct-Turbo"`.
        kind: what the model does: "chat", "embedding", "reranker", "image", "speech-recognition"
            or "text-to-speech".
        description: the catalog's description.
        context_length: the context window, in tokens.
        max_tokens: the most tokens one answer may have.
        input_price: USD per million input tokens.
        output_price: USD per million output tokens.
        tags: DeepInfra's tags, e.g. `("tools", "json", "reasoning")`.
        dimensions: an embedding model's vector size (0 for other kinds).
        reasoning: how unscripted answers carry reasoning: "field" (`reasoning_content`, as
            DeepSeek-R1) or "think_tags" (`<think>` in the content, as Qwen3); None: no reasoning.
        metadata_extra: further metadata fields to report in the model list.
        quirks: open-model family behaviours of this model (`testing.families.QUIRKS`, WIRE.md
            "Model families"), e.g. `("leak:hermes",)` or `("tools_unsupported",)`.
    """

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
    quirks: tuple[str, ...] = ()  # open-model family behaviours (see families.py and WIRE.md)

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
    """How a chat model shows its reasoning.

    DeepSeek-R1, gpt-oss and Qwen3 "Thinking" models via `reasoning_content`; Qwen3's hybrid models
    (Qwen3-32B, ...) via `<think>` tags; Qwen3 Instruct and Coder models and the rest not at all.
    """
    if kind != "chat":
        return None
    if model_id.startswith("deepseek-ai/DeepSeek-R1"):
        return "field"
    if model_id.startswith("openai/gpt-oss-") or (model_id.startswith("Qwen/Qwen3-") and "Thinking" in model_id):
        return "field"
    if model_id.startswith("Qwen/Qwen3-") and not any(word in model_id for word in ("Instruct", "Coder")):
        return "think_tags"  # Qwen3's hybrid models think in <think> tags unless told not to
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
    quirks: Iterable[str] = (),
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
        quirks=tuple(quirks),
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
    _chat("Qwen/Qwen3-32B", 40960, (0.10, 0.28), ("tools", "json", "reasoning"), "Qwen3 32B, hybrid thinking."),
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
    *(
        _chat(model_id, context, prices, tags, "")
        for model_id, context, prices, tags in (
            # The rest of the chat snapshot (see the module docstring), in LiteLLM's order.
            ("openai/gpt-oss-120b", 131072, (0.05, 0.45), ("tools", "reasoning")),
            ("openai/gpt-oss-20b", 131072, (0.04, 0.15), ("tools", "reasoning")),
            ("Gryphe/MythoMax-L2-13b", 4096, (0.08, 0.09), ("tools",)),
            ("NousResearch/Hermes-3-Llama-3.1-405B", 131072, (1.0, 1.0), ("tools",)),
            ("NousResearch/Hermes-3-Llama-3.1-70B", 131072, (0.30, 0.30), ()),
            ("Qwen/QwQ-32B", 131072, (0.15, 0.40), ("tools",)),
            ("Qwen/Qwen2.5-72B-Instruct", 32768, (0.12, 0.39), ("tools",)),
            ("Qwen/Qwen2.5-7B-Instruct", 32768, (0.04, 0.10), ()),
            ("Qwen/Qwen2.5-VL-32B-Instruct", 128000, (0.20, 0.60), ("tools", "vision")),
            ("Qwen/Qwen3-14B", 40960, (0.06, 0.24), ("tools", "reasoning")),
            ("Qwen/Qwen3-235B-A22B", 40960, (0.18, 0.54), ("tools", "reasoning")),
            ("Qwen/Qwen3-235B-A22B-Instruct-2507", 262144, (0.09, 0.60), ("tools",)),
            ("Qwen/Qwen3-235B-A22B-Thinking-2507", 262144, (0.30, 2.90), ("tools", "reasoning")),
            ("Qwen/Qwen3-30B-A3B", 40960, (0.08, 0.29), ("tools", "reasoning")),
            ("Qwen/Qwen3-Coder-480B-A35B-Instruct", 262144, (0.40, 1.60), ("tools",)),
            ("Qwen/Qwen3-Coder-480B-A35B-Instruct-Turbo", 262144, (0.29, 1.20), ("tools",)),
            ("Qwen/Qwen3-Next-80B-A3B-Instruct", 262144, (0.14, 1.40), ("tools",)),
            ("Qwen/Qwen3-Next-80B-A3B-Thinking", 262144, (0.14, 1.40), ("tools", "reasoning")),
            ("Sao10K/L3-8B-Lunaris-v1-Turbo", 8192, (0.04, 0.05), ()),
            ("Sao10K/L3.1-70B-Euryale-v2.2", 131072, (0.65, 0.75), ()),
            ("Sao10K/L3.3-70B-Euryale-v2.3", 131072, (0.65, 0.75), ()),
            ("allenai/olmOCR-7B-0725-FP8", 16384, (0.27, 1.50), ()),
            ("anthropic/claude-3-7-sonnet-latest", 200000, (3.30, 16.50), ("tools",)),
            ("anthropic/claude-4-opus", 200000, (16.50, 82.50), ("tools",)),
            ("anthropic/claude-4-sonnet", 200000, (3.30, 16.50), ("tools",)),
            ("deepseek-ai/DeepSeek-R1", 163840, (0.70, 2.40), ("tools", "reasoning")),
            ("deepseek-ai/DeepSeek-R1-0528-Turbo", 32768, (1.0, 3.0), ("tools", "reasoning")),
            ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", 131072, (0.20, 0.60), ("reasoning",)),
            ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", 131072, (0.27, 0.27), ("tools", "reasoning")),
            ("deepseek-ai/DeepSeek-R1-Turbo", 40960, (1.0, 3.0), ("tools", "reasoning")),
            ("deepseek-ai/DeepSeek-V3", 163840, (0.38, 0.89), ("tools",)),
            ("deepseek-ai/DeepSeek-V3-0324", 163840, (0.25, 0.88), ("tools",)),
            ("deepseek-ai/DeepSeek-V3.1", 163840, (0.27, 1.0), ("tools", "reasoning")),
            ("deepseek-ai/DeepSeek-V3.1-Terminus", 163840, (0.27, 1.0), ("tools",)),
            ("google/gemini-2.0-flash-001", 1000000, (0.10, 0.40), ("tools",)),
            ("google/gemini-2.5-flash", 1000000, (0.30, 2.50), ("tools",)),
            ("google/gemini-2.5-pro", 1000000, (1.25, 10.0), ("tools",)),
            ("google/gemma-3-12b-it", 131072, (0.05, 0.10), ("tools",)),
            ("google/gemma-3-27b-it", 131072, (0.09, 0.16), ("tools",)),
            ("google/gemma-3-4b-it", 131072, (0.04, 0.08), ("tools",)),
            ("meta-llama/Llama-3.2-3B-Instruct", 131072, (0.02, 0.02), ("tools",)),
            ("meta-llama/Llama-3.3-70B-Instruct", 131072, (0.23, 0.40), ("tools",)),
            ("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", 1048576, (0.15, 0.60), ("tools",)),
            ("meta-llama/Llama-4-Scout-17B-16E-Instruct", 327680, (0.08, 0.30), ("tools",)),
            ("meta-llama/Llama-Guard-3-8B", 131072, (0.055, 0.055), ()),
            ("meta-llama/Llama-Guard-4-12B", 163840, (0.18, 0.18), ()),
            ("meta-llama/Meta-Llama-3-8B-Instruct", 8192, (0.03, 0.06), ("tools",)),
            ("meta-llama/Meta-Llama-3.1-70B-Instruct", 131072, (0.40, 0.40), ("tools",)),
            ("meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo", 131072, (0.10, 0.28), ("tools",)),
            ("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", 131072, (0.02, 0.03), ("tools",)),
            ("microsoft/WizardLM-2-8x22B", 65536, (0.48, 0.48), ()),
            ("microsoft/phi-4", 16384, (0.07, 0.14), ("tools",)),
            ("mistralai/Mistral-Nemo-Instruct-2407", 131072, (0.02, 0.04), ("tools",)),
            ("mistralai/Mistral-Small-24B-Instruct-2501", 32768, (0.05, 0.08), ("tools",)),
            ("mistralai/Mixtral-8x7B-Instruct-v0.1", 32768, (0.40, 0.40), ("tools",)),
            ("moonshotai/Kimi-K2-Instruct", 131072, (0.50, 2.0), ("tools",)),
            ("moonshotai/Kimi-K2-Instruct-0905", 262144, (0.50, 2.0), ("tools",)),
            ("nvidia/Llama-3.1-Nemotron-70B-Instruct", 131072, (0.60, 0.60), ("tools",)),
            ("nvidia/Llama-3.3-Nemotron-Super-49B-v1.5", 131072, (0.10, 0.40), ("tools",)),
            ("nvidia/NVIDIA-Nemotron-Nano-9B-v2", 131072, (0.04, 0.16), ("tools",)),
            ("zai-org/GLM-4.5", 131072, (0.40, 1.60), ("tools",)),
        )
    ),
    # The rest of DeepInfra's embedding models (ids: see the module docstring; prices: emulator convention).
    _vector("Qwen/Qwen3-Embedding-4B", "embedding", 32768, 0.01, 2560, "Qwen3 embeddings, 4B."),
    _vector("Qwen/Qwen3-Embedding-8B", "embedding", 32768, 0.01, 4096, "Qwen3 embeddings, 8B."),
    _vector("BAAI/bge-base-en-v1.5", "embedding", 512, 0.005, 768, "BGE base English v1.5."),
    _vector("BAAI/bge-large-en-v1.5", "embedding", 512, 0.01, 1024, "BGE large English v1.5."),
    _vector("intfloat/e5-base-v2", "embedding", 512, 0.005, 768, "E5 base v2."),
    _vector("intfloat/e5-large-v2", "embedding", 512, 0.01, 1024, "E5 large v2."),
    _vector("intfloat/multilingual-e5-large", "embedding", 512, 0.01, 1024, "Multilingual E5 large."),
    _vector("sentence-transformers/all-MiniLM-L12-v2", "embedding", 512, 0.005, 384, "MiniLM L12 embeddings."),
    _vector("sentence-transformers/all-mpnet-base-v2", "embedding", 512, 0.005, 768, "MPNet base embeddings."),
    _vector("thenlper/gte-base", "embedding", 512, 0.005, 768, "GTE base embeddings."),
    _vector("thenlper/gte-large", "embedding", 512, 0.01, 1024, "GTE large embeddings."),
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
