"""Wherever agno keeps a model: session records, rebuilt agents, fingerprints, case-mangled ids.

agno stores `model.to_dict()` in every session and saved agent, rebuilds models from provider and
id alone (through its provider table, which `register()` points at this class), and fingerprints
models for its judges and environments. Each path is taken through agno's real code.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from agno.agent import Agent
from agno.db.base import SessionType
from agno.db.sqlite import SqliteDb
from agno.models.deepinfra import DeepInfra as AgnosDeepInfra
from agno.team import Team
from paths import PATHS, run_path

from agno_deepinfra import DeepInfra
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply

MakeModel = Callable[..., DeepInfra]
SECRET = "sk-never-stored-0123456789"
CATALOG_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"  # in the emulator's catalog


def _every_kind_of_setting() -> dict[str, Any]:
    """Constructor values of every type `DeepInfra` accepts, the non-JSON ones included."""
    settings: dict[str, Any] = {
        "api_key": SECRET,
        "base_url": httpx.URL("https://example.test/v1/openai"),
        "timeout": httpx.Timeout(30.0, connect=5.0),
        "http_client": httpx.Client(),
        "client_params": {"timeout": httpx.Timeout(9.0)},
        "default_headers": {"X-Team": "a"},
        "extra_headers": {"Authorization": f"Bearer {SECRET}", "X-Trace": "t"},
        "extra_body": {"ratio": Decimal("0.5"), "pair": (1, 2), "tags": {"x"}},
        "stop": ("END",),
        "logit_bias": {"50256": -100},
        "request_params": {"timeout": httpx.Timeout(3.0)},
        "retries": 2,
        "max_retry_delay": 5,
        "async_transport": "httpx",
    }
    return settings


def _httpx2_timeout() -> Any:
    """openai 3 types its timeouts with httpx2's `Timeout`: accepted too, when installed."""
    try:
        import httpx2
    except ImportError:
        return None
    return httpx2.Timeout(30.0, connect=5.0)


# ------------------------------------------------------------------------- session records


def test_to_dict_is_json_for_every_kind_of_constructor_value() -> None:
    settings = _every_kind_of_setting()
    data = DeepInfra(id="Qwen/Qwen3-32B", **settings).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert SECRET not in json.dumps(data)
    assert data["extra_headers"] == {"Authorization": "<redacted>", "X-Trace": "t"}
    assert data["extra_body"] == {"ratio": "0.5", "pair": [1, 2], "tags": ["x"]}
    settings["http_client"].close()


def test_to_dict_is_json_with_httpx2_timeouts() -> None:
    timeout = _httpx2_timeout()
    if timeout is None:
        pytest.skip("httpx2 is only installed with openai 3")
    data = DeepInfra(id="Qwen/Qwen3-32B", api_key="k", timeout=timeout).to_dict()
    assert json.loads(json.dumps(data)) == data


def _timeout(library: str, seconds: float, connect: float) -> Any:
    """A `Timeout` of httpx, or of httpx2 (openai 3's `openai.Timeout`), skipping when that one is absent."""
    if library == "httpx":
        return httpx.Timeout(seconds, connect=connect)
    timeout = _httpx2_timeout()
    if timeout is None:
        pytest.skip("httpx2 is only installed with openai 3")
    return type(timeout)(seconds, connect=connect)


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
@pytest.mark.parametrize("path", ["run", "arun"])
def test_a_timeout_of_either_library_travels_as_json_and_bounds_real_calls(
    emu: DeepInfraEmulator, make_model: MakeModel, library: str, path: str
) -> None:
    """On agno 3.1 a timeout reaches `settings()` (and not agno's `to_dict()`): there it must be its dict.

    The model rebuilt from that JSON answers, and its timeout is live: a hung request fails as a
    timeout instead of waiting, on the model as given and on the rebuilt one.
    """
    model = make_model(timeout=_timeout(library, 0.5, connect=5.0))
    settings = model.settings()
    assert settings["timeout"] == {"connect": 5.0, "read": 0.5, "write": 0.5, "pool": 0.5}
    assert json.loads(json.dumps(model.to_dict())) == model.to_dict()
    message = json.loads(json.dumps(settings))
    rebuilt = DeepInfra.from_settings(message, api_key=emu.api_key, trusted_base_urls=[emu.base_url])
    assert rebuilt.settings() == settings
    for each in (model, rebuilt):
        content, error = run_path(Agent(model=each), path)
        assert error is None and "deterministic reply" in str(content)
        emu.queue(Fault.hang())
        _, error = run_path(Agent(model=each), path)
        assert error is not None and "request timed out" in error


