"""Open models just work (issue 25): each family's wire quirks, through agno's real Agent on all four paths.

The emulator puts on each family's behaviour (`testing/families.py`, WIRE.md "Model families"):
tool calls leaked into the text, index-less stream deltas, tag-less thinking, the 405s, template
role rules, id styles, sent-back reasoning required or refused.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from agno.agent import Agent
from agno.db.in_memory import InMemoryDb
from agno.run.agent import RunContentEvent, RunErrorEvent, RunOutput
from agno.run.base import RunStatus
from paths import PATHS
from pydantic import BaseModel

from agno_deepinfra import DeepInfra, ModelProfile
from agno_deepinfra.chat.families import profiles
from agno_deepinfra.testing import DeepInfraEmulator, Reply, ToolCall

MakeModel = Callable[..., DeepInfra]
_serial = itertools.count()


@pytest.fixture(autouse=True)
def _forget_learned() -> Iterator[None]:
    profiles.forget_learned()
    yield
    profiles.forget_learned()


def quirky(emu: DeepInfraEmulator, family_id: str, *quirks: str, **kwargs: Any) -> str:
    """A fresh model id of the family `family_id` names, served with `quirks` (ids stay unique per test)."""
    model_id = f"{family_id}-emu{next(_serial)}"
    kwargs.setdefault("tags", ("tools",))
    emu.add_model(model_id, quirks=quirks, **kwargs)
    return model_id


class Weather:
    """A tool that records its calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def tools(self) -> list[Callable[..., str]]:
        def get_weather(city: str) -> str:
            """Weather for a city."""
            self.calls.append({"city": city})
            return f"windy in {city}"

        def get_time(tz: str) -> str:
            """The time in a time zone."""
            self.calls.append({"tz": tz})
            return f"noon in {tz}"

        return [get_weather, get_time]


def drive(agent: Agent, path: str, prompt: str = "What is the weather in Paris?") -> tuple[RunOutput, list[str]]:
    """The run's output and, on stream paths, the content pieces the consumer saw."""
    if path == "run":
        return agent.run(prompt), []
    if path == "arun":
        return asyncio.run(agent.arun(prompt)), []
    if path == "stream":
        events = list(agent.run(prompt, stream=True, yield_run_output=True))
    else:

        async def collect() -> list[Any]:
            return [e async for e in agent.arun(prompt, stream=True, yield_run_output=True)]

        events = asyncio.run(collect())
    outputs = [e for e in events if isinstance(e, RunOutput)]
    errors = [e for e in events if isinstance(e, RunErrorEvent)]
    if errors and not outputs:  # a failed stream ends with its error event
        return RunOutput(status=RunStatus.error, content=str(errors[0].content)), []
    assert len(outputs) == 1
    pieces = [e.content for e in events if isinstance(e, RunContentEvent) and isinstance(e.content, str)]
    return outputs[0], pieces


def chat_bodies(emu: DeepInfraEmulator) -> list[dict[str, Any]]:
    return [request.body for request in emu.requests_for("chat")]


# ------------------------------------------------------------------------- 0. model profiles


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("Qwen/Qwen3-32B", "qwen"),
        ("Qwen/Qwen3-Coder-480B-A35B-Instruct", "qwen3-coder"),
        ("Qwen/Qwen3-235B-A22B-Thinking-2507", "qwen-thinking"),
        ("Qwen/Qwen3.5-397B-A17B", "qwen3.5"),
        ("moonshotai/Kimi-K2-Instruct-0905", "kimi"),
        ("moonshotai/Kimi-K2.5", "kimi-k2.5"),
        ("moonshotai/Kimi-K2-Thinking", "kimi"),
        ("Qwen/Qwen3-8B", "qwen"),
        ("deepseek-ai/DeepSeek-R1-0528", "deepseek-r1"),
        ("deepseek-ai/DeepSeek-V3.1:v2", "deepseek"),
        ("openai/gpt-oss-120b", "gpt-oss"),
        ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "mistral"),
        ("google/gemma-3-27b-it", "gemma"),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama"),
        ("deploy_id:abc123", "default"),
    ],
)
def test_profile_is_chosen_from_the_id(model_id: str, family: str) -> None:
    assert DeepInfra(id=model_id, api_key="k").model_profile().family == family


