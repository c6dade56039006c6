"""Every cookbook recipe runs against the emulator, exits 0 and prints something meaningful."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agno_deepinfra.testing import DeepInfraEmulator

COOKBOOK = Path(__file__).resolve().parents[1] / "cookbook"
RECIPES = sorted(p.stem for p in COOKBOOK.glob("*.py") if not p.stem.startswith("_") and p.stem != "tour")

# What each recipe's output must contain when it ran against the emulator.
EXPECTED = {
    "basic": ["horror story"],
    "basic_stream": ["horror story"],
    "async_basic": ["prime number", "noble gas", "river in Africa"],
    "async_fanout": ["40/40 runs completed"],
    "process_pools": ["4/4 pickled agents answered in a spawn pool", "4/4 models rebuilt from JSON answered"],
    "ray_scale_out": ["started a local Ray", "6/6 runs completed as Ray tasks", "the actor's agent answered 3"],
    "tool_use": ["Sunny, 21C", "14:05"],
    "structured_output": ['"storyline"', '"characters"'],
    "knowledge_rag": ["reranking_score=0.", "within 45 days", "Answer: "],
    "retries": ["attempt 3", "capital of France"],
    "cost_tracking": ["37 million", "Run cost:      $0.0000"],
    "sampling_params": ["'top_k': 40", "haiku about rivers"],
    "reasoning": ["DeepSeek-R1 reasoning:\nThe user wrote", "Qwen3 answer (streamed):\nYou said"],
    "vision": ["I see 1 image", "I see 2 images"],
    "list_models": ["meta-llama/Llama-3.3-70B-Instruct-Turbo", "closest available ids: meta-llama/Llama-3.3-70B"],
}


def test_every_recipe_has_an_expectation() -> None:
    assert set(RECIPES) == set(EXPECTED)


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_runs_against_the_emulator(recipe: str, emu: DeepInfraEmulator) -> None:
    env = {
        **os.environ,
        "DEEPINFRA_BASE_URL": emu.root_url,
        "DEEPINFRA_API_KEY": emu.api_key,
        "AGNO_TELEMETRY": "false",
    }
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / f"{recipe}.py")], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for expected in EXPECTED[recipe]:
        assert expected in result.stdout, f"{expected!r} missing from:\n{result.stdout[-2000:]}"
    if recipe != "retries":  # retries.py brings its own emulator with injected failures
        assert emu.requests_for("chat"), "the recipe never reached the emulator"
