"""No paying twice: a process killed after submitting its batch, rerun with the same journal, collects that batch.

The child processes are real interpreters running agno agents in batch mode against this test's
emulator. The emulator's batch clock is a `ManualClock`: the batch stays `validating` until the
test moves the clock, after the first child has been killed (SIGKILL: no cleanup runs).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agno_deepinfra.testing import DeepInfraEmulator, ManualClock

CHILD = Path(__file__).with_name("batch_child.py")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emu(clock: ManualClock) -> Iterator[DeepInfraEmulator]:
    with DeepInfraEmulator(batch_clock=clock, batch_validating_seconds=10, batch_running_seconds=10) as emulator:
        yield emulator


def _start(emu: DeepInfraEmulator, journal: Path, logs: Path) -> subprocess.Popen[str]:
    """The child, its output in files under `logs` (a pipe nobody reads while we wait could block it)."""
    command = [sys.executable, str(CHILD), emu.base_url, emu.api_key, str(journal)]
    logs.mkdir()
    with (logs / "out").open("w") as out, (logs / "err").open("w") as err:
        return subprocess.Popen(command, stdout=out, stderr=err, text=True)


def _output(logs: Path) -> tuple[str, str]:
    return (logs / "out").read_text(), (logs / "err").read_text()


def _wait_for(condition: object, child: subprocess.Popen[str], logs: Path, what: str) -> None:
    """Wait for an event (not a duration): the condition, or the child's early exit, within a generous bound."""
    deadline = time.monotonic() + 90
    while not condition():  # type: ignore[operator]
        if child.poll() is not None:
            raise AssertionError(f"the child exited before {what}: {_output(logs)[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _batch_ids(emu: DeepInfraEmulator) -> list[str]:
    """The batches on the account, as a client lists them (the openai SDK's `batches.list()`)."""
    import openai

    with openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0, timeout=10) as sdk:
        return sorted(batch.id for batch in sdk.batches.list())


def test_a_killed_run_resumes_from_the_journal_without_a_second_submission(
    emu: DeepInfraEmulator, clock: ManualClock, tmp_path: Path
) -> None:
    journal = tmp_path / "batches.jsonl"
    first = _start(emu, journal, tmp_path / "first")

    def submitted() -> bool:
        return journal.exists() and '"event":"submitted"' in journal.read_text()

    _wait_for(submitted, first, tmp_path / "first", "the batch was submitted")
    first.kill()  # mid-batch: the batch is still validating
    first.wait(timeout=60)
    assert first.returncode != 0
    (batch,) = emu.batch_api.created()
    assert batch["status"] == "validating" and batch["request_counts"]["total"] == 3

    clock.advance(30)  # DeepInfra finishes the batch while no process waits for it
    logs = tmp_path / "second"
    second = _start(emu, journal, logs)
    # A second batch would sit in `validating` forever (the clock no longer moves) and the child with
    # it: watch the account's batches while the rerun works, and fail the moment a second one appears.
    try:
        _wait_for(lambda: second.poll() is not None or len(emu.batch_api.created()) > 1, second, logs, "the rerun")
    finally:
        resubmitted = len(emu.batch_api.created()) > 1
        if resubmitted or second.poll() is None:
            second.kill()
            second.wait(timeout=60)
    assert not resubmitted, (
        f"the rerun submitted a second batch instead of collecting {batch['id']} from the journal: "
        f"batches {_batch_ids(emu)}"
    )
    out, err = _output(logs)
    assert second.returncode == 0, err[-3000:]
    answers = json.loads(out.strip().splitlines()[-1])
    assert [status for status, _ in answers] == ["COMPLETED"] * 3
    assert [
        "The answer is 2" in answers[0][1],
        "The answer is 5" in answers[1][1],
        "The answer is 8" in answers[2][1],
    ] == [True] * 3
    assert _batch_ids(emu) == [batch["id"]]  # nothing submitted a second time, as a client lists them
    uploads = [request for request in emu.requests_for("files") if request.method == "POST"]
    assert len(uploads) == 1
    text = journal.read_text()
    assert emu.api_key not in text and "What is" not in text  # fingerprints only: no key, no request text
    # "finished" is written after the answers are delivered, by the job's daemon thread, so the child
    # may exit first; that order is the safe one: a journal without "finished" makes a rerun collect
    # the batch again, never submit it again.
    events = [json.loads(line)["event"] for line in text.splitlines()]
    assert events[:2] == ["submitting", "submitted"] and events[2:] in ([], ["finished"])