def test_profile_override_in_one_place() -> None:
    """A profile, a family name, or changes to the id's profile; the override is a client setting."""
    custom = ModelProfile(family="mine", tool_call_ids="mistral")
    assert DeepInfra(id="Qwen/Qwen3-32B", profile=custom).model_profile() is custom
    assert DeepInfra(id="acme/private", profile="kimi").model_profile().tool_call_ids == "kimi"
    changed = DeepInfra(id="Qwen/Qwen3-32B", profile={"tool_markup": []}).model_profile()
    assert changed.tool_markup == () and changed.family == "qwen"
    assert "profile" not in vars(DeepInfra(id="x", profile="kimi"))  # out of agno's fingerprints
    rebuilt = DeepInfra.from_settings(DeepInfra(id="acme/x", profile=custom).settings())
    assert rebuilt.model_profile() == custom  # the settings round trip carries the profile
    with pytest.raises(ValueError, match="unknown model family"):
        DeepInfra(id="x", profile="nope").model_profile()


def test_catalog_tags_refine_the_profile_only_when_cached(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    """A model in no family tagged "reasoning" gets its reasoning sent back, once the catalog is at hand."""
    from agno_deepinfra import catalog

    model_id = quirky(emu, "acme/thinker", tags=("tools", "reasoning"))
    model = make_model(id=model_id)
    assert model.model_profile().reasoning_passback == "never"
    assert emu.requests_for("models") == []  # choosing a profile never fetches the catalog
    catalog.known_ids(model._catalog_url, emu.api_key)
    assert model.model_profile().reasoning_passback == "tool_turns"


def test_gpt_oss_sets_agnos_json_schema_capability_when_built() -> None:
    assert DeepInfra(id="openai/gpt-oss-120b").supports_json_schema_outputs is True
    assert DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct").supports_json_schema_outputs is False


# ------------------------------------------------------------------ 1. leaked tool calls recovered

LEAKS = {
    "hermes": "Qwen/Qwen2.5-72B-Instruct",
    "qwen_xml": "Qwen/Qwen3-Coder-480B-A35B-Instruct",
    "llama_json": "meta-llama/Llama-3.3-70B-Instruct",
    "kimi": "moonshotai/Kimi-K2-Instruct",
    "deepseek": "deepseek-ai/DeepSeek-V3.1",
    "harmony": "openai/gpt-oss-120b",
    "minimax": "MiniMaxAI/MiniMax-M2",
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("grammar", list(LEAKS))
def test_leaked_tool_calls_are_recovered(
    emu: DeepInfraEmulator, make_model: MakeModel, grammar: str, path: str
) -> None:
    model_id = quirky(emu, LEAKS[grammar], f"leak:{grammar}")
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_time", {"tz": "CET"})]))
    output, pieces = drive(Agent(model=make_model(id=model_id), tools=weather.tools()), path)
    assert output.status == RunStatus.completed
    assert weather.calls == [{"city": "Paris"}, {"tz": "CET"}]
    assert "The get_weather tool returned: windy in Paris." in str(output.content)
    for text in [str(output.content), *pieces]:
        assert "tool_call" not in text and "functions." not in text and "<invoke" not in text


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "content",
    [
        'To look it up I would write "<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>".',
        "The format is:\n```\n<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n```\nDone.',
        'Call it like `<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>` next time.',
        '> <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\nThat is a call.',
        "A long example:\n```\n" + "filler line of code\n" * 40 + "<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n```\nDone.',
        '<tool_call>{"name": "delete_everything", "arguments": {}}</tool_call>',
    ],
    ids=["quoted", "fenced", "inline-code", "block-quote", "deep-in-a-long-fence", "not-offered"],
)
def test_quoted_or_unoffered_calls_are_left_as_text(
    emu: DeepInfraEmulator, make_model: MakeModel, content: str, path: str
) -> None:
    """A model that shows or explains a call (of an offered tool) is not taken to make one."""
    weather = Weather()
    emu.queue(Reply(content=content, chunks=7))
    output, pieces = drive(Agent(model=make_model(id="Qwen/Qwen2.5-72B-Instruct"), tools=weather.tools()), path)
    assert weather.calls == []
    assert output.content == content
    if pieces:
        assert "".join(pieces) == content


@pytest.mark.parametrize("path", PATHS)
def test_parallel_calls_naming_a_tool_not_offered_are_all_left_as_text(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    """One group of calls (Llama's `;`-separated list) with one tool not offered: none of it is a call."""
    weather = Weather()
    content = (
        '{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "delete_everything", "parameters": {}}'
    )
    emu.queue(Reply(content=content, chunks=7))
    output, pieces = drive(Agent(model=make_model(id="meta-llama/Llama-3.3-70B-Instruct"), tools=weather.tools()), path)
    assert weather.calls == []
    assert output.content == content
    if pieces:
        assert "".join(pieces) == content


def test_recovery_work_is_bounded_for_a_hostile_reply() -> None:
    """Thousands of unclosed start markers: each parse could read to the end; the attempts are capped."""
    from agno_deepinfra.chat.families import _markup

    hostile = "<tool_call><function=get_weather><parameter=city>x " * 3000
    assert _markup.recover(hostile, ("qwen_xml", "hermes"), frozenset({"get_weather"})) is None
    assert _markup.recover("a" * (_markup.MAX_TEXT + 1), ("hermes",), frozenset({"get_weather"})) is None
    calls = "".join(
        f'<tool_call>{{"name": "get_weather", "arguments": {{"city": "c{i}"}}}}</tool_call>' for i in range(40)
    )
    recovered = _markup.recover(calls, ("hermes",), frozenset({"get_weather"}))
    assert recovered is not None and len(recovered[1]) == _markup.MAX_ATTEMPTS


@pytest.mark.parametrize("path", PATHS)
def test_recovery_can_be_switched_off(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    model_id = quirky(emu, "Qwen/Qwen2.5-7B-Instruct", "leak:hermes")
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    model = make_model(id=model_id, profile={"tool_markup": ()})
    output, _ = drive(Agent(model=model, tools=weather.tools()), path)
    assert weather.calls == []
    assert "<tool_call>" in str(output.content)


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_streams_hold_text_back_only_from_a_start_marker(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    weather = Weather()
    agent = Agent(model=make_model(id="Qwen/Qwen2.5-72B-Instruct"), tools=weather.tools())
    emu.queue(Reply(content="one two three four", chunks=4))
    _, pieces = drive(agent, path)
    assert len(pieces) == 4 and "".join(pieces) == "one two three four"  # nothing held: no marker
    leaked = 'Checking now. <tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
    emu.queue(Reply(content=leaked, chunks=6))
    _, pieces = drive(agent, path)
    assert weather.calls == [{"city": "Oslo"}]
    assert pieces[0].startswith("Checking")
    assert not any("<tool" in piece for piece in pieces)


# ------------------------------------------------------------------------ 8. tools not supported


@pytest.mark.parametrize("path", PATHS)
def test_tools_unsupported_is_a_clear_error_learned_once(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    model_id = quirky(emu, "NousResearch/Hermes-3-Llama-3.1-70B", "tools_unsupported")
    weather = Weather()
    agent = Agent(model=make_model(id=model_id, retries=2, delay_between_retries=0), tools=weather.tools())
    output, _ = drive(agent, path)
    assert output.status == RunStatus.error
    message = str(output.content)
    assert model_id in message and "does not support tool calling" in message and "without tools" in message
    assert "Tool calling is not supported for model" in message  # DeepInfra's own text
    assert len(emu.requests_for("chat")) == 1  # not retried
    again, _ = drive(agent, path)
    assert again.status == RunStatus.error and "does not support tool calling" in str(again.content)
    assert len(emu.requests_for("chat")) == 1  # the second run failed fast, from the cache
    assert weather.calls == []


# --------------------------------------------------------- 4. arguments and 5. ids, outgoing only


@pytest.mark.parametrize("path", PATHS)
def test_malformed_arguments_go_back_as_json_objects(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    """A Python literal goes back as JSON, cut arguments as `{}`; agno's stored messages keep the raw text."""
    model_id = quirky(emu, "Qwen/Qwen3-14B", "strict_history_args")
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", "{'city': 'Rome'}"), ToolCall("get_time", '{"tz": "CE')]))
    output, _ = drive(Agent(model=make_model(id=model_id), tools=weather.tools()), path)
    assert output.status == RunStatus.completed, output.content
    assert weather.calls == [{"city": "Rome"}]  # agno runs the literal, never the cut call
    sent = chat_bodies(emu)[1]["messages"]
    calls = next(m for m in sent if m.get("tool_calls"))["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == ['{"city": "Rome"}', "{}"]
    stored = next(m for m in output.messages or [] if m.tool_calls)
    assert [c["function"]["arguments"] for c in stored.tool_calls or []] == ["{'city': 'Rome'}", '{"tz": "CE']


@pytest.mark.parametrize("path", PATHS)
def test_server_tool_call_ids_go_back_as_sent(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="tool-7f3a.x")]))
    drive(Agent(model=make_model(id="Qwen/Qwen3-32B"), tools=weather.tools()), path)
    sent = chat_bodies(emu)[1]["messages"]
    assert next(m for m in sent if m.get("tool_calls"))["tool_calls"][0]["id"] == "tool-7f3a.x"
    assert next(m for m in sent if m["role"] == "tool")["tool_call_id"] == "tool-7f3a.x"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("family_id", "quirk", "expected"),
    [
        ("mistralai/Mistral-Small-24B-Instruct-2501", "mistral_ids", None),
        ("moonshotai/Kimi-K2-Instruct-0905", "ids:kimi", ["functions.get_weather:0", "functions.get_time:1"]),
    ],
    ids=["mistral", "kimi"],
)
def test_tool_call_ids_in_the_familys_form(
    emu: DeepInfraEmulator, make_model: MakeModel, family_id: str, quirk: str, expected: list[str] | None, path: str
) -> None:
    model_id = quirky(emu, family_id, quirk)
    weather = Weather()
    calls = [
        ToolCall("get_weather", {"city": "Oslo"}, id="call_abcdef123456"),
        ToolCall("get_time", {"tz": "CET"}, id="x-2"),
    ]
    emu.queue(Reply(tool_calls=calls))
    output, _ = drive(Agent(model=make_model(id=model_id), tools=weather.tools()), path)
    assert output.status == RunStatus.completed, output.content
    sent = chat_bodies(emu)[1]["messages"]
    ids = [c["id"] for c in next(m for m in sent if m.get("tool_calls"))["tool_calls"]]
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ids
    if expected is None:
        assert all(len(i) == 9 and i.isalnum() for i in ids) and len(set(ids)) == 2
    else:
        assert ids == expected
    stored = next(m for m in output.messages or [] if m.tool_calls)
    assert [c["id"] for c in stored.tool_calls or []] == ["call_abcdef123456", "x-2"]  # the session is untouched


# ---------------------------------------------------------------- 6. stream re-index, 7. thinking


@pytest.mark.parametrize("path", ["stream", "astream"])
@pytest.mark.parametrize("style", ["omit", "zero"])
@pytest.mark.parametrize("family", ["meta-llama/Llama-3.1-8B-Instruct", "mistralai/Mistral-Small-3.2-24B-Instruct"])
def test_streamed_calls_without_index_stay_apart(
    emu: DeepInfraEmulator, make_model: MakeModel, style: str, path: str, family: str
) -> None:
    """Also for a family with no markup to hold (Mistral), where plain chunks skip the repairs."""
    weather = Weather()
    calls = [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_time", {"tz": "CET"})]
    emu.queue(Reply(tool_calls=calls, tool_index=style))  # type: ignore[arg-type]
    output, _ = drive(Agent(model=make_model(id=quirky(emu, family)), tools=weather.tools()), path)
    assert output.status == RunStatus.completed, output.content
    assert weather.calls == [{"city": "Paris"}, {"tz": "CET"}]


@pytest.mark.parametrize("path", PATHS)
def test_thinking_without_an_opening_tag_is_reasoning(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    model_id = quirky(emu, "Qwen/QwQ-32B", reasoning="think_open")
    output, pieces = drive(Agent(model=make_model(id=model_id)), path, "What is 2 + 3?")
    assert "</think>" not in str(output.content) and "I should answer" not in str(output.content)
    assert "The answer is 5." in str(output.content)
    assert "I should answer briefly" in str(output.reasoning_content)
    assert not any("</think>" in piece or "I should answer" in piece for piece in pieces)


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_a_closing_think_tag_cut_across_chunks_still_ends_the_thought(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    model_id = quirky(emu, "Qwen/QwQ-32B", reasoning="think_open")
    content = "I should answer briefly.</think>\n\nThe answer is 5."
    emu.queue(Reply(content=content, chunks=len(content)))  # one character per event: the tag comes in pieces
    output, pieces = drive(Agent(model=make_model(id=model_id)), path, "What is 2 + 3?")
    assert str(output.content).strip() == "The answer is 5."
    assert "I should answer briefly." in str(output.reasoning_content)
    assert not any("<" in piece or ">" in piece for piece in pieces)


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_switched_off_thinking_streams_the_answer_as_content(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    """A family whose template opens `<think>` answers without thinking when told: that is content."""
    model = make_model(id="moonshotai/Kimi-K2.5", chat_template_kwargs={"thinking": False})
    emu.add_model("moonshotai/Kimi-K2.5", tags=("tools",))
    emu.queue(Reply(content="The answer is 5."))
    output, pieces = drive(Agent(model=model), path, "What is 2 + 3?")
    assert output.content == "The answer is 5." and "".join(pieces) == "The answer is 5."
    assert not output.reasoning_content


# --------------------------------------------------------------------------- 2. reasoning back


@pytest.mark.parametrize("path", PATHS)
def test_reasoning_goes_back_on_tool_turns(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    model_id = quirky(emu, "deepseek-ai/DeepSeek-V3.2", "require_reasoning")
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})], reasoning_content="Look up Oslo first."))
    output, _ = drive(Agent(model=make_model(id=model_id), tools=weather.tools()), path)
    assert output.status == RunStatus.completed, output.content
    sent = chat_bodies(emu)[1]["messages"]
    assert next(m for m in sent if m.get("tool_calls"))["reasoning_content"] == "Look up Oslo first."


@pytest.mark.parametrize("path", PATHS)
def test_reasoning_is_never_sent_where_refused(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    model_id = quirky(emu, "deepseek-ai/DeepSeek-R1", "reject_reasoning")
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})], reasoning_content="Look up Oslo."))
    output, _ = drive(Agent(model=make_model(id=model_id), tools=weather.tools()), path)
    assert output.status == RunStatus.completed, output.content
    assert all("reasoning_content" not in m for m in chat_bodies(emu)[1]["messages"])


