"""The batch journal, hardened: torn lines, passing failures, foreign and forgotten records, replays, file mode.

Real agno agents in batch mode, the real openai SDK and the emulator's Batch API over sockets, as
in tests/test_batch.py. A "new process" is simulated by forgetting the process's open journals
(`batch._journal._journals`): the next job reads the file afresh, as a rerun would. Two real processes
sharing a journal are in tests/test_batch_resume.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agno.agent import Agent
from agno.run.agent import RunOutput
from agno.run.base import RunStatus
from openai import OpenAI

from agno_deepinfra import BatchOptions, DeepInfra
from agno_deepinfra.batch import _journal as _journal
from agno_deepinfra.batch._journal import Account
from agno_deepinfra.batch.options import BATCH_DATA_KEY
from agno_deepinfra.testing import DeepInfraEmulator, TickingClock

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
ENDPOINT = "/v1/chat/completions"


@pytest.fixture
def bemu() -> Iterator[DeepInfraEmulator]:
    with DeepInfraEmulator(batch_clock=TickingClock(0.25)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def fresh_journals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_journal, "_journals", {})


def new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a rerun in a new process knows of its journals: nothing until it reads the file."""
    monkeypatch.setattr(_journal, "_journals", {})


def options(count: int, journal: Path | str, **kwargs: Any) -> BatchOptions:
    return BatchOptions(
        window=600, max_requests=count, poll_interval=0.01, sleep=lambda seconds: None, journal=journal, **kwargs
    )


def agent(emu: DeepInfraEmulator, batch_api: BatchOptions, api_key: str | None = None) -> Agent:
    model = DeepInfra(id=MODEL, base_url=emu.base_url, api_key=api_key or emu.api_key, batch_api=batch_api)
    return Agent(model=model)


def batch_data(output: RunOutput) -> dict[str, Any]:
    """Where the answer came from, as the run shows it (agno's `provider_data["model_extra"]`)."""
    provider_data = output.model_provider_data or {}
    return dict(provider_data.get("model_extra", {}).get(BATCH_DATA_KEY) or {})


def warnings_of(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING)


