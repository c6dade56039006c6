"""Promises of the README and RELIABILITY.md that no other test guarded, each checked so it can fail.

Expected values here come from the docs' own words (300 s, 10 s, 60 s, 3 and 9 attempts, 502/504),
not from the emulator's tables.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from agno.agent import Agent
from agno.models.message import Message
from openai.types.chat import ChatCompletionChunk
from paths import PATHS, run_path

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraError, DeepInfraReranker
from agno_deepinfra.chat._attempt import StreamScope
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply, ToolCall

MakeModel = Callable[..., DeepInfra]
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------- stream ends


def _chunk(content: str | None = None, finish: str | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": finish}],
        }
    )


def test_a_stream_without_a_finish_reason_is_an_error_retried_only_before_output() -> None:
    model = DeepInfra(id="m", api_key="k")
    silent = StreamScope(model)
    silent.deliver(_chunk())  # a role-only chunk: nothing reached the consumer
    with pytest.raises(DeepInfraError, match="no finish_reason") as before_output:
        silent.ended()
    assert before_output.value.retryable is True

    spoken = StreamScope(model)
    spoken.deliver(_chunk("Hello"))
    with pytest.raises(DeepInfraError, match="no finish_reason") as after_output:
        spoken.ended()
    assert after_output.value.retryable is False  # a retry would splice two answers

    finished = StreamScope(model)
    finished.deliver(_chunk("Hello"))
    finished.deliver(_chunk(finish="stop"))
    finished.ended()  # no error


@pytest.mark.parametrize("path", ["stream", "astream"])
@pytest.mark.parametrize(
    "reply",
    [
        Reply(reasoning_content="Let me think about this carefully", content="Done."),
        Reply(tool_calls=[ToolCall(name="get_time", arguments={"city": "Paris"})]),
    ],
    ids=["after-reasoning", "after-tool-call"],
)
def test_a_break_after_reasoning_or_a_tool_call_chunk_is_not_retried(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float], path: str, reply: Reply
) -> None:
    def get_time(city: str) -> str:
        """The time in a city.

        Args:
            city: The city.
        """
        return "14:05"

    emu.queue(Fault.drop_after(1, then=reply))
    _, error = run_path(Agent(model=make_model(retries=2), tools=[get_time]), path)
    assert error is not None and "not retried" in error
    assert len(emu.requests_for("chat")) == 1 and waits == []


# ---------------------------------------------------------------------------------- timeouts


def test_default_timeouts_are_300_s_reads_and_10_s_connects() -> None:
    expected = openai.Timeout(300.0, connect=10.0)  # the SDK's own type: httpx's or httpx2's
    model = DeepInfra(id="m", api_key="k")
    assert model._get_client_params()["timeout"] == expected
    assert model.get_client().timeout == expected
    for owner in (DeepInfraEmbedder(api_key="k"), DeepInfraReranker(api_key="k")):
        assert owner._clients.sync(None, owner.timeout, owner.base_url).timeout == expected
        owner.close()


def test_max_retry_delay_defaults_to_60_s(emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float]) -> None:
    emu.queue(Fault.status(429, headers={"Retry-After": "3600"}))
    assert DeepInfra(id="m").max_retry_delay == 60.0
    assert Agent(model=make_model(retries=1, delay_between_retries=0.5)).run("hi").status.value == "COMPLETED"
    assert waits == [60.0]


# ------------------------------------------------------------------------ statuses on the wire


def _call(model: DeepInfra) -> Any:
    return model.response(messages=[Message(role="user", content="hi")])


def test_a_dropped_connection_is_a_502_and_a_timeout_a_504(emu: DeepInfraEmulator, make_model: MakeModel) -> None:
    emu.queue(Fault.drop())
    with pytest.raises(DeepInfraError, match="request failed") as dropped:
        _call(make_model())
    assert dropped.value.status_code == 502
    emu.queue(Fault.hang())
    with pytest.raises(DeepInfraError, match="timed out") as hung:
        _call(make_model(timeout=0.5))  # the fault is a hang, so a short timeout cannot be faked by load
    assert hung.value.status_code == 504


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", [408, 425])
def test_408_and_425_are_retried_on_every_path(
    emu: DeepInfraEmulator, make_model: MakeModel, waits: list[float], path: str, status: int
) -> None:
    emu.queue(Fault.status(status))
    content, error = run_path(Agent(model=make_model(retries=1, delay_between_retries=0.25)), path)
    assert error is None and content
    assert len(emu.requests_for("chat")) == 2 and waits == [0.25]


@pytest.mark.parametrize(("retries", "attempts"), [(0, 3), (2, 9)])
def test_agnos_builtin_class_makes_3_and_9_attempts(
    emu: DeepInfraEmulator, waits: list[float], retries: int, attempts: int
) -> None:
    """The README's comparison: the openai SDK's hidden retries multiply agno's (ours make retries + 1)."""
    from agno.models.deepinfra import DeepInfra as AgnosDeepInfra

    # `retry-after-ms` makes the SDK's own waits 1 ms; agno's loop sleeps through the `waits` fixture.
    emu.always(Fault.status(503, headers={"retry-after-ms": "1"}))
    builtin = AgnosDeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url, api_key=emu.api_key)
    builtin.retries, builtin.delay_between_retries = retries, 0
    assert Agent(model=builtin).run("hi").status.value == "ERROR"
    assert len(emu.requests_for("chat")) == attempts
    emu.reset()
    emu.always(Fault.status(503, headers={"retry-after-ms": "1"}))
    ours = DeepInfra(id="meta-llama/Meta-Llama-3.1-8B-Instruct", base_url=emu.base_url, api_key=emu.api_key)
    ours.retries, ours.delay_between_retries = retries, 0
    assert Agent(model=ours).run("hi").status.value == "ERROR"
    assert len(emu.requests_for("chat")) == retries + 1


