"""No paying twice: a process killed after submitting its batch, rerun with the same journal, collects that batch;
two processes sharing a journal submit their common work once.

The child processes are real interpreters running agno agents in batch mode against this test's
emulator. The emulator's batch clock is a `ManualClock`: the batch stays `validating` until the
test moves the clock, after the first child has been killed (SIGKILL: no cleanup runs), or after
both sharing children have been let through the journal's lock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
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


def _start_piped(emu: DeepInfraEmulator, journal: Path, *extra: str) -> subprocess.Popen[str]:
    """The child with pipes the test talks through (read by `_Lines` threads, so they never fill)."""
    command = [sys.executable, str(CHILD), emu.base_url, emu.api_key, str(journal), *extra]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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
    assert [status for status, *_ in answers] == ["COMPLETED"] * 3
    assert [
        "The answer is 2" in answers[0][1],
        "The answer is 5" in answers[1][1],
        "The answer is 8" in answers[2][1],
    ] == [True] * 3
    # The killed run never received these answers: this run's are not replays, and their cost counts.
    assert [(cost > 0, replayed) for _, _, cost, replayed in answers] == [(True, False)] * 3
    assert _batch_ids(emu) == [batch["id"]]  # nothing submitted a second time, as a client lists them
    uploads = [request for request in emu.requests_for("files") if request.method == "POST"]
    assert len(uploads) == 1
    text = journal.read_text()
    assert emu.api_key not in text and "What is" not in text  # fingerprints only: no key, no request text
    # "finished" is written after the answers are delivered, by the job's daemon thread, so the child
    # may exit first; that order is the safe one: a journal without "finished" makes a rerun collect
    # the batch again, never submit it again.
    events = [json.loads(line)["event"] for line in text.splitlines()]
    assert events == ["submitting", "submitted", "finished"]  # the outcome is recorded before the runs get it


class _Lines:
    """Every line a child writes to one of its pipes, read by a thread (a full pipe would block the child)."""

    def __init__(self, pipe: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: object) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    def has(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def finish(self) -> list[str]:
        self._thread.join(timeout=60)
        return self.lines


def _wait_for_all(condition: Callable[[], bool], children: list[subprocess.Popen[str]], what: str) -> None:
    deadline = time.monotonic() + 90
    while not condition():
        if any(child.poll() is not None for child in children):
            raise AssertionError(f"a child exited before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_processes_sharing_a_journal_submit_their_work_once(
    emu: DeepInfraEmulator, clock: ManualClock, tmp_path: Path
) -> None:
    """Both children read the journal (empty) early, then run the same workload at once: one batch, not two.

    The test holds the journal's lock (as a third process in the middle of a submission would) until
    both children wait for it, so both reach the journal with a stale view; each must re-read it
    under the lock. Without the lock (and the re-read) both submit, which the wait below also ends on.
    """
    import fcntl

    journal = tmp_path / "batches.jsonl"
    holder = os.open(journal, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    children = [_start_piped(emu, journal, "step") for _ in range(2)]
    outs = [_Lines(child.stdout) for child in children]
    errs = [_Lines(child.stderr) for child in children]
    try:
        _wait_for_all(lambda: all(out.has("ready") for out in outs), children, "both children read the journal")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()

        def both_wait_or_both_submitted() -> bool:
            waiting = all(err.has(f"journal {journal} is locked by another process; waiting") for err in errs)
            return waiting or len(emu.batch_api.created()) >= 2

        _wait_for_all(both_wait_or_both_submitted, children, "both children wait for the journal's lock")
        os.close(holder)  # releases the lock
        holder = -1
        _wait_for_all(lambda: bool(emu.batch_api.created()), children, "a batch was created")
        clock.advance(30)  # DeepInfra finishes the batch
        for child, err in zip(children, errs, strict=True):
            assert child.wait(timeout=90) == 0, "\n".join(err.finish()[-20:])
    finally:
        if holder >= 0:
            os.close(holder)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=60)
    answers = [json.loads(out.finish()[-1]) for out in outs]
    assert len(emu.batch_api.created()) == 1  # the shared work was submitted once
    uploads = [request for request in emu.requests_for("files") if request.method == "POST"]
    assert len(uploads) == 1
    for first, second in zip(*answers, strict=True):
        assert first[0] == second[0] == "COMPLETED" and first[1] == second[1]
        # Both processes got the answer; its cost is counted by the one that got it first, once.
        counted, replayed = sorted([first, second], key=lambda answer: answer[3])
        assert (counted[3], replayed[3]) == (False, True)
        assert counted[2] > 0 and replayed[2] == 0