def test_a_torn_last_line_is_terminated_and_reported(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A kill mid-write leaves a line without its end: the next record must not be glued onto it."""
    journal = tmp_path / "journal.jsonl"
    assert agent(bemu, options(1, journal)).run("What is 1 + 1?").status == RunStatus.completed
    with journal.open("ab") as handle:  # what a process killed mid-write (or a full disk) leaves behind
        handle.write(b'{"v":1,"event":"finished","token":"0123456789abcdef","sta')
    new_process(monkeypatch)
    caplog.set_level(logging.WARNING, logger="agno_deepinfra")
    second = agent(bemu, options(1, journal)).run("What is 2 + 3?")  # a new submission, appended after the torn line
    assert second.status == RunStatus.completed and "The answer is 5" in str(second.content)
    assert f"{journal}: its last line (line 4) was cut short" in warnings_of(caplog)
    assert len(bemu.batch_api.created()) == 2

    new_process(monkeypatch)
    rerun = agent(bemu, options(1, journal)).run("What is 2 + 3?")
    assert rerun.status == RunStatus.completed and "The answer is 5" in str(rerun.content)
    assert len(bemu.batch_api.created()) == 2  # collected from the journal, not paid for again
    assert batch_data(rerun)["replayed"] is True


def test_passing_failures_are_submitted_again_permanent_ones_replayed(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bemu.batch_api.fail_requests("flaky", status=500, message="Internal server error", times=1)
    bemu.batch_api.fail_requests("poisoned", status=400, message="Invalid token in prompt")
    journal = tmp_path / "journal.jsonl"
    questions = ["What is 1 + 1?", "A flaky question: what is 2 + 2?", "A poisoned question"]
    first = _run_all(bemu, journal, questions)
    assert [output.status for output in first] == [RunStatus.completed, RunStatus.error, RunStatus.error]
    assert "HTTP 500" in str(first[1].content) and "submits this request again" in str(first[1].content)
    assert "HTTP 400" in str(first[2].content) and "submits this request again" not in str(first[2].content)

    new_process(monkeypatch)
    second = _run_all(bemu, journal, questions)
    assert [output.status for output in second] == [RunStatus.completed, RunStatus.completed, RunStatus.error]
    assert "The answer is 4" in str(second[1].content)  # the passing failure, run again
    assert "Invalid token in prompt" in str(second[2].content)  # the permanent failure, replayed
    created = bemu.batch_api.created()
    assert [batch["request_counts"]["total"] for batch in created] == [3, 1]  # only the 500 went again
    assert batch_data(second[0])["replayed"] is True and batch_data(second[1])["replayed"] is False


def _run_all(emu: DeepInfraEmulator, journal: Path, questions: list[str]) -> list[RunOutput]:
    """One agent, every question at once (threads), one batch."""
    from concurrent.futures import ThreadPoolExecutor

    shared = agent(emu, options(len(questions), journal))
    with ThreadPoolExecutor(len(questions)) as pool:
        return list(pool.map(shared.run, questions))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"[1, 2]", "not a journal record (a JSON list)"),
        (b'{"v": 1, "event": "submitting", "token": "t"}', "whose 'account' is not a str"),
        (b'{"v": 1, "event": "submitted", "token": 7, "batch_id": "b"}', "whose 'token' is not a str"),
        (b'{"v": 1, "event": "resubmitted", "token": "t"}', "an unknown event 'resubmitted'"),
        (b'{"event": "submitted", "token": "t", "batch_id": "b"}', "a record of another version"),
        (
            b'{"v": 1, "event": "submitting", "token": "t", "account": "a", "base_url": "u", "endpoint": "e", '
            b'"model": "m", "file_id": "f", "requests": [["fp"]]}',
            "not [fingerprint, custom_id] pairs",
        ),
        (
            b'{"v": 1, "event": "submitting", "token": "t", "account": "a", "base_url": "u", "endpoint": "e", '
            b'"model": "m", "file_id": "f", "requests": [["fp", "req-0", "extra"]]}',
            "not [fingerprint, custom_id] pairs",
        ),
        (b"not json at all", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # deeper than the JSON parser goes
    ],
)
def test_a_wrong_shaped_line_is_skipped_with_a_warning_naming_file_and_line(
    bemu: DeepInfraEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture, line: bytes, problem: str
) -> None:
    journal = tmp_path / "journal.jsonl"
    journal.write_bytes(b"\n" + line + b"\n")
    caplog.set_level(logging.WARNING, logger="agno_deepinfra")
    output = agent(bemu, options(1, journal)).run("What is 1 + 1?")
    assert output.status == RunStatus.completed, output.content
    assert f"DeepInfra batch journal {journal}, line 2: " in warnings_of(caplog)
    assert problem in warnings_of(caplog)


@pytest.mark.parametrize("other", ["base_url", "key"])
def test_records_of_another_key_or_base_url_are_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, other: str
) -> None:
    """The README's offline pattern rerun on a fresh emulator (another port), or another key on the same URL."""
    journal = tmp_path / "journal.jsonl"
    with DeepInfraEmulator(batch_clock=TickingClock(0.25)) as first:
        assert agent(first, options(1, journal)).run("What is 1 + 1?").status == RunStatus.completed
        (old,) = first.batch_api.created()
        port = first.port
    new_process(monkeypatch)
    caplog.set_level(logging.WARNING, logger="agno_deepinfra")
    settings: dict[str, Any] = {"batch_clock": TickingClock(0.25)}
    if other == "key":
        settings |= {"port": port, "api_key": "another-account-key"}
    with DeepInfraEmulator(**settings) as second:
        assert (second.base_url == first.base_url) is (other == "key")
        output = agent(second, options(1, journal)).run("What is 1 + 1?")
        assert output.status == RunStatus.completed, output.content
        assert len(second.batch_api.created()) == 1  # a new batch on this server, for this account
        assert not [request for request in second.requests if old["id"] in request.path]  # the old one never asked
    expected = "another API key" if other == "key" else "another base URL"
    assert f"DeepInfra batch journal {journal}: 1 submission (line 1) was written" in warnings_of(caplog)
    assert expected in warnings_of(caplog) and "never collected" in warnings_of(caplog)
    assert "check the model id" not in warnings_of(caplog) + str(output.content)


def test_a_batch_the_server_forgot_is_submitted_again_once_with_a_warning(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal.jsonl"
    assert agent(bemu, options(1, journal)).run("What is 1 + 1?").status == RunStatus.completed
    (old,) = bemu.batch_api.created()
    bemu.batch_api.reset()  # DeepInfra no longer knows the batch the journal records
    new_process(monkeypatch)
    caplog.set_level(logging.WARNING, logger="agno_deepinfra")
    output = agent(bemu, options(1, journal)).run("What is 1 + 1?")
    assert output.status == RunStatus.completed and "The answer is 2" in str(output.content)
    assert len(bemu.batch_api.created()) == 1
    warned = warnings_of(caplog)
    assert f"DeepInfra batch journal {journal}, line 1: DeepInfra does not know batch {old['id']}" in warned
    assert "submitted again" in warned and "check the model id" not in warned
    assert batch_data(output)["replayed"] is False  # the new batch's answer: its cost counts

    new_process(monkeypatch)  # the lost submission is never claimed again; the new one is
    again = agent(bemu, options(1, journal)).run("What is 1 + 1?")
    assert again.status == RunStatus.completed and len(bemu.batch_api.created()) == 1
    assert batch_data(again)["replayed"] is True


def test_a_batch_forgotten_while_waiting_fails_naming_it_and_the_journal(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.jsonl"
    forget = options(1, journal, on_progress=lambda progress: bemu.batch_api.reset())
    output = agent(bemu, forget).run("What is 1 + 1?")
    assert output.status == RunStatus.error
    text = str(output.content)
    assert "DeepInfra does not know batch batch_" in text and "HTTP 404" in text
    assert f"journal {journal} marks it lost, so a rerun submits its requests again" in text
    assert "check the model id" not in text
    new_process(monkeypatch)
    rerun = agent(bemu, options(1, journal)).run("What is 1 + 1?")
    assert rerun.status == RunStatus.completed and len(bemu.batch_api.created()) == 1


def test_a_replayed_answer_is_marked_and_costs_nothing_again(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.jsonl"
    first = agent(bemu, options(1, journal)).run("What is 2 + 3?")
    (batch,) = bemu.batch_api.created()
    assert batch_data(first) == {"batch_id": batch["id"], "custom_id": "req-0", "replayed": False}
    assert first.metrics is not None and first.metrics.cost is not None and first.metrics.cost > 0
    new_process(monkeypatch)
    replay = agent(bemu, options(1, journal)).run("What is 2 + 3?")
    assert replay.content == first.content
    assert batch_data(replay) == {"batch_id": batch["id"], "custom_id": "req-0", "replayed": True}
    assert replay.metrics is not None and replay.metrics.cost == 0  # counted once, by the first run
    assert replay.metrics.input_tokens == first.metrics.input_tokens  # the tokens are still reported
    new_process(monkeypatch)
    streamed = list(agent(bemu, options(1, journal)).run("What is 2 + 3?", stream=True, yield_run_output=True))
    final = streamed[-1]
    assert isinstance(final, RunOutput) and batch_data(final)["replayed"] is True
    assert len(bemu.batch_api.created()) == 1


def test_a_rerun_that_collects_part_of_a_batch_leaves_the_rest_counted(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun records only the lines it collected: the answers earlier runs received stay replays at no cost."""
    journal = tmp_path / "journal.jsonl"
    first = _run_all(bemu, journal, ["What is 1 + 1?", "What is 2 + 3?"])
    assert [batch_data(output)["replayed"] for output in first] == [False, False]
    new_process(monkeypatch)
    one = agent(bemu, options(1, journal)).run("What is 1 + 1?")
    assert batch_data(one)["replayed"] is True
    new_process(monkeypatch)
    other = agent(bemu, options(1, journal)).run("What is 2 + 3?")
    assert batch_data(other)["replayed"] is True  # the first run received it: not counted a second time
    assert other.metrics is not None and other.metrics.cost == 0
    assert len(bemu.batch_api.created()) == 1


def test_an_embedder_rerun_replays_its_vectors_at_no_cost(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agno_deepinfra import DeepInfraEmbedder

    journal = tmp_path / "journal.jsonl"
    texts = [f"passage number {index}" for index in range(4)]

    def embed() -> tuple[list[list[float]], list[dict[str, Any] | None]]:
        embedder = DeepInfraEmbedder(
            id="BAAI/bge-m3", base_url=bemu.base_url, api_key=bemu.api_key, batch_size=2, batch_api=options(2, journal)
        )
        return embedder.get_embeddings_batch_and_usage(texts)

    vectors, usages = embed()
    assert usages[0] is not None and usages[0]["estimated_cost"] > 0
    new_process(monkeypatch)
    again, replayed = embed()
    assert again == vectors and len(bemu.batch_api.created()) == 1
    assert [usage["estimated_cost"] if usage else None for usage in replayed] == [0.0] * 4


def test_the_journal_is_0600_expands_home_and_keys_its_fingerprints(
    bemu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    output = agent(bemu, options(1, "~/journals/batches.jsonl")).run("What is 1 + 1?")
    assert output.status == RunStatus.completed
    journal = tmp_path / "journals" / "batches.jsonl"
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    text = journal.read_text()
    assert bemu.api_key not in text and "What is" not in text
    client = OpenAI(api_key=bemu.api_key, base_url=bemu.base_url)
    (batch,) = bemu.batch_api.created()
    (line,) = [json.loads(raw) for raw in client.files.content(batch["input_file_id"]).text.splitlines()]
    body = {key: value for key, value in line["body"].items() if key != "prompt_cache_key"}
    canonical = json.dumps({"endpoint": ENDPOINT, "body": body}, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode()).hexdigest() not in text  # a guessed prompt cannot be confirmed
    assert Account.of(bemu.api_key).fingerprint(ENDPOINT, line["body"]) in text  # keyed by the API key
    assert Account.of("another key").fingerprint(ENDPOINT, line["body"]) not in text

    existing = tmp_path / "shared.jsonl"
    existing.touch()
    os.chmod(existing, 0o640)
    assert agent(bemu, options(1, existing)).run("What is 1 + 1?").status == RunStatus.completed
    assert existing.read_text() and stat.S_IMODE(existing.stat().st_mode) == 0o640  # an existing file keeps its mode


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_child_forked_while_the_lock_is_held_does_not_keep_it(tmp_path: Path) -> None:
    """`flock` follows the open file: without care, a forked child would hold the parent's lock until it exits."""
    import fcntl

    journal = _journal.open_journal(tmp_path / "journal.jsonl")
    child_started, started = os.pipe()  # the child says it runs (the fork handlers have run in it)
    release_child, release = os.pipe()  # the parent lets it end
    with journal.locked():
        pid = os.fork()
        if pid == 0:  # the child lives on, holding whatever it inherited, until the parent says so
            os.write(started, b"x")
            os.read(release_child, 1)
            os._exit(0)
    os.read(child_started, 1)
    other = os.open(journal.path, os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError if the child kept the lock
    finally:
        os.close(other)
        os.write(release, b"x")
        os.waitpid(pid, 0)
        for fd in (child_started, started, release_child, release):
            os.close(fd)


def test_a_journal_held_by_one_user_makes_another_wait_for_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Two users of one file (as two processes are: each `Journal` opens the file itself) never hold it at once.

    The first holds it while nobody else does, so its lock is taken without waiting: the path a
    shared lock would slip through.
    """
    path = tmp_path / "journal.jsonl"
    first, second = _journal.Journal(path), _journal.Journal(path)
    entered = threading.Event()

    def take_second() -> None:
        with second.locked():
            entered.set()

    with caplog.at_level(logging.INFO, logger="agno_deepinfra"):
        with first.locked():
            waiter = threading.Thread(target=take_second, daemon=True)
            waiter.start()
            deadline = time.monotonic() + 60  # a bound on a hang, not a timing assertion
            while not entered.is_set() and "is locked by another process; waiting" not in caplog.text:
                assert time.monotonic() < deadline, "the second user neither waited nor entered"
                time.sleep(0.01)
            assert not entered.is_set(), "a second user took the journal while the first held it"
        waiter.join(timeout=60)
    assert entered.is_set()  # and it got the journal once the first let go


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("poll_interval", 0),
        ("poll_interval", math.nan),
        ("poll_interval", -1),
        ("poll_interval", math.inf),
        ("window", math.inf),
        ("window", math.nan),
        ("window", -0.5),
        ("window", "5"),
        ("poll_interval", True),  # a bool is an int to Python, not a number of seconds
        ("max_poll_interval", math.inf),
        ("max_poll_interval", 1.0),  # below the default poll_interval (10 s)
        ("max_requests", 0),
        ("max_requests", 2.5),
        ("max_requests", True),
        ("max_requests", 50_001),
        ("journal", 3),
        ("progress_bar", "yes"),
        ("on_progress", "print"),
        ("sleep", 0.1),
    ],
)
def test_batch_options_are_checked_at_construction(setting: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"BatchOptions\({setting}=\.\.\.\) must be .*; got"):
        BatchOptions(**{setting: value})
