"""Prompt caching per agno session: one hashed key per session, an explicit key wins, a switch to turn it off."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from agno.agent import Agent
from agno.db.sqlite import SqliteDb

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator

MakeModel = Callable[..., DeepInfra]


def sent_keys(emu: DeepInfraEmulator) -> list[str | None]:
    return [request.body.get("prompt_cache_key") for request in emu.requests_for("chat")]


def test_one_session_one_key_another_session_another(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    agent = Agent(model=make_model())
    agent.run("Hello", session_id="chat-1", user_id="ada@example.com")
    agent.run("Hello again", session_id="chat-1", user_id="ada@example.com")
    agent.run("Hello", session_id="chat-2", user_id="ada@example.com")
    agent.run("Hello", session_id="chat-1", user_id="bob@example.com")
    first, again, other_session, other_user = sent_keys(emu)
    assert first is not None and first.startswith("agno-session-")
    assert first == again
    assert len({first, other_session, other_user}) == 3
    for request in emu.requests_for("chat"):  # raw ids never leave the process
        assert "ada@example.com" not in str(request.body) and "chat-1" not in str(request.body)


def test_the_key_is_salted_so_whoever_knows_the_ids_cannot_recompute_it(
    emu: DeepInfraEmulator, make_model: MakeModel
) -> None:
    """An unsalted hash of a user id (often an e-mail address) and a session id is a lookup away from them."""
    user, session = "ada@example.com", "chat-1"
    Agent(model=make_model()).run("Hello", session_id=session, user_id=user)
    [key] = sent_keys(emu)
    assert key is not None and key.startswith("agno-session-")
    digest = key.removeprefix("agno-session-")
    assert len(digest) == 32 and int(digest, 16) >= 0
    texts = [f"{user}\x00{session}", f"{user}{session}", f"{user}:{session}", f"{user}/{session}", session, user]
    unsalted = {
        hashlib.new(algorithm, text.encode()).hexdigest()[:32]
        for algorithm in sorted(hashlib.algorithms_guaranteed - {"shake_128", "shake_256"})
        for text in texts
    }
    assert digest not in unsalted, "the prompt cache key is an unsalted hash of the user and session ids"


def test_an_explicit_key_wins_and_the_switch_turns_it_off(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    Agent(model=make_model(prompt_cache_key="mine")).run("Hello", session_id="s")
    Agent(model=make_model(extra_body={"prompt_cache_key": "theirs"})).run("Hello", session_id="s")
    Agent(model=make_model(session_prompt_cache=False)).run("Hello", session_id="s")
    assert sent_keys(emu) == ["mine", "theirs", None]


def test_a_multi_turn_session_reads_the_cache(emu: DeepInfraEmulator, make_model: MakeModel, tmp_path: Path) -> None:
    agent = Agent(
        model=make_model(),
        db=SqliteDb(db_file=str(tmp_path / "sessions.db")),
        add_history_to_context=True,
        instructions="You are the support assistant of Nimbus Outfitters. " * 10,
    )
    first = agent.run("What is 2 + 2?", session_id="support-42")
    second = agent.run("And 3 + 3?", session_id="support-42")
    assert first.metrics is not None and second.metrics is not None
    assert first.metrics.cache_read_tokens == 0
    assert 0 < second.metrics.cache_read_tokens <= second.metrics.input_tokens
    # The cached part is billed below the input price (the emulator's price: half).
    entry = emu.catalog.get(str(agent.model.id))  # type: ignore[union-attr]
    assert entry is not None
    full_price = entry.cost(second.metrics.input_tokens, second.metrics.output_tokens)
    assert second.metrics.cost == pytest.approx(full_price - entry.cost(second.metrics.cache_read_tokens) / 2)