def test_reasoning_is_never_sent_to_deepseek_r1_by_its_own_id() -> None:
    """The catalog's own id, not a test's variant of it (`quirky` appends a suffix): `DeepSeek-R1` exactly."""
    with DeepInfraEmulator() as own:  # its own catalog: the session's keeps the plain entry
        own.add_model("deepseek-ai/DeepSeek-R1", tags=("tools", "reasoning"), quirks=("reject_reasoning",))
        weather = Weather()
        own.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})], reasoning_content="Look up Oslo."))
        model = DeepInfra(id="deepseek-ai/DeepSeek-R1", base_url=own.base_url, api_key=own.api_key)
        output, _ = drive(Agent(model=model, tools=weather.tools()), "run")
        assert output.status == RunStatus.completed, output.content
        assert all("reasoning_content" not in m for m in chat_bodies(own)[1]["messages"])


# The server's answer settles the family's guess: a 400 that reasoning must go back (or must not)
# is learned per model and the request is sent once more, without using up an agno retry.
OSLO = "Look up Oslo first."


def _tool_turns(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m.get("tool_calls")]


def _stored_tool_turns(agent: Agent) -> list[Any]:
    return [m for m in agent.get_session_messages() if m.tool_calls]


def _learns_the_reasoning_verdict(emu: DeepInfraEmulator, model: Any, path: str, *, sent_first: bool) -> None:
    """One refused request, one resend with the reasoning flipped, and the next run flipped from the start."""

    def sends(body: dict[str, Any]) -> bool:
        return "reasoning_content" in _tool_turns(body)[0]

    weather = Weather()
    agent = Agent(model=model, tools=weather.tools(), db=InMemoryDb(), session_id="s")
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})], reasoning_content=OSLO))
    output, _ = drive(agent, path)
    assert output.status == RunStatus.completed, output.content
    bodies = chat_bodies(emu)
    assert len(bodies) == 3  # the tool call, the refused request, the one resend
    assert sends(bodies[1]) is sent_first and sends(bodies[2]) is not sent_first
    if not sent_first:
        assert _tool_turns(bodies[2])[0]["reasoning_content"] == OSLO
    assert weather.calls == [{"city": "Oslo"}]
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Bergen"})], reasoning_content="Now Bergen."))
    again, _ = drive(agent, path, "And in Bergen?")
    assert again.status == RunStatus.completed, again.content
    bodies = chat_bodies(emu)
    assert len(bodies) == 5 and sends(bodies[4]) is not sent_first  # the lesson applies from the start
    if not sent_first:
        assert _tool_turns(bodies[4])[0]["reasoning_content"] == "Now Bergen."
    stored = _stored_tool_turns(agent)  # agno's session: one tool turn per run, as the server sent it
    assert [m.reasoning_content for m in stored] == [OSLO, "Now Bergen."]