# --------------------------------------------------------------------------- import and tour


def test_import_is_lazy() -> None:
    """`import agno_deepinfra` (and so the pytest plugin) loads neither agno nor openai."""
    code = "import sys, agno_deepinfra; print(sorted(m for m in ('agno', 'openai', 'httpx') if m in sys.modules))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_the_tour_covers_every_recipe() -> None:
    sys.path.insert(0, str(ROOT / "cookbook"))
    try:
        import tour
    finally:
        sys.path.pop(0)
    recipes = {p.stem for p in (ROOT / "cookbook").glob("*.py") if not p.stem.startswith("_") and p.stem != "tour"}
    assert set(tour.RECIPES) == recipes


@pytest.mark.parametrize(("recipes", "exit_code"), [(["basic"], 0), (["basic", "does_not_run"], 1)])
def test_the_tour_runs_offline_says_so_and_reports_failures(
    tmp_path: Path, recipes: list[str], exit_code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "does_not_run.py").write_text("raise SystemExit(3)\n")
    for name in ("basic.py", "_check.py"):
        (tmp_path / name).write_text((ROOT / "cookbook" / name).read_text())
    script = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'cookbook')!r}); import tour, pathlib; "
        f"tour.HERE = pathlib.Path({str(tmp_path)!r}); tour.RECIPES = {recipes!r}; sys.exit(tour.main([]))"
    )
    monkeypatch.delenv("DEEPINFRA_API_KEY", raising=False)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == exit_code, result.stderr[-2000:]
    assert "running the cookbook against the local DeepInfra emulator" in result.stdout
    assert f"{len(recipes) - exit_code} of {len(recipes)} recipes ok" in result.stdout.splitlines()[-1]
    if exit_code:
        assert "does_not_run: FAILED (exit status 3)" in result.stdout
        assert result.stdout.splitlines()[-1].endswith("FAILED: does_not_run")
