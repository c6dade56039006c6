"""DeepInfra's native (non-OpenAI) API for language models: text generation and model information.

- `POST /v1/inference/{model}` with a text-generation model: `{"input": "..."}` in,
  `{"results": [{"generated_text": ...}], "num_tokens", "num_input_tokens", "request_id",
  "inference_status"}` out (the official SDK's `TextGenerationRequest` / `TextGenerationResponse`).
- `GET /models/{model_name}`: the model's `ModelInfoOut`, fields at the top level (`tags` among
  them; LlamaIndex reads `"tools" in tags`); an unknown model is a 404 `{"error": "Model not found"}`
  (`DeepError`).
- `GET /models/list`: a JSON array of `ModelOut`.

Sources for each shape are in WIRE.md.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any

from agno_deepinfra.testing.catalog import Catalog, ModelEntry, ModelKind
from agno_deepinfra.testing.errors import deep_error, field_error, validation_error
from agno_deepinfra.testing.outcome import Action, ApiError, Respond, dumps, json_response, modify_plain
from agno_deepinfra.testing.responder import unscripted_reply
from agno_deepinfra.testing.script import Fault, Reply
from agno_deepinfra.testing.text import count_tokens
from agno_deepinfra.testing.validation import check_range, missing

# DeepInfra's model categories (the `type` of a model; deepinfra.com/models/<type>).
MODEL_TYPES: dict[ModelKind, str] = {
    "chat": "text-generation",
    "embedding": "embeddings",
    "reranker": "reranker",
    "image": "text-to-image",
    "speech-recognition": "automatic-speech-recognition",
    "text-to-speech": "text-to-speech",
}
_NEW_TOKENS_RANGE = ((1, True), (1_000_000, True))


# -- text generation -------------------------------------------------------------------------------


def prepare_text_generation(entry: ModelEntry, body: dict[str, Any]) -> partial[Action]:
    """Validate a native text-generation request (`input` required) and return its renderer."""
    errors: list[dict[str, Any]] = []
    text = body.get("input")
    if text is None:
        errors.append(missing("input", body))
    elif not isinstance(text, str):
        errors.append(field_error(("input",), "Input should be a valid string", "string_type", text))
    new_tokens = body.get("max_new_tokens")
    if new_tokens is not None and (error := check_range("max_new_tokens", new_tokens, *_NEW_TOKENS_RANGE)):
        errors.append(error)
    if errors:
        raise ApiError(422, validation_error(errors))
    if body.get("stream") is True:
        # Not emulated: a client expecting server-sent events must not get a JSON body it cannot read.
        message = "the DeepInfra emulator does not stream native inference; use /v1/openai/completions with stream"
        raise ApiError(400, deep_error(message))
    return partial(_render_text_generation, entry, str(text))


def _render_text_generation(entry: ModelEntry, text: str, reply: Reply | None, modifier: Fault | None) -> Action:
    if reply is not None and reply.body is not None:
        return modify_plain(json_response(200, reply.body), modifier)
    content = reply.content if reply is not None and reply.content is not None else _unscripted(entry, text)
    usage = (reply.usage if reply is not None else None) or {}
    prompt = int(usage.get("prompt_tokens", count_tokens(text)))
    generated = int(usage.get("completion_tokens", count_tokens(content) if content else 0))
    status = {
        "status": "succeeded",
        "runtime_ms": 1,
        "cost": entry.cost(prompt, generated),
        "tokens_input": prompt,
        "tokens_generated": generated,
    }
    body = {
        "request_id": hashlib.blake2b(text.encode(), digest_size=12).hexdigest(),
        "inference_status": status,
        "results": [{"generated_text": content}],
        "num_tokens": generated,
        "num_input_tokens": prompt,
    }
    return modify_plain(json_response(200, body), modifier)


def _unscripted(entry: ModelEntry, text: str) -> str:
    return unscripted_reply({"messages": [{"role": "user", "content": text}]}, entry).content or ""


# -- model information -----------------------------------------------------------------------------


def prepare_model_info(path_model: str, catalog: Catalog) -> partial[Action]:
    """`GET /models/list` (every `ModelOut`) or `GET /models/{model_name}` (`ModelInfoOut`, 404 `DeepError`)."""
    if path_model == "list":
        return partial(_with_reply, Respond(200, dumps([model_out(entry) for entry in catalog.entries()])))
    entry = catalog.get(path_model)
    if entry is None:
        raise ApiError(404, deep_error("Model not found"))
    return partial(_with_reply, Respond(200, dumps(model_info(entry))))


def _with_reply(default: Respond, reply: Reply | None, modifier: Fault | None) -> Action:
    response = json_response(200, reply.body) if reply is not None and reply.body is not None else default
    return modify_plain(response, modifier)


def pricing(entry: ModelEntry) -> dict[str, Any]:
    """`ModelPricingTokens`: US cents per token (the catalog holds USD per 1M tokens)."""
    return {
        "type": "tokens",
        "cents_per_input_token": entry.input_price / 10_000,
        "cents_per_output_token": entry.output_price / 10_000,
    }


def model_out(entry: ModelEntry) -> dict[str, Any]:
    """One item of `GET /models/list` (`ModelOut`)."""
    kind = MODEL_TYPES[entry.kind]
    return {
        "model_name": entry.id,
        "type": kind,
        "reported_type": kind,
        "description": entry.description,
        "cover_img_url": "",
        "tags": list(entry.tags),
        "pricing": pricing(entry),
        "max_tokens": entry.context_length or None,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "private": 0,
        "is_partner": False,
    }


def model_info(entry: ModelEntry) -> dict[str, Any]:
    """`GET /models/{model_name}` (`ModelInfoOut`): every required field, the rest null or empty."""
    kind = MODEL_TYPES[entry.kind]
    return {
        "model_name": entry.id,
        "type": kind,
        "reported_type": kind,
        "tags": list(entry.tags),
        "version": hashlib.blake2b(entry.id.encode(), digest_size=20).hexdigest(),
        "description": entry.description,
        "mf_description": None,
        "featured": False,
        "owner": False,
        "public": True,
        "curl_inv": "",
        "cmdline_inv": "",
        "txt_docs": "",
        "out_example": "",
        "out_docs": "",
        "mask_token": None,
        "in_schema": None,
        "out_schema": None,
        "in_fields": None,
        "pricing": pricing(entry),
        "doc_blocks": None,
        "short_doc_block": None,
        "schemas": [],
        "meta": {"dimensions": entry.dimensions} if entry.dimensions else {},
        "max_tokens": entry.context_length or None,
        "max_output_tokens": entry.max_tokens or None,
        "replaced_by": None,
        "deprecated": None,
        "quantization": None,
        "mmlu": None,
        "expected": None,
        "import_time": None,
        "is_partner": False,
        "is_custom_deployable": False,
        "mf_name": None,
        "mf_title": None,
    }
