"""Every cookbook recipe runs against the emulator, exits 0 and prints something meaningful."""

from __future__ import annotations

import os
import re
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
    "open_models": ["family 'qwen'", "family 'kimi'", "family 'mistral'", "Sunny, 21C"],
    "structured_output": ['"storyline"', '"characters"'],
    "knowledge_rag": ["reranking_score=0.", "within 45 days", "Answer: "],
    "retries": ["attempt 3", "capital of France"],
    "cost_tracking": ["37 million", "Run cost:      $"],
    "tracing": ["37 million", "Trace 'Agent.run'", "LLM       DeepInfra.invoke", "EMBEDDING DeepInfraEmbedder.embed"],
    "sampling_params": ["'top_k': 40", "haiku about rivers"],
    "reasoning": ["DeepSeek-R1 reasoning:\nThe user wrote", "Qwen3 answer (streamed):\nYou said"],
    "vision": ["I see 1 image", "I see 2 images"],
    "agentos": [
        "loaded with the registry:    DeepInfra, retries=2",
        "loaded without the registry: DeepInfra, retries=0 (env only)",
        "eval with model override 'meta-llama/meta-llama-3.1-8b-instruct': HTTP 200",
    ],
    "image_generation": ["Generated 1 image(s) of 1024x1024", "Saved image 1 (image/png"],
    "transcription": ["voice-memo.wav: 2.0 seconds of audio"],
    "speech": ["Saved speech (audio/mpeg", "It says: How many legs"],
    "batch_eval": ["Correct answers: 100/100", "Batch cost:        $", "Saved:             20%"],
    "batch_corpus": ["Embedded 200 documents in one batch", "Search hit: stoves-7"],
    "session_caching": ["Turn 1: ", "0 from the cache", "Turn 4: ", "cached input tokens"],
    "list_models": ["meta-llama/Llama-3.3-70B-Instruct-Turbo", "closest available ids: meta-llama/Llama-3.3-70B"],
    "emulator_control": [
        "Agent answered: Scripted from another process.",
        "Before adding it: DeepInfra HTTP 404 for model 'acme/Brand-New-70B': Model is not available "
        "(emulator: catalog is a snapshot of",
        "After adding it: The answer is 42.",
        "The emulator logged 4 chat requests: ['openai/gpt-oss-120b', 'openai/gpt-oss-120b', 'acme/Brand-New-70B'",
    ],
}


# Numbers a recipe prints that must be positive: a cost of $0.00000000 (or None) is a failure.
POSITIVE = {
    "cost_tracking": r"Run cost:\s+\$(\d+\.\d+)",
    "batch_eval": r"Batch cost:\s+\$(\d+\.\d+)",
    "batch_corpus": r"batch cost \$(\d+\.\d+)",
    "session_caching": r"Session: (\d+) cached input tokens",
}
# Recipes that never use the real-time chat route (they run through the Batch API, or embed only).
NO_REALTIME_CHAT = {"retries", "batch_eval", "batch_corpus", "emulator_control"}  # emulator_control: its own server


def test_every_recipe_has_an_expectation() -> None:
    assert set(RECIPES) == set(EXPECTED)


@pytest.mark.timeout(300)  # a recipe is a fresh interpreter (Ray starts workers): slow on a loaded machine
@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_runs_against_the_emulator(recipe: str, emu: DeepInfraEmulator) -> None:
    env = {
        **os.environ,
        "DEEPINFRA_BASE_URL": emu.root_url,
        "DEEPINFRA_API_KEY": emu.api_key,
        "AGNO_TELEMETRY": "false",
    }
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / f"{recipe}.py")], env=env, capture_output=True, text=True, timeout=280
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for expected in EXPECTED[recipe]:
        assert expected in result.stdout, f"{expected!r} missing from:\n{result.stdout[-2000:]}"
    if recipe in POSITIVE:
        found = re.search(POSITIVE[recipe], result.stdout)
        assert found and float(found.group(1)) > 0, f"{POSITIVE[recipe]!r} not positive in:\n{result.stdout[-2000:]}"
    if recipe not in NO_REALTIME_CHAT:  # retries.py brings its own emulator with injected failures
        assert emu.requests_for("chat"), "the recipe never reached the emulator"
