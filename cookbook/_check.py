"""The recipes' one check: a recipe whose agent run failed exits with status 1, never 0.

agno reports a failed model call in the run's output, not by raising: `RunOutput.status` is
`RunStatus.error` and the content is the error text (a stream yields a `RunErrorEvent`). A script
that only prints the content prints the error and exits 0, and `make demo` (cookbook/tour.py)
would count it as ok. Your own code should look at the status the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from agno.run.agent import RunContentEvent, RunErrorEvent, RunOutput
from agno.run.base import RunStatus


def fail(reason: str) -> NoReturn:
    """End the recipe: `reason` goes to stderr and the exit status is 1."""
    raise SystemExit(f"{Path(sys.argv[0]).name}: FAILED: {reason}")


def answered(output: object) -> RunOutput:
    """`output` when the run completed with an answer; otherwise end the recipe with the run's error.

    `output` is what `agent.run(...)` / `await agent.arun(...)` returned, or the last item of a stream
    run with `yield_run_output=True` (a `RunErrorEvent` when the run failed).
    """
    if isinstance(output, RunErrorEvent):
        fail(f"the agent run failed: {output.content}")
    if not isinstance(output, RunOutput):
        fail(f"the agent run ended without its output (got {type(output).__name__})")
    if output.status != RunStatus.completed:
        fail(f"the agent run ended with status {output.status.value}: {output.content}")
    if output.content is None or output.content == "":
        fail("the agent run completed without an answer")
    return output


def streamed(events: Iterable[Any]) -> str:
    """Print a streamed run's answer as it arrives and return it; end the recipe if the run failed or said nothing."""
    answer = ""
    for event in events:
        if isinstance(event, RunErrorEvent):
            print()
            fail(f"the agent run failed: {event.content}")
        if isinstance(event, RunContentEvent) and isinstance(event.content, str):
            print(event.content, end="", flush=True)
            answer += event.content
    print()
    if not answer.strip():
        fail("the streamed run completed without an answer")
    return answer