@pytest.mark.parametrize("quirk", ["require_reasoning", "require_reasoning:moonshot"])
@pytest.mark.parametrize("path", PATHS)
def test_reasoning_required_by_the_server_is_learned(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str, quirk: str
) -> None:
    """A model in no family sends no reasoning back; DeepSeek's or Moonshot's 400 teaches it: one resend."""
    model = make_model(id=quirky(emu, "acme/thinker", quirk), retries=2, delay_between_retries=0)
    _learns_the_reasoning_verdict(emu, model, path, sent_first=False)


@pytest.mark.parametrize("quirk", ["reject_reasoning", "reject_reasoning:unsupported", "reject_reasoning:extra"])
@pytest.mark.parametrize("path", PATHS)
def test_reasoning_refused_by_the_server_is_learned(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str, quirk: str
) -> None:
    """DeepSeek's family sends reasoning back; a server refusing the field (400 or 422) teaches it: one resend."""
    model = make_model(id=quirky(emu, "deepseek-ai/DeepSeek-V3.2", quirk), retries=2, delay_between_retries=0)
    _learns_the_reasoning_verdict(emu, model, path, sent_first=True)


@pytest.mark.parametrize("path", PATHS)
def test_a_second_refusal_fails_the_run_and_is_not_retried(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    """A server that requires the reasoning and refuses it too: one resend, then a clear error; no agno retry."""
    model_id = quirky(emu, "acme/thinker", "require_reasoning", "reject_reasoning:unsupported")
    weather = Weather()
    agent = Agent(model=make_model(id=model_id, retries=2, delay_between_retries=0), tools=weather.tools())
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})], reasoning_content=OSLO))
    output, _ = drive(agent, path)
    assert output.status == RunStatus.error
    message = str(output.content)
    assert "refused again after one resend" in message and "(not retried)" in message
    assert "for 'role:assistant' the following must be satisfied" in message  # DeepInfra's own text
    assert len(emu.requests_for("chat")) == 3  # the tool call, the refusal, the one resend: never a fourth
    assert weather.calls == [{"city": "Oslo"}]


