"""`make demo` tells the truth: a recipe whose agent run failed exits non-zero and the tour names it.

agno reports a failed model call in `RunOutput.status`, not by raising, so a recipe that only
printed the answer printed the error and exited 0, and the tour counted it ok (issue 23: 19 of 24
"ok" while 127 agent runs failed). Here the tour runs a representative subset of recipes, each in
its own interpreter as `make demo` does, against an emulator that refuses every call (a key that
is not its own), then against the same emulator with its key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agno_deepinfra.testing import DeepInfraEmulator

TOUR = Path(__file__).resolve().parents[1] / "cookbook" / "tour.py"
# A plain run, a stream, async runs, tools (streamed), structured output, and metrics read off a run.
SUBSET = ["basic", "basic_stream", "async_basic", "tool_use", "structured_output", "cost_tracking"]


def run_tour(emu: DeepInfraEmulator, api_key: str) -> subprocess.CompletedProcess[str]:
    """`python cookbook/tour.py <SUBSET>` against the emulator with `api_key`; stderr merged into stdout, in order."""
    env = {**os.environ, "DEEPINFRA_BASE_URL": emu.root_url, "DEEPINFRA_API_KEY": api_key, "AGNO_TELEMETRY": "false"}
    return subprocess.run(
        [sys.executable, str(TOUR), *SUBSET],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=280,
        check=False,
    )


def sections(output: str) -> dict[str, str]:
    """Each recipe's part of the tour's output, by recipe name."""
    parts = output.split("\n===== cookbook/")[1:]
    return {part.split(".py =====", 1)[0]: part for part in parts}


@pytest.mark.timeout(300)  # six fresh interpreters: slow on a loaded machine
def test_a_refused_key_fails_the_tour_and_names_every_recipe(emu: DeepInfraEmulator) -> None:
    result = run_tour(emu, api_key="not-the-emulators-key")

    assert result.returncode == 1, result.stdout[-3000:]
    assert result.stdout.rstrip().splitlines()[-1] == f"0 of {len(SUBSET)} recipes ok; FAILED: {', '.join(SUBSET)}"
    found = sections(result.stdout)
    assert list(found) == SUBSET
    for name, text in found.items():
        assert f"----- {name}: FAILED (exit status 1)" in text, text[-2000:]
        # The recipe's own check ended it, with DeepInfra's refusal: not a crash on the way.
        assert f"{name}.py: FAILED: the agent run" in text, text[-2000:]
        assert "HTTP 401" in text, text[-2000:]
        assert "Traceback" not in text, text[-2000:]
    assert emu.requests_for("chat"), "no recipe reached the emulator"


@pytest.mark.timeout(300)
def test_the_same_recipes_pass_with_the_emulators_key(emu: DeepInfraEmulator) -> None:
    result = run_tour(emu, api_key=emu.api_key)

    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.rstrip().splitlines()[-1] == f"{len(SUBSET)} of {len(SUBSET)} recipes ok."
    found = sections(result.stdout)
    assert list(found) == SUBSET
    for name, text in found.items():
        assert f"----- {name}: ok" in text, text[-2000:]


def test_a_recipe_killed_by_a_signal_counts_as_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recipe the system killed (out of memory, say) has no exit status of its own: the tour counts it FAILED."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tour_under_test", TOUR)
    assert spec is not None and spec.loader is not None
    tour = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tour)
    (tmp_path / "killed.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    (tmp_path / "fine.py").write_text("print('fine')\n")
    monkeypatch.setattr(tour, "HERE", tmp_path)  # the recipes' folder
    assert tour.run_recipes(dict(os.environ), ["killed", "fine"]) == ["killed"]
    assert "----- killed: FAILED (exit status -9)" in capsys.readouterr().out
