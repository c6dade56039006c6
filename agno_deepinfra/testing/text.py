"""Text helpers shared by the responders: token estimates, word splits and message contents."""

from __future__ import annotations

import re
from typing import Any

_WORD = re.compile(r"\w+")
_PIECE = re.compile(r"\S+\s*|\s+")


def count_tokens(text: str) -> int:
    """A cheap, deterministic token estimate: one token per 4 characters, plus one."""
    return len(text) // 4 + 1


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def stem(word: str) -> str:
    """A crude plural strip so "cities" ~ "city" and "docs" ~ "doc" match."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def word_pieces(text: str) -> list[str]:
    """Split text into word-ish stream pieces (each word keeps its trailing space); joins back to `text`."""
    return _PIECE.findall(text) or [text]


def split_even(text: str, parts: int) -> list[str]:
    """Split text into `parts` non-empty pieces of near-equal length (fewer when the text is shorter)."""
    parts = max(1, min(parts, len(text)))
    if not text:
        return [text]
    size, extra = divmod(len(text), parts)
    pieces, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def content_text(content: Any) -> tuple[str, int]:
    """The text of a message `content` (a string or a list of parts) and its number of images."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    texts: list[str] = []
    images = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in ("image_url", "input_image", "image"):
            images += 1
    return "\n".join(texts), images


def prompt_tokens(messages: list[Any]) -> int:
    """Approximate prompt tokens over every message's text (images count a flat 85 each)."""
    total = 0
    for message in messages:
        if isinstance(message, dict):
            text, images = content_text(message.get("content"))
            total += count_tokens(text) + 85 * images
    return total


def word_set(text: str) -> frozenset[str]:
    """A frozenset of the space-separated words in `text` (keeps long word lists readable)."""
    return frozenset(text.split())
