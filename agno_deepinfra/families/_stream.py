"""Stream repairs per family: tool-call deltas re-indexed by id, and leaked tool calls held back.

Both act only when there is something to repair: a stream without tool-call deltas, or without
a start marker of the family's markup, passes through untouched and undelayed.
"""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletionChunk
from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall, ChoiceDeltaToolCallFunction

from agno_deepinfra.families._markup import is_shown, recover, start_markers
from agno_deepinfra.families.profiles import Markup


class ToolIndexer:
    """Gives each streamed tool call its own `index`, keyed on its id.

    Some engines send parallel calls with no `index`, or `index: 0` on every call; agno then merges
    them into one call (`{"city":"Paris"}{"tz":"CET"}`). A new id opens a new call; fragments
    without an id belong to the call their server index last named (or the latest call).
    """

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.by_server_index: dict[int | None, int] = {}
        self.current = 0

    def fix(self, chunk: ChatCompletionChunk) -> None:
        """Rewrite the `index` of the chunk's tool-call deltas in place."""
        for delta in chunk.choices[0].delta.tool_calls or ():
            if delta.id and delta.id not in self.ids:
                self.ids[delta.id] = len(self.ids)
                self.by_server_index[delta.index] = self.ids[delta.id]
                self.current = self.ids[delta.id]
            elif delta.id:
                self.current = self.ids[delta.id]
            else:
                self.current = self.by_server_index.get(delta.index, self.current)
            delta.index = self.current


class MarkupHold:
    """Holds streamed text back from the first start marker of a leaked tool call to the end.

    Text before any marker goes out at once (only a marker's possible beginning at a chunk's end
    waits for the next chunk). At the end, the held text is parsed: recovered calls become tool
    calls, anything else goes out as the text it was.
    """

    def __init__(self, grammars: tuple[Markup, ...], offered: frozenset[str]) -> None:
        self.grammars = grammars
        self.offered = offered
        self.markers = start_markers(grammars)
        self.longest = max(len(marker) for marker in self.markers)
        self.held = ""
        self.holding = False
        self.recent = ""  # the end of the delivered text: whether a marker is quoted depends on it

    def feed(self, text: str) -> str:
        """The part of `text` that can go out now."""
        if self.holding:
            self.held += text
            return ""
        text = self.held + text
        self.held = ""
        context = self.recent + text
        offset = len(self.recent)
        starts = [at for marker in self.markers if (at := text.find(marker)) != -1]
        for at in sorted(starts):
            if text.startswith('{"name"', at) and context[: offset + at].rstrip(" \t")[-1:] not in ("", "\n"):
                continue  # bare JSON is a call only at the start of a line (Llama 3)
            if not is_shown(context, offset + at, _fenced(context)):
                self.holding, self.held = True, text[at:]
                return self._out(text[:at])
        keep = _partial(text, self.markers, self.longest)
        self.held = text[len(text) - keep :] if keep else ""
        return self._out(text[: len(text) - keep])

    def _out(self, text: str) -> str:
        self.recent = (self.recent + text)[-400:]
        return text

    def finish(self, had_tool_calls: bool) -> tuple[str, list[ChoiceDeltaToolCall]]:
        """At the stream's end: the text still held, and the calls recovered from it."""
        held, self.held, self.holding = self.held, "", False
        found = None if had_tool_calls or not held else recover(held, self.grammars, self.offered)
        if found is None:
            return held, []
        text, calls = found
        return text, [_delta(index, call) for index, call in enumerate(calls)]


def _fenced(text: str) -> list[tuple[int, int]]:
    """An open code fence (an odd number of ``` so far) makes everything after it shown code."""
    count = text.count("```")
    if count % 2 == 0:
        return []
    return [(text.rfind("```"), len(text))]


def _partial(text: str, markers: tuple[str, ...], longest: int) -> int:
    """Length of the longest end of `text` that begins one of the markers."""
    for length in range(min(longest - 1, len(text)), 0, -1):
        tail = text[len(text) - length :]
        if any(marker.startswith(tail) for marker in markers):
            return length
    return 0


def _delta(index: int, call: dict[str, Any]) -> ChoiceDeltaToolCall:
    function = call["function"]
    return ChoiceDeltaToolCall(
        index=index,
        id=call["id"],
        type="function",
        function=ChoiceDeltaToolCallFunction(name=function["name"], arguments=function["arguments"]),
    )
