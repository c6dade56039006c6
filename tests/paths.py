"""Run an agent on each of agno's four paths and report what the consumer saw."""

from __future__ import annotations

import asyncio
from importlib.util import find_spec
from typing import Any

import pytest
from agno.agent import Agent
from agno.run.agent import RunContentEvent, RunErrorEvent
from agno.run.base import RunStatus
from agno.run.team import RunContentEvent as TeamRunContentEvent
from agno.run.team import RunErrorEvent as TeamRunErrorEvent
from agno.team import Team

PATHS = ["run", "arun", "stream", "astream"]
# The async paths also run on `async_transport="aiohttp"` where the aiohttp extra is installed.
NEEDS_AIOHTTP = pytest.mark.skipif(find_spec("aiohttp") is None, reason="the aiohttp extra is not installed")


CONTENT_EVENTS = (RunContentEvent, TeamRunContentEvent)
ERROR_EVENTS = (RunErrorEvent, TeamRunErrorEvent)


def run_path(agent: Agent | Team, path: str, prompt: str = "hello") -> tuple[str, str | None]:
    """(content the consumer received, error text or None) for `run`, `arun`, `stream` or `astream`."""
    if path in ("run", "arun"):
        output = agent.run(prompt) if path == "run" else asyncio.run(agent.arun(prompt))
        failed = output.status == RunStatus.error
        return ("", str(output.content)) if failed else (str(output.content), None)
    events = list(agent.run(prompt, stream=True)) if path == "stream" else asyncio.run(_collect(agent, prompt))
    text = "".join(e.content for e in events if isinstance(e, CONTENT_EVENTS) and isinstance(e.content, str))
    errors = [str(e.content) for e in events if isinstance(e, ERROR_EVENTS)]
    return text, (errors[0] if errors else None)


async def _collect(agent: Agent | Team, prompt: str) -> list[Any]:
    return [event async for event in agent.arun(prompt, stream=True)]