def test_required_reasoning_with_none_to_send_fails_without_a_resend(
    emu: DeepInfraEmulator, make_model: MakeModel
) -> None:
    model_id = quirky(emu, "acme/thinker", "require_reasoning")
    agent = Agent(model=make_model(id=model_id, retries=2, delay_between_retries=0), tools=Weather().tools())
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]))  # no reasoning to send back
    output, _ = drive(agent, "run")
    assert output.status == RunStatus.error and "must be passed back" in str(output.content)
    assert len(emu.requests_for("chat")) == 2


def test_the_servers_answer_wins_over_an_explicit_profile_with_one_warning(
    emu: DeepInfraEmulator, make_model: MakeModel, caplog: pytest.LogCaptureFixture
) -> None:
    model_id = quirky(emu, "deepseek-ai/DeepSeek-V3.2", "require_reasoning")
    model = make_model(id=model_id, profile={"reasoning_passback": "never"})
    agent = Agent(model=model, tools=Weather().tools())
    for city in ("Oslo", "Bergen"):
        emu.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": city})], reasoning_content=f"Look up {city}."))
        with caplog.at_level(logging.WARNING):
            output, _ = drive(agent, "run", f"Weather in {city}?")
        assert output.status == RunStatus.completed, output.content
    warnings = [r.getMessage() for r in caplog.records if "requires its reasoning back" in r.getMessage()]
    assert len(warnings) == 1 and "over the reasoning_passback='never' of profile=" in warnings[0]
    assert len(emu.requests_for("chat")) == 5
    assert model.model_profile().reasoning_passback == "tool_turns"


