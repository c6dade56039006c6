"""Live checks against the real DeepInfra API: `make live` with DEEPINFRA_API_KEY set.

Deselected by default (`-m "not live"`) and skipped without a key; CI never runs them.
"""

from __future__ import annotations

import os

import pytest
from agno.agent import Agent
from agno.run.base import RunStatus

from agno_deepinfra import DeepInfra

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.getenv("LIVE_DEEPINFRA_API_KEY"), reason="set DEEPINFRA_API_KEY to run live tests"),
]
MODEL_ID = os.getenv("LIVE_DEEPINFRA_MODEL", "meta-llama/Llama-3.3-70B-Instruct-Turbo")


def live_model(**kwargs: object) -> DeepInfra:
    return DeepInfra(id=MODEL_ID, api_key=os.environ["LIVE_DEEPINFRA_API_KEY"], retries=2, **kwargs)  # type: ignore[arg-type]


def test_live_answer_and_cost() -> None:
    output = Agent(model=live_model()).run("Reply with the single word: pong")
    assert output.status == RunStatus.completed, output.content
    assert "pong" in str(output.content).lower()
    assert output.metrics is not None and output.metrics.input_tokens > 0


def test_live_unknown_model_error_carries_deepinfras_text() -> None:
    output = Agent(model=live_model(id="no-such/model-xyz")).run("hi")
    assert output.status == RunStatus.error
    assert "404" in str(output.content)
