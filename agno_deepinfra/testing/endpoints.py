"""The non-chat endpoints: model list and details, OpenAI-style embeddings, native inference (rerank, embed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from agno_deepinfra.testing.catalog import SNAPSHOT_DATE, Catalog, ModelEntry
from agno_deepinfra.testing.errors import detail_error, field_error, not_found, unknown_model, validation_error
from agno_deepinfra.testing.native import prepare_text_generation
from agno_deepinfra.testing.outcome import Action, ApiError, Respond, dumps, json_response, modify_plain
from agno_deepinfra.testing.script import Fault, Reply
from agno_deepinfra.testing.text import count_tokens
from agno_deepinfra.testing.validation import check_range, missing, require_dict, require_model
from agno_deepinfra.testing.vectors import embed, rerank_score, to_base64

MIN_DIMENSIONS = 32


def _with_reply(default: Respond, reply: Reply | None, modifier: Fault | None) -> Action:
    """A scripted `Reply(body=...)` replaces the default body; stream-shaped faults still apply."""
    response = json_response(200, reply.body) if reply is not None and reply.body is not None else default
    return modify_plain(response, modifier)


def prepare_models(path_model: str | None, catalog: Catalog) -> partial[Action]:
    """`GET /v1/openai/models` (the list) or `GET /models/{model}` (one entry, 404 when unknown)."""
    if path_model is None:
        return partial(_with_reply, Respond(200, catalog.list_body()))
    entry = catalog.get(path_model)
    if entry is None:
        raise ApiError(404, not_found())
    return partial(_with_reply, Respond(200, dumps(entry.to_json())))


@lru_cache(maxsize=4096)
def _vector_json(text: str, native: int, dimensions: int | None, normalize: bool, base64: bool) -> bytes:
    # Cached as serialised JSON: benchmarks embed the same texts over and over, and printing
    # 1024 floats costs far more than computing them.
    vector = embed(text, native, dimensions, normalize)
    return dumps(to_base64(vector) if base64 else vector)


def _vectors_json(reply: Reply | None, texts: tuple[str, ...], native: int, dims: int | None, b64: bool) -> list[bytes]:
    """Each embedding as JSON: the scripted ones if any, else the deterministic ones."""
    if reply is not None and reply.embeddings is not None:
        return [dumps(to_base64(vector) if b64 else vector) for vector in reply.embeddings]
    return [_vector_json(text, native, dims, True, b64) for text in texts]


@dataclass(frozen=True)
class EmbeddingCall:
    """A validated `/v1/openai/embeddings` request."""

    model: str
    entry: ModelEntry
    inputs: tuple[str, ...]
    dimensions: int | None
    base64: bool


def prepare_embeddings(raw: Any, catalog: Catalog) -> partial[Action]:
    """Validate an OpenAI-style embeddings request and return its renderer."""
    body = require_dict(raw)
    errors = []
    if not isinstance(body.get("model"), str):
        errors.append(missing("model", body))
    inputs = _string_list(body, "input", errors)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        errors.append(
            field_error(("encoding_format",), "Input should be 'float' or 'base64'", "literal_error", encoding)
        )
    dimensions = body.get("dimensions")
    if dimensions is not None and (error := check_range("dimensions", dimensions, (MIN_DIMENSIONS, True), None)):
        errors.append(error)
    if errors:
        raise ApiError(422, validation_error(errors))
    entry = require_model(catalog, body["model"], "embedding", "embeddings")
    call = EmbeddingCall(body["model"], entry, inputs, dimensions, encoding == "base64")
    return partial(_render_embeddings, call)


def _string_list(body: dict[str, Any], name: str, errors: list[dict[str, Any]], single: str = "") -> tuple[str, ...]:
    """`body[name]` as a tuple of strings (a single string, or `body[single]`, counts as one item)."""
    value = body.get(name)
    if value is None and single and isinstance(body.get(single), str):
        value = body[single]
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    if value is None:
        errors.append(missing(name, body))
    else:
        errors.append(field_error((name,), "Input should be a valid string or list of strings", "string_type", value))
    return ()


def _render_embeddings(call: EmbeddingCall, reply: Reply | None, modifier: Fault | None) -> Action:
    vectors = _vectors_json(reply, call.inputs, call.entry.dimensions, call.dimensions, call.base64)
    tokens = sum(count_tokens(text) for text in call.inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens, "estimated_cost": call.entry.cost(tokens)}
    items = b",".join(b'{"object":"embedding","index":%d,"embedding":%b}' % pair for pair in enumerate(vectors))
    body = b'{"object":"list","data":[%b],"model":%b,"usage":%b}' % (items, dumps(call.model), dumps(usage))
    return _with_reply(Respond(200, body), reply, modifier)


def prepare_inference(path_model: str, raw: Any, catalog: Catalog) -> partial[Action]:
    """`POST /v1/inference/{model}`: rerankers take queries + documents, embedding models inputs, LLMs input."""
    entry = catalog.get(path_model)
    if entry is None:
        raise ApiError(404, unknown_model(path_model, SNAPSHOT_DATE))
    body = require_dict(raw)
    if entry.kind == "reranker":
        return partial(_render_rerank, entry, *_rerank_inputs(body))
    if entry.kind == "embedding":
        errors: list[dict[str, Any]] = []
        inputs = _string_list(body, "inputs", errors)
        if errors:
            raise ApiError(422, validation_error(errors))
        return partial(_render_native_embeddings, entry, inputs, body.get("normalize") is not False)
    if entry.kind == "chat":
        return prepare_text_generation(entry, body)
    raise ApiError(400, detail_error(f"Model {path_model} is a {entry.kind} model: use its OpenAI-compatible route"))


def _rerank_inputs(body: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    errors: list[dict[str, Any]] = []
    documents = _string_list(body, "documents", errors)
    queries = _string_list(body, "queries", errors, single="query")
    if not errors and not isinstance(body.get("queries"), list):
        queries = queries * len(documents)  # a single query string applies to every document
    if not errors and len(queries) != len(documents):
        msg = f"queries and documents must have the same length (got {len(queries)} and {len(documents)})"
        errors.append(field_error(("queries",), msg, "value_error", list(queries)))
    if errors:
        raise ApiError(422, validation_error(errors))
    return queries, documents


def _inference_body(entry: ModelEntry, tokens: int, **fields: Any) -> dict[str, Any]:
    status = {
        "status": "succeeded",
        "runtime_ms": 1,
        "cost": entry.cost(tokens),
        "tokens_input": tokens,
        "tokens_generated": 0,
    }
    return {**fields, "input_tokens": tokens, "request_id": uuid.uuid4().hex, "inference_status": status}


def _render_rerank(
    entry: ModelEntry, queries: tuple[str, ...], documents: tuple[str, ...], reply: Reply | None, modifier: Fault | None
) -> Action:
    if reply is not None and reply.scores is not None:
        scores = list(reply.scores)
    else:
        scores = [rerank_score(query, document) for query, document in zip(queries, documents, strict=True)]
    tokens = sum(
        count_tokens(query) + count_tokens(document) for query, document in zip(queries, documents, strict=True)
    )
    return _with_reply(json_response(200, _inference_body(entry, tokens, scores=scores)), reply, modifier)


def _render_native_embeddings(
    entry: ModelEntry, inputs: tuple[str, ...], normalize: bool, reply: Reply | None, modifier: Fault | None
) -> Action:
    if reply is not None and reply.embeddings is not None:
        vectors = [dumps(vector) for vector in reply.embeddings]
    else:
        vectors = [_vector_json(text, entry.dimensions, None, normalize, False) for text in inputs]
    tokens = sum(count_tokens(text) for text in inputs)
    head = dumps(_inference_body(entry, tokens))[:-1]  # the object without its closing brace
    return _with_reply(Respond(200, head + b',"embeddings":[%b]}' % b",".join(vectors)), reply, modifier)