# ------------------------------------------------------------------------------- 9. role rules


@pytest.mark.parametrize("path", PATHS)
def test_one_leading_system_message(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    model_id = quirky(emu, "Qwen/Qwen3.5-397B-A17B", "system_first")
    agent = Agent(
        model=make_model(id=model_id),
        instructions="Be brief.",
        additional_input=[
            {"role": "system", "content": "Answer in English."},
            {"role": "user", "content": "Earlier question."},
        ],
    )
    output, _ = drive(agent, path, "hi")
    assert output.status == RunStatus.completed, output.content
    sent = chat_bodies(emu)[0]["messages"]
    assert [m["role"] for m in sent].count("system") == 1 and sent[0]["role"] == "system"
    assert "Be brief." in sent[0]["content"] and "Answer in English." in sent[0]["content"]


@pytest.mark.parametrize("path", PATHS)
def test_a_lone_system_message_after_other_turns_moves_first(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    model_id = quirky(emu, "Qwen/Qwen3.5-397B-A17B", "system_first")
    agent = Agent(
        model=make_model(id=model_id),
        additional_input=[
            {"role": "user", "content": "Earlier question."},
            {"role": "system", "content": "Answer in English."},
        ],
    )
    output, _ = drive(agent, path, "hi")
    assert output.status == RunStatus.completed, output.content
    sent = chat_bodies(emu)[0]["messages"]
    assert [m["role"] for m in sent].count("system") == 1 and sent[0]["content"] == "Answer in English."


@pytest.mark.parametrize("path", PATHS)
def test_consecutive_user_turns_merged_where_roles_must_alternate(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    model_id = quirky(emu, "google/gemma-3-27b-it", "alternate")
    agent = Agent(model=make_model(id=model_id), additional_input=[{"role": "user", "content": "Earlier question."}])
    output, _ = drive(agent, path, "hi")
    assert output.status == RunStatus.completed, output.content
    sent = chat_bodies(emu)[0]["messages"]
    users = [m for m in sent if m["role"] == "user"]
    assert len(users) == 1 and "Earlier question." in users[0]["content"] and "hi" in users[0]["content"]
    assert not any(m.content == "Earlier question.\n\nhi" for m in output.messages or [])  # stored apart


# ---------------------------------------------------------------------------- 10. truncation


@pytest.mark.parametrize("path", PATHS)
def test_truncation_is_never_silent(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    weather = Weather()
    emu.queue(Reply(tool_calls=[ToolCall("get_weather", '{"city": "Par')], finish_reason="length"))
    emu.queue(Reply(content="It is", finish_reason="length"))
    with caplog.at_level(logging.WARNING, logger="agno_deepinfra"):
        drive(Agent(model=make_model(), tools=weather.tools()), path)
    assert weather.calls == []  # cut arguments never run
    warnings = [r.getMessage() for r in caplog.records if "finish_reason 'length'" in r.getMessage()]
    assert len(warnings) == 2 and all("max_tokens" in w and "Llama-3.1-8B" in w for w in warnings)


@pytest.mark.parametrize("path", PATHS)
def test_a_cut_short_answer_without_tools_is_warned_about(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No tools offered, so a stream holds nothing back: the finish alone must reach the check."""
    emu.queue(Reply(content="It is", finish_reason="length"))
    with caplog.at_level(logging.WARNING, logger="agno_deepinfra"):
        output, _ = drive(Agent(model=make_model()), path)
    assert output.content == "It is"
    assert [r.getMessage() for r in caplog.records if "finish_reason 'length'" in r.getMessage()] != []


# ------------------------------------------------------------------------------------ 11. flex


def test_flex_tier_is_accepted_with_a_read_timeout_for_its_queue(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    import openai

    from agno_deepinfra.chat._request import FLEX_TIMEOUT

    model = make_model(service_tier="flex")
    output = Agent(model=model).run("hi")
    assert output.status == RunStatus.completed
    assert chat_bodies(emu)[0]["service_tier"] == "flex"
    request = model._chat_request([], None, None, None, None, False)
    assert isinstance(request["timeout"], openai.Timeout) and FLEX_TIMEOUT.read is not None
    assert FLEX_TIMEOUT.read > 600  # DeepInfra may queue a flex request for up to 10 minutes
    assert "timeout" not in make_model(service_tier="flex", timeout=30)._chat_request([], None, None, None, None, False)


# ------------------------------------------------------------------- 3. structured-output ladder


class City(BaseModel):
    name: str
    country: str


@pytest.mark.parametrize("path", ["run", "arun"])
def test_json_mode_refused_falls_back_to_the_prompt(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    model_id = quirky(emu, "stepfun-ai/Step-3.5-Flash", "json_object_unsupported")
    agent = Agent(model=make_model(id=model_id), output_schema=City)
    output, _ = drive(agent, path, "Name a city in France")
    assert output.status == RunStatus.completed, output.content
    assert isinstance(output.content, City)
    first, second = chat_bodies(emu)
    assert first["response_format"] == {"type": "json_object"} and "response_format" not in second
    drive(agent, path, "Another one")
    assert "response_format" not in chat_bodies(emu)[2]  # learned: no second 405


@pytest.mark.parametrize("path", ["run", "arun"])
def test_json_schema_refused_steps_down_with_agnos_prompt(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str
) -> None:
    model_id = quirky(emu, "openai/gpt-oss-20b", "json_schema_unsupported")
    agent = Agent(model=make_model(id=model_id), output_schema=City, instructions="Answer briefly.")
    output, _ = drive(agent, path, "Name a city in France")
    assert output.status == RunStatus.completed, output.content
    assert isinstance(output.content, City)
    first, second = chat_bodies(emu)
    assert first["response_format"]["type"] == "json_schema"
    assert second["response_format"] == {"type": "json_object"}
    assert "<json_fields>" in second["messages"][0]["content"]  # the schema travels in agno's prompt
    assert "Answer briefly." in second["messages"][0]["content"]  # added to the system message, not replacing it


@pytest.mark.parametrize("path", PATHS)
def test_response_format_does_not_suppress_tools(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    """While tools are offered, the format travels as agno's JSON prompt: constrained decoding would block the call."""
    model_id = quirky(emu, "Qwen/Qwen3-30B-A3B", "response_format_suppresses_tools")
    weather = Weather()
    agent = Agent(model=make_model(id=model_id), tools=weather.tools(), output_schema=City)
    drive(agent, path, "What is the weather in Paris?")
    assert weather.calls == [{"city": "Paris"}]
    assert all("response_format" not in body for body in chat_bodies(emu))


# -------------------------------------------------------------------------- 11. short error text


@pytest.mark.parametrize("path", PATHS)
def test_a_retried_429s_log_line_stays_short(
    emu: DeepInfraEmulator, make_model: MakeModel, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """120 characters of DeepInfra's text in the message, and the message once per retry line.

    agno's format prints the error twice in a run and three times in a stream (753 and 1,117
    characters with the whole text, 593 and 877 with the message cut alone).
    """
    from agno_deepinfra.testing import Fault

    long_text = "Model busy, retry later; " * 60
    emu.queue(Fault.status(429, body={"error": {"message": long_text}}))
    caplog.set_level(logging.WARNING)
    output, _ = drive(Agent(model=make_model(retries=1, delay_between_retries=0)), path, "hi")
    assert output.status == RunStatus.completed
    [line] = [r.getMessage() for r in caplog.records if "Retrying in" in r.getMessage()]
    assert line.count("DeepInfra HTTP 429") == 1 and "Model busy, retry later" in line
    assert line.endswith("Retrying in 0s...") and len(line) < 500


def test_a_logger_configured_for_agno_names_the_error_once(
    emu: DeepInfraEmulator, make_model: MakeModel, caplog: pytest.LogCaptureFixture
) -> None:
    """A logger the user hands agno (`configure_agno_logging`) gets the short line too; other lines pass untouched."""
    from agno.utils import log as agno_log

    from agno_deepinfra._shared.errors import DeepInfraError
    from agno_deepinfra.testing import Fault

    # An earlier error whose message is part of this one's (`DeepInfra HTTP 503`) cuts no copy short.
    DeepInfraError(message="DeepInfra HTTP 503 for model 'meta-llama", status_code=503, model_name="m")
    mine = logging.getLogger("my_app.agno")
    before = (agno_log.logger, agno_log.agent_logger)
    agno_log.configure_agno_logging(custom_default_logger=mine, custom_agent_logger=mine)
    try:
        emu.queue(Fault.status(503, body={"error": {"message": "No capacity"}}))
        caplog.set_level(logging.WARNING)
        output, _ = drive(Agent(model=make_model(retries=1, delay_between_retries=0)), "stream", "hi")
        mine.warning("%s and %s", "same", "same")
    finally:
        agno_log.logger, agno_log.agent_logger = before
    assert output.status == RunStatus.completed
    lines = [r.getMessage() for r in caplog.records if r.name == "my_app.agno"]
    [retry] = [line for line in lines if "Retrying in" in line]
    assert retry.count("No capacity") == 1, retry
    assert "same and same" in lines


# ------------------------------------------------------------------------ 12. special id forms


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "model_id", ["meta-llama/meta-llama-3.1-8b-instruct:v2", "deploy_id:meta-llama-3.1-8b-instruct"]
)
def test_special_id_forms_are_left_alone(
    emu: DeepInfraEmulator, make_model: MakeModel, model_id: str, path: str
) -> None:
    """A version or deployment id is not a typo: no case correction, no suggestions, no catalog fetch."""
    output, _ = drive(Agent(model=make_model(id=model_id)), path, "hi")
    assert output.status == RunStatus.error and "404" in str(output.content)
    assert "closest available ids" not in str(output.content)
    assert [r.model for r in emu.requests_for("chat")] == [model_id]
    assert emu.requests_for("models") == []
