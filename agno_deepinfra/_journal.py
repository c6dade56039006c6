"""The batch journal: which requests went into which submitted batch, so a rerun never pays twice.

A journal is an append-only JSONL file. Each submission writes a `submitting` record (a random
token, the uploaded file and the fingerprint and `custom_id` of every request) before the batch
is created, then a `submitted` record with the batch id, and a `finished` record with its status.
It never holds the API key, nor any request text: only SHA-256 fingerprints.

A request is identified by its fingerprint: the SHA-256 of the endpoint and the canonical JSON
body (sorted keys), without the fields that change from process to process (`VOLATILE_FIELDS`
and a `prompt_cache_key` derived from agno's random session id, which starts with
`SESSION_KEY_PREFIX`). The same question asked twice in one workload has the same fingerprint
twice; each occurrence claims its own recorded request, in order.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The prefix of the prompt cache keys `DeepInfra` derives from agno's session (see `_session_cache`).
SESSION_KEY_PREFIX = "agno-session-"
# Body fields that do not change what is asked: a batch has no streams.
VOLATILE_FIELDS = ("stream", "stream_options")
# A batch ending like this was not run (or not wholly): its requests may be submitted again.
NOT_REUSABLE = ("failed", "expired", "cancelled")


def fingerprint(endpoint: str, body: dict[str, Any]) -> str:
    """What identifies a request across processes (see the module docstring)."""
    stable = {key: value for key, value in body.items() if key not in VOLATILE_FIELDS}
    key = stable.get("prompt_cache_key")
    if isinstance(key, str) and key.startswith(SESSION_KEY_PREFIX):
        del stable["prompt_cache_key"]
    canonical = json.dumps({"endpoint": endpoint, "body": stable}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Submission:
    """One submission as the journal knows it."""

    token: str
    endpoint: str
    model: str
    file_id: str
    requests: list[tuple[str, str]]  # (fingerprint, custom_id), in file order
    batch_id: str | None = None
    status: str | None = None
    claimed: set[str] = field(default_factory=set)  # custom_ids taken by this process


class Journal:
    """One journal file; shared by every collector of the process that names the same path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._submissions: dict[str, Submission] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # a line cut short by a kill mid-write
            self._apply(record)

    def _apply(self, record: dict[str, Any]) -> None:
        token = str(record.get("token"))
        event = record.get("event")
        if event == "submitting":
            requests = [(str(fp), str(cid)) for fp, cid in record.get("requests", [])]
            self._submissions[token] = Submission(
                token, record["endpoint"], record["model"], record["file_id"], requests
            )
        elif token in self._submissions and event == "submitted":
            self._submissions[token].batch_id = record.get("batch_id")
        elif token in self._submissions and event == "finished":
            self._submissions[token].status = record.get("status")

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            handle.flush()
            os.fsync(handle.fileno())  # on disk before the batch it describes is created
        self._apply(record)

    def claim(self, endpoint: str, fingerprints: list[str]) -> list[tuple[Submission, str] | None]:
        """For each fingerprint, an earlier submission's unclaimed request with it, or None."""
        with self._lock:
            found: list[tuple[Submission, str] | None] = []
            for wanted in fingerprints:
                found.append(self._claim_one(endpoint, wanted))
            return found

    def _claim_one(self, endpoint: str, wanted: str) -> tuple[Submission, str] | None:
        for submission in self._submissions.values():
            if submission.endpoint != endpoint or submission.status in NOT_REUSABLE:
                continue
            for fp, custom_id in submission.requests:
                if fp == wanted and custom_id not in submission.claimed:
                    submission.claimed.add(custom_id)
                    return submission, custom_id
        return None

    def release(self, token: str, custom_ids: list[str]) -> None:
        """Give claimed requests back (their job failed): a later job of this process may collect them."""
        with self._lock:
            submission = self._submissions.get(token)
            if submission is not None:
                submission.claimed.difference_update(custom_ids)

    def submitting(self, submission: Submission) -> None:
        """Record a submission before its batch is created (its file is uploaded)."""
        submission.claimed = {custom_id for _, custom_id in submission.requests}
        with self._lock:
            record = {
                "event": "submitting",
                "token": submission.token,
                "endpoint": submission.endpoint,
                "model": submission.model,
                "file_id": submission.file_id,
                "requests": submission.requests,
            }
            self._append(record)
            self._submissions[submission.token].claimed = submission.claimed

    def submitted(self, token: str, batch_id: str) -> None:
        """Record the id of the batch created for a submission."""
        with self._lock:
            self._append({"event": "submitted", "token": token, "batch_id": batch_id})

    def finished(self, token: str, status: str) -> None:
        """Record the final status of a submission's batch."""
        with self._lock:
            self._append({"event": "finished", "token": token, "status": status})


_journals: dict[Path, Journal] = {}
_journals_lock = threading.Lock()


def open_journal(path: str | os.PathLike[str]) -> Journal:
    """The process's one `Journal` for `path`."""
    resolved = Path(path).resolve()
    with _journals_lock:
        journal = _journals.get(resolved)
        if journal is None:
            journal = _journals[resolved] = Journal(resolved)
        return journal
