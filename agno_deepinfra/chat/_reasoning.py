"""`<think>...</think>` in streamed content, moved to agno's reasoning content.

Some DeepInfra models (Qwen3, QwQ, DeepSeek-R1 distills) think inside the content instead of
sending `reasoning_content`. agno splits that out of whole responses, not out of streams, where a
tag can also arrive cut across two chunks.
"""

from __future__ import annotations

from agno.models.response import ModelResponse

OPEN, CLOSE = "<think>", "</think>"


class ThinkSplitter:
    """Per-stream state: whether we are inside a think block, and a tag cut across chunks."""

    def __init__(self, inside: bool = False) -> None:
        # `inside`: the chat template opened `<think>` itself (Qwen3 Thinking-2507, QwQ, Kimi K2.5),
        # so the stream starts in the thought; a `reasoning_content` delta from the server ends that.
        self.inside = inside
        self.assumed = inside  # inside only by assumption, until the first content arrives
        self.pending = ""  # the start of a tag, held back until the next chunk completes it
        self.after_close = False  # strip the blank line models put after </think>

    def split(self, response: ModelResponse) -> ModelResponse:
        """Move thinking text of this delta from `content` to `reasoning_content`."""
        content = response.content
        if self.assumed:
            if response.reasoning_content:
                self.inside = False  # the server splits the thinking out itself
            self.assumed = self.assumed and not content
        if not isinstance(content, str) or not (self.inside or self.pending or "<" in content):
            return self._strip_after_close(response)  # the common case: plain answer text
        visible, thinking = self._scan(self.pending + content)
        response.content = visible or None
        if thinking:
            response.reasoning_content = (response.reasoning_content or "") + thinking
        return self._strip_after_close(response)

    def _scan(self, text: str) -> tuple[str, str]:
        visible: list[str] = []
        thinking: list[str] = []
        self.pending = ""
        while text:
            tag = CLOSE if self.inside else OPEN
            at = text.find(tag)
            if at == -1:
                keep = _partial_tag_length(text, tag)
                self.pending = text[len(text) - keep :]
                (thinking if self.inside else visible).append(text[: len(text) - keep])
                break
            (thinking if self.inside else visible).append(text[:at])
            text = text[at + len(tag) :]
            self.after_close = self.inside
            self.inside = not self.inside
        return "".join(visible), "".join(thinking)

    def _strip_after_close(self, response: ModelResponse) -> ModelResponse:
        if self.after_close and isinstance(response.content, str):
            response.content = response.content.lstrip() or None
            self.after_close = response.content is None
        return response


def _partial_tag_length(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a start of `tag` (a tag cut by the chunking)."""
    for length in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:length]):
            return length
    return 0