def _agent(model: DeepInfra, db: SqliteDb) -> Agent:
    return Agent(model=model, db=db, session_id="s-1", add_history_to_context=True)


def _team(model: DeepInfra, db: SqliteDb) -> Team:
    member = Agent(name="member", model=model)
    return Team(members=[member], model=model, db=db, session_id="s-1", add_history_to_context=True)


@pytest.mark.parametrize("build", [_agent, _team], ids=["agent", "team"])
@pytest.mark.parametrize("path", PATHS)
def test_a_session_with_a_timeout_object_is_saved_and_turn_two_carries_turn_one(
    emu: DeepInfraEmulator, make_model: MakeModel, tmp_path: Path, build: Any, path: str
) -> None:
    db = SqliteDb(db_file=str(tmp_path / "sessions.db"))
    owner = build(make_model(timeout=httpx.Timeout(30.0, connect=5.0)), db)
    emu.queue(Reply(content="Nice to meet you, Ada."))
    emu.queue(Reply(content="You are Ada."))
    assert run_path(owner, path, "My name is Ada.") == ("Nice to meet you, Ada.", None)
    assert run_path(owner, path, "Who am I?") == ("You are Ada.", None)

    kind = SessionType.AGENT if isinstance(owner, Agent) else SessionType.TEAM
    stored = db.get_session(session_id="s-1", session_type=kind)
    assert stored is not None and len(stored.runs or []) == 2
    contents = [m.get("content") for m in emu.requests_for("chat")[1].body["messages"]]
    assert contents[-3:] == ["My name is Ada.", "Nice to meet you, Ada.", "Who am I?"]


# ------------------------------------------------------------------------- rebuilt agents


def test_rebuilt_agent_is_ours_when_registered(env_to_emulator: DeepInfraEmulator, registered: None) -> None:
    agent = Agent(name="a", model=DeepInfra(id="Qwen/Qwen3-32B", api_key=SECRET, base_url="https://elsewhere.test"))
    rebuilt = Agent.from_dict(agent.to_dict())
    assert type(rebuilt.model) is DeepInfra
    assert rebuilt.model.id == "Qwen/Qwen3-32B"
    # A rebuild keeps the environment and nothing else: the emulator, not the original base URL.
    assert rebuilt.model.base_url == env_to_emulator.base_url
    assert rebuilt.run("hi").status.value == "COMPLETED"


def test_rebuilt_team_is_ours_when_registered(env_to_emulator: DeepInfraEmulator, registered: None) -> None:
    team = Team(
        name="t", members=[Agent(name="m", model=DeepInfra(id=CATALOG_ID))], model=DeepInfra(id="Qwen/Qwen3-32B")
    )
    rebuilt = Team.from_dict(team.to_dict())
    assert type(rebuilt.model) is DeepInfra and rebuilt.model.id == "Qwen/Qwen3-32B"
    assert rebuilt.run("hi").status.value == "COMPLETED"


def test_without_register_agno_rebuilds_its_own_class_and_we_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    agent = Agent(name="a", model=DeepInfra(id="Qwen/Qwen3-32B", api_key="k"))
    with caplog.at_level(logging.WARNING, logger="agno_deepinfra"):
        data = agent.to_dict()
        agent.to_dict()
    assert type(Agent.from_dict(data).model) is AgnosDeepInfra
    warnings = [r.getMessage() for r in caplog.records if "register()" in r.getMessage()]
    assert len(warnings) == 1
    assert "agno_deepinfra.register()" in warnings[0] and "Registry" in warnings[0]


