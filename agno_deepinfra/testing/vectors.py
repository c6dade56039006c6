"""Deterministic embeddings and rerank scores.

Embeddings are hashed bags of words plus character trigrams (blake2b, so stable across processes,
unlike the salted built-in `hash()`), L2-normalised: texts that share words have a higher cosine
similarity than unrelated ones, which is enough for retrieval demos and tests.
"""

from __future__ import annotations

import base64
import math
import struct
from functools import lru_cache
from hashlib import blake2b

from agno_deepinfra.testing.text import stem, word_set, words

# Whole words dominate; trigrams make "weather" and "weathers" neighbours; the bias keeps every
# vector non-zero (an empty text still has a defined cosine).
_WORD_WEIGHT = 1.0
_TRIGRAM_WEIGHT = 0.35
_BIAS_WEIGHT = 0.1
_STOPWORDS = word_set(
    "a an and are as at be by do does for from how i in is it its me my of on or the this to was what "
    "which who why with you your"
)


@lru_cache(maxsize=65536)
def _slot(feature: str, dims: int) -> tuple[int, float]:
    digest = blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dims, (1.0 if value >> 63 else -1.0)


def _features(text: str) -> list[tuple[str, float]]:
    features: list[tuple[str, float]] = [("\x00bias", _BIAS_WEIGHT)]
    for word in words(text):
        weight = 0.3 if word in _STOPWORDS else _WORD_WEIGHT
        root = stem(word)
        features.append((root, weight))
        padded = f"<{root}>"
        features.extend((padded[i : i + 3], _TRIGRAM_WEIGHT * weight) for i in range(len(padded) - 2))
    return features


def raw_vector(text: str, dims: int) -> list[float]:
    """The un-normalised hashed feature vector of `text`."""
    vector = [0.0] * dims
    for feature, weight in _features(text):
        index, sign = _slot(feature, dims)
        vector[index] += sign * weight
    return vector


def normalise(vector: list[float]) -> list[float]:
    """Scale to unit length (a zero vector is returned unchanged)."""
    norm = math.hypot(*vector)
    return [value / norm for value in vector] if norm else vector


def embed(text: str, native_dims: int, dimensions: int | None = None, normalize: bool = True) -> list[float]:
    """Embed `text`; `dimensions` below native truncates and renormalises, above native zero-pads."""
    vector = raw_vector(text, native_dims)
    if normalize:
        vector = normalise(vector)
    if dimensions is None or dimensions == native_dims:
        return vector
    if dimensions < native_dims:
        return normalise(vector[:dimensions]) if normalize else vector[:dimensions]
    return vector + [0.0] * (dimensions - native_dims)


def to_base64(vector: list[float]) -> str:
    """Little-endian float32 bytes, base64-encoded, as OpenAI's `encoding_format="base64"`."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors of the same length."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.hypot(*a) * math.hypot(*b)
    return dot / norm if norm else 0.0


def rerank_score(query: str, document: str) -> float:
    """Relevance in [0, 1]: mostly the share of query words found in the document, squashed by a sigmoid."""
    query_terms = {stem(word) for word in words(query) if word not in _STOPWORDS}
    doc_terms = {stem(word) for word in words(document)}
    coverage = len(query_terms & doc_terms) / len(query_terms) if query_terms else 0.0
    similarity = max(0.0, cosine(raw_vector(query, 256), raw_vector(document, 256)))
    relevance = 0.75 * coverage + 0.25 * similarity
    return round(1.0 / (1.0 + math.exp(-10.0 * (relevance - 0.35))), 6)
