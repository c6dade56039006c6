"""`ModelProfile`: what one family of open models needs on DeepInfra's wire, chosen from the model id.

Open models break an OpenAI-shaped client in family-specific ways (tool calls leaked into the
text, reasoning that must go back, template role rules, id formats). Each family's needs are data
here, in `FAMILIES`; the code that acts on them (`_markup`, `_outgoing`, `_stream`) reads only the
profile. A profile is chosen from the id (`profile_for`), refined by the catalog's tags when the
catalog is already cached (it is never fetched for this), and replaced or amended by the user in
one place: `DeepInfra(profile=...)`. What a 405 teaches about a model (no tools, no JSON mode), and
what a 400 teaches about its reasoning (it must go back, or must not), is remembered per model id
for the process (`learn` / `learned`).

Sources for every row: /work/shared/OPEN_MODELS.md and `testing/WIRE.md` ("Model families").
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any, Literal

# Tool-call markup a server's parser may leave in `content` (see `_markup` for each grammar).
Markup = Literal["hermes", "qwen_xml", "llama_json", "kimi", "deepseek", "harmony", "minimax"]
MARKUPS: tuple[Markup, ...] = ("hermes", "qwen_xml", "llama_json", "kimi", "deepseek", "harmony", "minimax")
# "server": ids go back exactly as the server sent them; "mistral": 9 letters and digits;
# "kimi": `functions.NAME:INDEX`, the id form Kimi K2's prompt format is trained on.
ToolCallIds = Literal["server", "mistral", "kimi"]
# "never": reasoning is not sent back; "tool_turns": on assistant messages that carry tool calls.
ReasoningPassback = Literal["never", "tool_turns"]
# Rungs of the structured-output ladder, tried in order; "prompt" is agno's JSON prompt alone.
OutputRung = Literal["json_schema", "json_object", "prompt"]


@dataclass(frozen=True)
class ModelProfile:
    """What a model family needs, as data (the package's answer to pydantic-ai's `ModelProfile`).

    Attributes:
        family: the family's name in `FAMILIES` (`"default"` for models no row matches).
        tool_markup: tool-call grammars to recover from `content` when the server's parser missed
            them (only calls of offered tools, only outside code fences and quotes); `()` is off.
        reasoning_passback: `"tool_turns"` sends the model's reasoning back on assistant messages
            that carry tool calls (thinking models lose their plan otherwise; DeepSeek and Moonshot
            answer 400 without it); `"never"` where the API refuses it (the old DeepSeek-R1). A
            first guess: the server's 400 saying otherwise is learned per model and wins.
        reasoning_field: the assistant-message field the reasoning goes back in.
        tool_call_ids: how tool-call ids go back: `"server"` (as sent), `"mistral"` (9 letters and
            digits), `"kimi"` (`functions.NAME:INDEX`). Always the same in assistant and tool messages.
        starts_in_thinking: the chat template opens `<think>` itself, so the text up to the first
            `</think>` is reasoning (Qwen3 Thinking-2507, QwQ, Kimi K2.5).
        structured_output: the structured-output ladder, best first; a 405 steps down a rung.
        single_leading_system: the template wants one system message, first (Qwen3.5+, Gemma).
        strict_alternation: the template wants user and assistant turns to alternate (Gemma,
            Mistral): consecutive user messages are merged into one.
        supports_tools: `False` fails a request with tools at once, with a clear error.
        response_format_with_tools: send `response_format` on requests that also offer tools.
            Off by default: constrained decoding (vLLM) then answers in JSON at once and never
            calls a tool, so while tools are offered the JSON prompt alone asks for the format.
    """

    family: str = "default"
    tool_markup: tuple[Markup, ...] = ()
    reasoning_passback: ReasoningPassback = "tool_turns"
    reasoning_field: str = "reasoning_content"
    tool_call_ids: ToolCallIds = "server"
    starts_in_thinking: bool = False
    structured_output: tuple[OutputRung, ...] = ("json_object", "prompt")
    single_leading_system: bool = False
    strict_alternation: bool = False
    supports_tools: bool = True
    response_format_with_tools: bool = False

    def replace(self, **changes: Any) -> ModelProfile:
        """A copy with `changes`, e.g. `profile.replace(tool_markup=())` to switch recovery off."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The profile as JSON data: `DeepInfra.settings()` stores it so, and `profile=` takes it back."""
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

    @classmethod
    def for_model(cls, model_id: str) -> ModelProfile:
        """The profile the package picks for `model_id` (from the id alone)."""
        return profile_for(model_id)


_JSON_FIRST: tuple[OutputRung, ...] = ("json_schema", "json_object", "prompt")