def test_plain_runs_and_sessions_do_not_warn(
    emu: DeepInfraEmulator, make_model: MakeModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Session records are written on every run but never rebuilt into models: no noise for them."""
    with caplog.at_level(logging.WARNING, logger="agno_deepinfra"):
        _agent(make_model(), SqliteDb(db_file=str(tmp_path / "s.db"))).run("hi")
        make_model().to_dict()
    assert not [r for r in caplog.records if "register()" in r.getMessage()]


def test_saving_a_team_warns_too(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agno_deepinfra"):
        Team(members=[Agent(name="m")], model=DeepInfra(id="Qwen/Qwen3-32B", api_key="k")).to_dict()
    assert [r for r in caplog.records if "agno_deepinfra.register()" in r.getMessage()]


def test_no_warning_once_registered(registered: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agno_deepinfra"):
        DeepInfra(id="Qwen/Qwen3-32B", api_key="k").to_dict()
    assert not [r for r in caplog.records if "register()" in r.getMessage()]


@pytest.mark.parametrize("with_registry", [True, False], ids=["registry", "no-registry"])
def test_save_and_load_an_agent(
    env_to_emulator: DeepInfraEmulator, registered: None, tmp_path: Path, with_registry: bool
) -> None:
    from agno.registry import Registry

    db = SqliteDb(db_file=str(tmp_path / "agents.db"))
    model = DeepInfra(id="Qwen/Qwen3-32B", top_k=5, retries=3, base_url=env_to_emulator.base_url)
    Agent(id="helper", name="helper", model=model, db=db).save()
    registry = Registry()
    registry.add_model(model)
    loaded = Agent.load("helper", db=db, registry=registry if with_registry else None)
    assert loaded is not None and type(loaded.model) is DeepInfra
    if with_registry:
        assert loaded.model is model  # the live, configured instance
    else:
        assert (loaded.model.id, loaded.model.retries, loaded.model.top_k) == ("Qwen/Qwen3-32B", 0, None)
    assert loaded.run("hi").status.value == "COMPLETED"


def test_string_fallback_models_resolve_to_ours(env_to_emulator: DeepInfraEmulator, registered: None) -> None:
    from agno.models.fallback import FallbackConfig

    env_to_emulator.queue(Fault.status(500))  # retries=0: agno moves on to the fallback at once
    primary = DeepInfra(id="Qwen/Qwen3-32B")
    config = FallbackConfig(on_error=[f"deepinfra:{CATALOG_ID}"])
    config.resolve_models()
    assert [type(m) for m in config.on_error] == [DeepInfra]
    agent = Agent(model=primary, fallback_config=config)
    output = agent.run("hi")
    assert output.status.value == "COMPLETED"
    assert [r.model for r in env_to_emulator.requests_for("chat")] == ["Qwen/Qwen3-32B", CATALOG_ID]


# ----------------------------------------------------------------------------- fingerprints

CLIENT_ONLY_CHANGES = [
    {"max_retry_delay": 1.0},
    {"retry_jitter": 0.5},
    {"async_transport": "aiohttp"},
    {"retries": 5, "delay_between_retries": 0.1, "exponential_backoff": True},
    {"timeout": httpx.Timeout(5.0)},
    {"max_retries": 3},
    {"api_key": "another-key"},
    {"batch_api": True},
    {"session_prompt_cache": False},
    {"max_concurrency": 3},
    {"max_concurrency": "auto"},
    {"profile": "mistral"},
    {"profile": {"tool_markup": ()}},
]


def test_every_client_setting_is_among_the_fingerprint_checks() -> None:
    """A `ClientSetting` added later is checked too: the list above must name every one of them."""
    from agno_deepinfra._shared.config import ClientSetting

    declared = {name for klass in DeepInfra.__mro__ for name, v in vars(klass).items() if isinstance(v, ClientSetting)}
    checked = {name for change in CLIENT_ONLY_CHANGES for name in change}
    assert declared >= {"max_concurrency", "max_retry_delay", "retry_jitter"}  # the derivation finds them
    assert declared <= checked, f"client settings without a fingerprint check: {sorted(declared - checked)}"


def _fingerprints(model: DeepInfra) -> tuple[str, str]:
    from agno.environments import Environment, Task
    from agno.scorer.judge import JudgeScorer

    judge = JudgeScorer(model=model, criteria="is it right?")
    env = Environment(name="e", tasks=(Task(input="q"),), scorer=judge, agent=Agent(model=model))
    return judge.digest(), env.policy_fingerprint()


@pytest.mark.parametrize("change", CLIENT_ONLY_CHANGES, ids=lambda c: "+".join(c))
def test_client_settings_leave_agnos_fingerprints_unchanged(change: dict[str, Any]) -> None:
    if change.get("async_transport") == "aiohttp":
        pytest.importorskip("aiohttp")
    base = {"id": "Qwen/Qwen3-32B", "api_key": "k", "temperature": 0.2}
    assert _fingerprints(DeepInfra(**{**base, **change})) == _fingerprints(DeepInfra(**base))


@pytest.mark.parametrize("change", [{"top_k": 5}, {"temperature": 0.9}, {"id": "Qwen/Qwen3-14B"}], ids=str)
def test_model_settings_do_move_the_fingerprints(change: dict[str, Any]) -> None:
    base = {"id": "Qwen/Qwen3-32B", "api_key": "k", "temperature": 0.2}
    before, after = _fingerprints(DeepInfra(**base)), _fingerprints(DeepInfra(**{**base, **change}))
    assert before[0] != after[0] and before[1] != after[1]


def test_client_settings_still_read_write_and_compare() -> None:
    model = DeepInfra(id="x", api_key="k", max_retry_delay=2, retry_jitter=0.1)
    assert (model.max_retry_delay, model.retry_jitter, model.async_transport) == (2, 0.1, "httpx")
    assert model != DeepInfra(id="x", api_key="k")
    assert "max_retry_delay=2" in repr(model)
    assert DeepInfra(id="x").max_retry_delay == 60.0


# --------------------------------------------------------------------- case-mangled model ids


# Lowercase (as agno's provider table hands ids back), uppercase and mixed: the correction is
# remembered under the id as given, so each pays one 404 in all, never one per call.
WRONG_CASES = [CATALOG_ID.lower(), CATALOG_ID.upper(), CATALOG_ID.swapcase()]


@pytest.mark.parametrize("wrong", WRONG_CASES, ids=["lower", "upper", "swapped"])
@pytest.mark.parametrize("path", PATHS)
def test_an_id_in_the_wrong_case_is_corrected_once(
    emu: DeepInfraEmulator, make_model: MakeModel, path: str, wrong: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = make_model(id=wrong)
    agent = Agent(model=model)
    with caplog.at_level(logging.WARNING, logger="agno_deepinfra"):
        for _ in range(3):  # the spelling is remembered: no second 404
            content, error = run_path(agent, path)
            assert error is None and content
    assert [(r.route, r.model) for r in emu.requests] == [
        ("chat", wrong),
        ("models", None),
        ("chat", CATALOG_ID),
        ("chat", CATALOG_ID),
        ("chat", CATALOG_ID),
    ], "the corrected spelling was not reused: every call paid a 404 and a resend"
    assert model.id == wrong  # the user's id is left as given
    assert sum("case-sensitive" in r.getMessage() for r in caplog.records) == 1


def test_the_correction_does_not_use_up_a_retry(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    """retries=0 still allows the one corrected resend: it belongs to the same attempt."""
    output = Agent(model=make_model(id=CATALOG_ID.upper(), retries=0)).run("hi")
    assert output.status.value == "COMPLETED"
    assert len(emu.requests_for("chat")) == 2


@pytest.mark.parametrize("path", PATHS)
def test_an_unknown_id_in_exact_case_is_not_resent(emu: DeepInfraEmulator, make_model: MakeModel, path: str) -> None:
    _, error = run_path(Agent(model=make_model(id="meta-llama/Meta-Llama-3.1-8B-Instruct-Nope", retries=2)), path)
    assert error is not None and "404" in error and "closest available ids" in error and CATALOG_ID in error
    assert [r.route for r in emu.requests] == ["chat", "models"]


def test_an_ambiguous_case_match_is_not_guessed() -> None:
    with DeepInfraEmulator() as emu:  # its own server: the added model must not outlive this test
        emu.add_model(CATALOG_ID.upper())  # now two ids differ from the lowercase one only in case
        model = DeepInfra(id=CATALOG_ID.lower(), base_url=emu.base_url, api_key=emu.api_key)
        output = Agent(model=model).run("hi")
        assert output.status.value == "ERROR" and "404" in str(output.content)
        assert [r.route for r in emu.requests] == ["chat", "models"]


def test_async_correction_fetches_the_catalog_without_blocking_the_loop(
    emu: DeepInfraEmulator, make_model: MakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agno_deepinfra.catalog as catalog

    def blocking_fetch(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the sync catalog fetch ran inside the event loop")

    monkeypatch.setattr(catalog, "list_models", blocking_fetch)
    output = asyncio.run(Agent(model=make_model(id=CATALOG_ID.lower())).arun("hi"))
    assert output.status.value == "COMPLETED"
