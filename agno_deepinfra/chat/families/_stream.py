"""Stream repairs per family: tool-call deltas re-indexed by id, and leaked tool calls held back.

Both act only when there is something to repair: a stream without tool-call deltas, or without
a start marker of the family's markup, passes through untouched and undelayed.
"""

from __future__ import annotations

from typing import Any

from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall, ChoiceDeltaToolCallFunction

from agno_deepinfra.chat.families._markup import is_shown, recover, start_markers
from agno_deepinfra.chat.families.profiles import Markup


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

    def fix(self, deltas: list[Any]) -> None:
        """Rewrite the `index` of a chunk's tool-call deltas in place."""
        for delta in deltas:
            server_index = getattr(delta, "index", None)  # some engines leave it out
            if delta.id and delta.id not in self.ids:
                self.ids[delta.id] = len(self.ids)
                self.by_server_index[server_index] = self.ids[delta.id]
                self.current = self.ids[delta.id]
            elif delta.id:
                self.current = self.ids[delta.id]
            else:
                self.current = self.by_server_index.get(server_index, self.current)
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
        self.first_chars = frozenset(marker[0] for marker in self.markers)
        self.held = ""  # a marker's possible beginning, waiting for the next chunk
        self.kept: list[str] = []  # everything from a start marker on (joined once, at the end)
        self.holding = False
        self.pieces: list[str] = []  # the delivered text's last pieces: whether a marker is quoted depends on them
        self.fences = 0  # code fences in the delivered text: odd means a marker now would be shown code
        self.tail = ""  # the delivered text's last two characters

    def feed(self, text: str) -> str:
        """The part of `text` that can go out now."""
        if self.holding:
            self.kept.append(text)
            return ""
        if not self.held:
            for char in self.first_chars:
                if char in text:
                    break
            else:
                return self._out(text)  # the common case: no marker can start in this text
        text = self.held + text
        self.held = ""
        starts = [at for marker in self.markers if (at := text.find(marker)) != -1]
        recent = self.recent if starts else ""
        context, offset = recent + text, len(recent)
        for at in sorted(starts):
            if text.startswith('{"name"', at) and context[: offset + at].rstrip(" \t")[-1:] not in ("", "\n"):
                continue  # bare JSON is a call only at the start of a line (Llama 3)
            fenced = (self.fences + (self.tail + text[:at]).count("```")) % 2 == 1  # inside an open code fence
            if not is_shown(context, offset + at, [(0, len(context))] if fenced else []):
                self.holding, self.kept = True, [text[at:]]
                return self._out(text[:at])
        keep = _partial(text, self.markers, self.longest)
        self.held = text[len(text) - keep :] if keep else ""
        return self._out(text[: len(text) - keep])

    def _out(self, text: str) -> str:
        if "`" in text or self.tail:  # a fence cut across two chunks still counts
            joined = self.tail + text
            self.fences += joined.count("```")
            self.tail = joined[-2:] if "`" in joined[-2:] else ""
        self.pieces.append(text)
        if len(self.pieces) > 256:  # keep the last ones only: enough to see quotes and fences around a marker
            del self.pieces[:128]
        return text

    @property
    def recent(self) -> str:
        return "".join(self.pieces)[-400:]

    def finish(self, had_tool_calls: bool) -> tuple[str, list[ChoiceDeltaToolCall]]:
        """At the stream's end: the text still held, and the calls recovered from it."""
        held = "".join(self.kept) + self.held
        self.held, self.kept, self.holding = "", [], False
        found = None if had_tool_calls or not held else recover(held, self.grammars, self.offered)
        if found is None:
            return held, []
        text, calls = found
        return text, [_delta(index, call) for index, call in enumerate(calls)]


def _partial(text: str, markers: tuple[str, ...], longest: int) -> int:
    """Length of the longest end of `text` that begins one of the markers (0 in the common case)."""
    start = max(0, len(text) - longest + 1)
    best = 0
    for marker in markers:
        at = text.find(marker[0], start)
        while at != -1 and len(text) - at > best:
            if marker.startswith(text[at:]):
                best = len(text) - at
                break
            at = text.find(marker[0], at + 1)
    return best


def _delta(index: int, call: dict[str, Any]) -> ChoiceDeltaToolCall:
    function = call["function"]
    return ChoiceDeltaToolCall(
        index=index,
        id=call["id"],
        type="function",
        function=ChoiceDeltaToolCallFunction(name=function["name"], arguments=function["arguments"]),
    )
