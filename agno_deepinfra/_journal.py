"""The batch journal: which requests went into which submitted batch, so a rerun never pays twice.

A journal is an append-only JSONL file. Each submission writes a `submitting` record (a random
token, the account and base URL, the uploaded file and the fingerprint and `custom_id` of every
request) before the batch is created, then a `submitted` record with the batch id, and a
`finished` record with its status, the lines answered (`delivered`) and the lines that failed
for a passing reason (`retry`: a rerun submits them again). It never holds the API key, nor any
request text.

Fingerprints are keyed: an HMAC-SHA256 of the endpoint and the canonical JSON body (sorted keys),
keyed by a secret derived from the API key (`Account`). Whoever holds the file but not the key
cannot confirm a guessed prompt, and a journal's records only match for the key that wrote them.
The fingerprint leaves out the fields that change from process to process (`VOLATILE_FIELDS` and
a `prompt_cache_key` derived from agno's random session id, which starts with
`SESSION_KEY_PREFIX`). The same question asked twice in one workload has the same fingerprint
twice; each occurrence claims its own recorded request, in order.

Crash safety and sharing (see RELIABILITY.md, "Hardening: the batch journal"): every write is
fsynced; a last line cut short by a crash is reported and terminated before the next record;
lines this version cannot read are skipped with a warning naming the file and line; the file is
created 0600; and every read-modify-write runs under an advisory lock (`fcntl.flock` on POSIX),
re-reading what other processes appended first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if sys.platform != "win32":
    import fcntl
else:  # pragma: no cover - no advisory file lock on Windows: documented in RELIABILITY.md
    fcntl = None

logger = logging.getLogger("agno_deepinfra")

VERSION = 1  # the `v` of every record this version writes and reads
# The prefix of the prompt cache keys `DeepInfra` derives from agno's session (see `_session_cache`).
SESSION_KEY_PREFIX = "agno-session-"
# Body fields that do not change what is asked: a batch has no streams.
VOLATILE_FIELDS = ("stream", "stream_options")
# A batch ending like this was not run (or not wholly), or DeepInfra no longer knows it ("lost"):
# its requests may be submitted again.
NOT_REUSABLE = ("failed", "expired", "cancelled", "lost")
_FILE_MODE = 0o600


@dataclass(frozen=True)
class Account:
    """Who asks, as the journal knows it: keyed hashes of the API key, never the key.

    `id` names the account in records (64 bits of an HMAC keyed by the API key); `secret` keys the
    request fingerprints. A rotated key is another account: see RELIABILITY.md.
    """

    id: str
    secret: bytes = field(repr=False)

    @classmethod
    def of(cls, api_key: str) -> Account:
        key = api_key.encode()
        name = hmac.new(key, b"agno-deepinfra batch journal: account", hashlib.sha256).hexdigest()[:16]
        secret = hmac.new(key, b"agno-deepinfra batch journal: requests", hashlib.sha256).digest()
        return cls(name, secret)

    def fingerprint(self, endpoint: str, body: dict[str, Any]) -> str:
        """What identifies a request across processes (see the module docstring)."""
        stable = {key: value for key, value in body.items() if key not in VOLATILE_FIELDS}
        cache_key = stable.get("prompt_cache_key")
        if isinstance(cache_key, str) and cache_key.startswith(SESSION_KEY_PREFIX):
            del stable["prompt_cache_key"]
        canonical = json.dumps({"endpoint": endpoint, "body": stable}, sort_keys=True, separators=(",", ":"))
        return hmac.new(self.secret, canonical.encode(), hashlib.sha256).hexdigest()


def plain_url(base_url: str) -> str:
    """The base URL as records keep it: scheme, host, port and path; no user-info, query or fragment."""
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}".rstrip("/")


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
            self._submissions = {}
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
        except ValueError:
            problem = "not JSON (cut short by a crash, or not a journal)"
        else:
            problem = _problem(record)
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
            self._submissions[token] = Submission(
                token,
                record["endpoint"],
                record["model"],
                record["file_id"],
                requests,
                record["account"],
                record["base_url"],
                number,
            )
            return
        submission = self._submissions.get(token)
        if submission is None:
            return  # its `submitting` record was skipped
        if event == "submitted":
            submission.batch_id = record["batch_id"]
        else:
            submission.status = record["status"]
            submission.delivered.update(record.get("delivered", ()))
            submission.retry.update(record.get("retry", ()))

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
        for submission in self._submissions.values():
            if (submission.endpoint, submission.account, submission.base_url) != (endpoint, account, base_url):
                continue
            if submission.status in NOT_REUSABLE:
                continue
            for fp, custom_id in submission.requests:
                if fp == wanted and custom_id not in submission.claimed and custom_id not in submission.retry:
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
                "DeepInfra batch journal %s: %d submissions (lines %s) were written with another API key "
                "(another account, or a key since rotated); they are skipped, never collected",
                self.path,
                len(other_key),
                _some(other_key),
            )
        if other_url:
            logger.warning(
                "DeepInfra batch journal %s: %d submissions (lines %s) were written for another base URL (%s, not "
                "%s); they are skipped, never collected",
                self.path,
                len(other_url),
                _some([item.line for item in other_url]),
                other_url[0].base_url,
                base_url,
            )

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


def _problem(record: Any) -> str:
    """Why a JSON line is not a record this version reads ("" when it is one)."""
    if not isinstance(record, dict):
        return f"not a journal record (a JSON {type(record).__name__})"
    if record.get("v") != VERSION:
        return f"a record of another version (v={record.get('v')!r}; this version reads v={VERSION})"
    event = record.get("event")
    fields: dict[str, type] = {"token": str}
    if event == "submitting":
        fields |= {"account": str, "base_url": str, "endpoint": str, "model": str, "file_id": str, "requests": list}
    elif event == "submitted":
        fields["batch_id"] = str
    elif event == "finished":
        fields |= {"status": str, "delivered": list, "retry": list}
    else:
        return f"an unknown event {event!r}"
    for name, kind in fields.items():
        if not isinstance(record.get(name), kind):
            return f"a {event!r} record whose {name!r} is not a {kind.__name__}"
    if event == "submitting" and not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
        for pair in record["requests"]
    ):
        return "a 'submitting' record whose 'requests' are not [fingerprint, custom_id] pairs"
    if event == "finished" and not all(isinstance(item, str) for item in record["delivered"] + record["retry"]):
        return "a 'finished' record whose custom_ids are not strings"
    return ""


def _some(numbers: list[int]) -> str:
    shown = ", ".join(str(number) for number in numbers[:5])
    return shown + (", ..." if len(numbers) > 5 else "")


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


def open_journal(path: str | os.PathLike[str]) -> Journal:
    """The process's one `Journal` for `path` (`~` expanded)."""
    resolved = Path(path).expanduser().resolve()
    with _journals_lock:
        journal = _journals.get(resolved)
        if journal is None:
            journal = _journals[resolved] = Journal(resolved)
        return journal
