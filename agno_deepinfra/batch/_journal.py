"""The batch journal: which requests went into which submitted batch, so a rerun never pays twice.

A journal is an append-only JSONL file. Each submission writes a `submitting` record (a random
token, the account and base URL, the uploaded file and the keyed fingerprint and `custom_id` of
every request) before the batch is created, then a `submitted` record with the batch id, and a
`finished` record with its status, the lines answered and the lines to submit again (the record
shapes and fingerprints are in `batch._journal_records`). It never holds the API key, nor any request
text. The same question asked twice in one workload has the same fingerprint twice; each
occurrence claims its own recorded request, in order.

Crash safety and sharing (see RELIABILITY.md, "Hardening: the batch journal"): every write is
fsynced; a last line cut short by a crash is reported and terminated before the next record;
lines this version cannot read are skipped with a warning naming the file and line; the file is
created 0600; and every read-modify-write runs under an advisory lock (`fcntl.flock` on POSIX),
re-reading what other processes appended first.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agno_deepinfra._shared.config import logger
from agno_deepinfra.batch._journal_records import (
    SESSION_KEY_PREFIX,
    VERSION,
    VOLATILE_FIELDS,
    Account,
    plain_url,
)
from agno_deepinfra.batch._journal_records import problem as record_problem

if sys.platform != "win32":
    import fcntl
else:  # pragma: no cover - no advisory file lock on Windows: documented in RELIABILITY.md
    fcntl = None

__all__ = ["SESSION_KEY_PREFIX", "VOLATILE_FIELDS", "Account", "Journal", "Submission", "open_journal", "plain_url"]


# A batch ending like this was not run (or not wholly), or DeepInfra no longer knows it ("lost"):
# its requests may be submitted again.
NOT_REUSABLE = ("failed", "expired", "cancelled", "lost")
_FILE_MODE = 0o600


@dataclass
class Submission:
    """One submission as the journal knows it."""

    token: str
    endpoint: str
    model: str
    file_id: str
    requests: list[tuple[str, str]]  # (fingerprint, custom_id), in file order
    account: str = ""
    base_url: str = ""
    line: int = 0  # the line of its `submitting` record
    batch_id: str | None = None
    status: str | None = None
    delivered: set[str] = field(default_factory=set)  # custom_ids answered (their cost counted) by some run
    retry: set[str] = field(default_factory=set)  # custom_ids that failed for a passing reason
    claimed: set[str] = field(default_factory=set)  # custom_ids taken by this process


class Journal:
    """One journal file; shared by every collector of the process that names the same path.

    Read and write only inside `locked()`: it holds the file lock and brings this process's view
    up to what every process has written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._fd: int | None = None
        self._offset = 0  # bytes read and applied
        self._size = 0  # the file's size at the last read (a torn last line lies between the two)
        self._lines = 0  # complete lines read
        self._torn_reported = -1  # the offset of the torn line last reported
        self._submissions: dict[str, Submission] = {}
        # Every recorded request by fingerprint, in file order: a claim looks up, never scans.
        self._by_fingerprint: dict[str, list[tuple[Submission, str]]] = {}
        self._reported_scopes: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------------- lock and read

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the journal (threads of this process and, on POSIX, other processes), its view fresh."""
        with self._lock:
            if self._fd is not None:  # re-entered by the thread that holds it
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
            fd = os.open(self.path, flags, _FILE_MODE)  # a new file is 0600; an existing one keeps its mode
            try:
                _lock_file(fd, self.path)
                self._fd = fd
                self._refresh(fd)
                yield
            finally:
                self._fd = None
                os.close(fd)  # releases the lock

    def _refresh(self, fd: int) -> None:
        """Apply what was appended since the last read (by any process)."""
        size = os.fstat(fd).st_size
        if size < self._offset:  # truncated or replaced meanwhile: read it afresh
            logger.warning("DeepInfra batch journal %s shrank since it was read; reading it again", self.path)
            self._offset = self._lines = 0
            self._submissions, self._by_fingerprint = {}, {}
        os.lseek(fd, self._offset, os.SEEK_SET)
        data = _read(fd, size - self._offset)
        end = data.rfind(b"\n") + 1
        for raw in data[:end].splitlines():
            self._lines += 1
            self._take(raw, self._lines)
        self._offset += end
        self._size = size
        if self._size > self._offset and self._torn_reported != self._offset:
            self._torn_reported = self._offset
            logger.warning(
                "DeepInfra batch journal %s: its last line (line %d) was cut short, by a crash mid-write or a "
                "full disk; it is skipped, and the next record starts on a new line",
                self.path,
                self._lines + 1,
            )

    def _take(self, raw: bytes, number: int) -> None:
        if not raw.strip():
            return
        try:
            record = json.loads(raw.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            problem = "not JSON (cut short by a crash, or not a journal)"
        else:
            problem = record_problem(record)
        if problem:
            logger.warning(
                "DeepInfra batch journal %s, line %d: %s; the line is skipped (its requests, if any, may be "
                "submitted again)",
                self.path,
                number,
                problem,
            )
            return
        self._apply(record, number)

    def _apply(self, record: dict[str, Any], number: int) -> None:
        token = record["token"]
        event = record["event"]
        if event == "submitting":
            requests = [(fp, custom_id) for fp, custom_id in record["requests"]]
            submission = Submission(
                token,
                record["endpoint"],
                record["model"],
                record["file_id"],
                requests,
                record["account"],
                record["base_url"],
                number,
            )
            self._submissions[token] = submission
            for fp, custom_id in requests:
                self._by_fingerprint.setdefault(fp, []).append((submission, custom_id))
            return
        known = self._submissions.get(token)
        if known is None:
            return  # its `submitting` record was skipped
        if event == "submitted":
            known.batch_id = record["batch_id"]
        else:
            if known.status != "lost":  # once DeepInfra forgot a batch, no later record revives it
                known.status = record["status"]
            known.delivered.update(record.get("delivered", ()))
            known.retry.update(record.get("retry", ()))

    def _append(self, record: dict[str, Any]) -> None:
        assert self._fd is not None, "journal writes happen inside locked()"
        data = json.dumps({"v": VERSION, **record}, separators=(",", ":")).encode() + b"\n"
        if self._size > self._offset:  # terminate the torn last line first
            data = b"\n" + data
            self._lines += 1
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)  # on disk before the batch it describes is created
        self._size += len(data)
        self._offset = self._size
        self._lines += 1
        self._apply(record, self._lines)

    # ----------------------------------------------------------------------------- claims

    def claim(
        self, account: str, base_url: str, endpoint: str, fingerprints: list[str]
    ) -> list[tuple[Submission, str] | None]:
        """For each fingerprint, an earlier submission's unclaimed request with it, or None.

        Only submissions of this account and base URL are claimed; others are reported once.
        """
        with self.locked():
            self._report_foreign(account, base_url, endpoint)
            return [self._claim_one(account, base_url, endpoint, wanted) for wanted in fingerprints]

    def _claim_one(self, account: str, base_url: str, endpoint: str, wanted: str) -> tuple[Submission, str] | None:
        for submission, custom_id in self._by_fingerprint.get(wanted, ()):
            if (submission.endpoint, submission.account, submission.base_url) != (endpoint, account, base_url):
                continue
            if submission.status in NOT_REUSABLE or custom_id in submission.claimed or custom_id in submission.retry:
                continue
            if self._submissions.get(submission.token) is not submission:
                continue  # replaced by a later record with the same token
            submission.claimed.add(custom_id)
            return submission, custom_id
        return None

    def _report_foreign(self, account: str, base_url: str, endpoint: str) -> None:
        if (account, base_url) in self._reported_scopes:
            return
        self._reported_scopes.add((account, base_url))
        mine = [item for item in self._submissions.values() if item.endpoint == endpoint]
        other_key = [item.line for item in mine if item.account != account]
        other_url = [item for item in mine if item.account == account and item.base_url != base_url]
        if other_key:
            logger.warning(
                "DeepInfra batch journal %s: %s written with another API key (another account, or a key since "
                "rotated); skipped, never collected",
                self.path,
                _submissions_at(other_key),
            )
        if other_url:
            logger.warning(
                "DeepInfra batch journal %s: %s written for another base URL (%s, not %s); skipped, never collected",
                self.path,
                _submissions_at([item.line for item in other_url]),
                other_url[0].base_url,
                base_url,
            )

    def load(self) -> list[Submission]:
        """Read the file (under the lock) and return the submissions it records, in file order."""
        with self.locked():
            return list(self._submissions.values())

    def release(self, token: str, custom_ids: list[str]) -> None:
        """Give claimed requests back (their job failed): a later job of this process may collect them."""
        with self._lock:
            submission = self._submissions.get(token)
            if submission is not None:
                submission.claimed.difference_update(custom_ids)

    def delivered(self, token: str) -> set[str]:
        """The custom_ids of a submission that some run already answered (and counted the cost of)."""
        with self.locked():
            submission = self._submissions.get(token)
            return set(submission.delivered) if submission is not None else set()

    # ----------------------------------------------------------------------------- records

    def submitting(self, submission: Submission) -> None:
        """Record a submission before its batch is created (its file is uploaded)."""
        with self.locked():
            record = {
                "event": "submitting",
                "token": submission.token,
                "account": submission.account,
                "base_url": submission.base_url,
                "endpoint": submission.endpoint,
                "model": submission.model,
                "file_id": submission.file_id,
                "requests": submission.requests,
            }
            self._append(record)
            self._submissions[submission.token].claimed = {custom_id for _, custom_id in submission.requests}

    def submitted(self, token: str, batch_id: str) -> None:
        """Record the id of the batch created for a submission."""
        with self.locked():
            self._append({"event": "submitted", "token": token, "batch_id": batch_id})

    def finished(
        self, token: str, status: str, delivered: list[str] | None = None, retry: list[str] | None = None
    ) -> None:
        """Record the final status of a submission's batch, the lines answered and those to submit again."""
        with self.locked():
            record: dict[str, Any] = {"event": "finished", "token": token, "status": status}
            record["delivered"], record["retry"] = delivered or [], retry or []
            self._append(record)