# The family table: (pattern on the lowercased id, profile); the first match wins.
FAMILIES: tuple[tuple[str, ModelProfile], ...] = (
    (r"kimi-k2\.[5-9]", ModelProfile("kimi-k2.5", ("kimi",), tool_call_ids="kimi", starts_in_thinking=True)),
    (r"kimi-k2", ModelProfile("kimi", ("kimi",), tool_call_ids="kimi")),
    (r"qwen3-coder", ModelProfile("qwen3-coder", ("qwen_xml", "hermes"))),
    (r"qwen3\.[5-9]", ModelProfile("qwen3.5", ("hermes", "qwen_xml"), single_leading_system=True)),
    (r"qwq|qwen3.*thinking", ModelProfile("qwen-thinking", ("hermes",), starts_in_thinking=True)),
    (r"qwen", ModelProfile("qwen", ("hermes",))),
    (r"deepseek-r1-distill-llama", ModelProfile("llama", ("llama_json",), reasoning_passback="never")),
    (r"deepseek-r1-distill-qwen", ModelProfile("qwen", ("hermes",), reasoning_passback="never")),
    (r"deepseek-r1", ModelProfile("deepseek-r1", ("deepseek",), reasoning_passback="never")),
    (r"deepseek", ModelProfile("deepseek", ("deepseek",))),
    (r"gpt-oss", ModelProfile("gpt-oss", ("harmony",), structured_output=_JSON_FIRST)),
    (r"minimax", ModelProfile("minimax", ("minimax",))),
    (r"hermes", ModelProfile("hermes", ("hermes",))),
    (r"llama", ModelProfile("llama", ("llama_json",))),
    (
        r"mistral|mixtral|ministral|magistral|devstral",
        ModelProfile("mistral", tool_call_ids="mistral", strict_alternation=True),
    ),
    (r"gemma", ModelProfile("gemma", single_leading_system=True, strict_alternation=True)),
    (r"glm", ModelProfile("glm")),
)
_PATTERNS = tuple((re.compile(pattern), profile) for pattern, profile in FAMILIES)
# A model no row matches: nothing is changed, and reasoning goes back only when the catalog
# says the model reasons (the old DeepSeek-R1 API refused reasoning in input).
DEFAULT_PROFILE = ModelProfile(reasoning_passback="never")
_REASONING_DEFAULT = ModelProfile("default-reasoning")
_BY_NAME = {profile.family: profile for _, profile in FAMILIES} | {"default": DEFAULT_PROFILE}


def family_profile(name: str) -> ModelProfile:
    """The profile of a family by name (`"qwen"`, `"kimi"`, `"mistral"`, ...); ValueError lists the names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; expected one of {', '.join(sorted(_BY_NAME))}") from None


def profile_for(model_id: str, tags: tuple[str, ...] | None = None) -> ModelProfile:
    """The profile for `model_id`: its family's row, refined by the catalog's `tags` when known.

    A version suffix (`org/name:VERSION`) does not change the family; `deploy_id:ID` and LoRA
    names match no family unless their name says it. Tags refine only what they say for sure: a
    model in no family tagged `"reasoning"` gets its reasoning sent back. A model listed without
    `"tools"` keeps tools on: tags lag, and a 405 teaches it on the first request anyway.
    """
    lowered = model_id.lower()
    for pattern, profile in _PATTERNS:
        if pattern.search(lowered):
            return profile
    if tags is not None and "reasoning" in tags:
        return _REASONING_DEFAULT
    return DEFAULT_PROFILE


def resolve(model_id: str, override: ModelProfile | str | dict[str, Any] | None) -> ModelProfile:
    """The profile a model uses: the user's `profile=` (a profile, a family name, or changes to the
    id's profile as a dict), else the id's own."""
    if isinstance(override, ModelProfile):
        return override
    if isinstance(override, str):
        return family_profile(override)
    base = profile_for(model_id)
    if isinstance(override, dict):
        known = {spec.name for spec in fields(ModelProfile)}
        unknown = sorted(set(override) - known)
        if unknown:
            raise ValueError(f"unknown ModelProfile fields {unknown}; expected some of {sorted(known)}")
        changes = {k: tuple(v) if isinstance(v, list) else v for k, v in override.items()}
        return base.replace(**changes)
    return base


# -------------------------------------------------------- what the server taught: 405s and 400s

# A 405 teaches a feature the model lacks ("tools", "json_schema", "json_object"); a 400 teaches
# whether its reasoning must go back ("reasoning_required") or must not ("reasoning_refused").
Lesson = Literal["tools", "json_schema", "json_object", "reasoning_required", "reasoning_refused"]
_OPPOSITE: dict[Lesson, Lesson] = {"reasoning_required": "reasoning_refused", "reasoning_refused": "reasoning_required"}
_LEARNED_LIMIT = 1024  # model ids remembered per process; the oldest is forgotten first
_learned: OrderedDict[tuple[str, str], frozenset[Lesson]] = OrderedDict()
_learned_lock = threading.Lock()


def learn(base_url: str, model_id: str, lesson: Lesson) -> None:
    """Remember what the server at `base_url` answered for `model_id` (a 405, or a reasoning 400).

    The two reasoning lessons exclude each other: the latest answer wins.
    """
    key = (base_url, model_id)
    with _learned_lock:
        kept = _learned.get(key, frozenset())
        opposite = _OPPOSITE.get(lesson)
        _learned[key] = (kept - {opposite} if opposite else kept) | {lesson}
        _learned.move_to_end(key)
        while len(_learned) > _LEARNED_LIMIT:
            _learned.popitem(last=False)


def learned(base_url: str, model_id: str) -> frozenset[Lesson]:
    """What the server taught about `model_id` in this process: features it lacks, the reasoning verdict."""
    return _learned.get((base_url, model_id), frozenset())


def forget_learned() -> None:
    """Forget every lesson (tests; or after DeepInfra enables a feature or changes a model)."""
    with _learned_lock:
        _learned.clear()


def with_lessons(profile: ModelProfile, base_url: str, model_id: str) -> ModelProfile:
    """`profile` under the server's reasoning verdict for `model_id`, when a 400 taught one (it wins).

    Runs several times per request: a bare dict lookup while nothing was learned.
    """
    lessons = _learned.get((base_url, model_id)) if _learned else None
    if not lessons or not lessons & _REASONING:
        return profile
    return _taught(profile, "tool_turns" if "reasoning_required" in lessons else "never")


_REASONING: frozenset[Lesson] = frozenset({"reasoning_required", "reasoning_refused"})


@lru_cache(maxsize=256)
def _taught(profile: ModelProfile, passback: ReasoningPassback) -> ModelProfile:
    return profile if profile.reasoning_passback == passback else profile.replace(reasoning_passback=passback)
