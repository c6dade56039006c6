"""Embeddings as DeepInfra sends them: a JSON array of floats, or base64 little-endian float32.

Decoded here for the embedder's real-time and batch answers alike; the server may reorder `data`,
so vectors follow their `index`.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

from agno_deepinfra._shared.http import Call

Vector = list[float]


def indexed_vectors(body: Any, call: Call) -> list[tuple[int, Vector]]:
    """`(index, vector)` pairs of DeepInfra's `data` list, sorted by index (the server may reorder them)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise call.bad_response("no 'data' list in the response")
    try:
        pairs = [(int(item.get("index", position)), vector_of(item["embedding"])) for position, item in enumerate(data)]
    except (AttributeError, KeyError, TypeError, ValueError, binascii.Error, struct.error) as exc:
        raise call.bad_response(f"malformed embedding entry ({type(exc).__name__}: {exc})") from exc
    return sorted(pairs, key=lambda pair: pair[0])


def vector_of(raw: Any) -> Vector:
    """A float list from a JSON array, or from base64 little-endian float32 (`encoding_format="base64"`)."""
    if isinstance(raw, str):
        packed = base64.b64decode(raw, validate=True)
        if len(packed) % 4:
            raise ValueError(f"{len(packed)} bytes are not a whole number of float32 values")
        return list(struct.unpack(f"<{len(packed) // 4}f", packed))
    if not isinstance(raw, list):
        raise TypeError(f"expected a list of floats or a base64 string, got {type(raw).__name__}")
    return list(map(float, raw))