def _submissions_at(lines: list[int]) -> str:
    """ "1 submission (line 3) was" / "2 submissions (lines 3, 9) were", up to five line numbers."""
    shown = ", ".join(str(number) for number in lines[:5]) + (", ..." if len(lines) > 5 else "")
    if len(lines) == 1:
        return f"1 submission (line {shown}) was"
    return f"{len(lines)} submissions (lines {shown}) were"


def _read(fd: int, count: int) -> bytes:
    chunks = []
    while count > 0:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _lock_file(fd: int, path: Path) -> None:
    """Take the advisory lock, saying so when another process holds it (no-op without `fcntl`)."""
    if fcntl is None:  # pragma: no cover - Windows: in-process lock only (documented)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        logger.info("DeepInfra batch journal %s is locked by another process; waiting for it", path)
        fcntl.flock(fd, fcntl.LOCK_EX)


_journals: dict[Path, Journal] = {}
_journals_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child drops its copies of held journal files: `flock` follows the open file, so a
    copy would keep the parent's lock held for as long as the child lives. Its locks start afresh."""
    global _journals_lock
    _journals_lock = threading.Lock()
    for journal in _journals.values():
        if journal._fd is not None:
            os.close(journal._fd)
        journal._fd = None
        journal._lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def open_journal(path: str | os.PathLike[str]) -> Journal:
    """The process's one `Journal` for `path` (`~` expanded)."""
    resolved = Path(path).expanduser().resolve()
    with _journals_lock:
        journal = _journals.get(resolved)
        if journal is None:
            journal = _journals[resolved] = Journal(resolved)
        return journal
