"""DeepInfra's Batch API in the emulator: files (upload, retrieve, content), batches (create, retrieve, list, cancel).

Wire shapes, and where they come from:

- DeepInfra's docs pages "Batch API" (docs.deepinfra.com/batch/introduction) and "Batch endpoints"
  (docs.deepinfra.com/batch/batch-endpoints), and its blog post "Introducing the Batch API" (June
  2026): OpenAI-compatible, endpoints `/v1/chat/completions`, `/v1/completions` and
  `/v1/embeddings`, one endpoint and one model per file, `completion_window` `"24h"` only, up to
  16 metadata pairs, `output_expires_after` between 3600 and 2592000 seconds.
- OpenAI's Batch API reference, which DeepInfra follows and openai-python types
  (`types/batch.py`, `types/file_object.py`, `types/batch_request_counts.py`): the Batch object,
  the statuses `validating` -> `in_progress` -> `finalizing` -> `completed` (or `failed`,
  `expired`, `cancelling` -> `cancelled`), line validation failing the batch with
  `errors: {"object": "list", "data": [{code, message, line, param}]}`, output and error lines
  `{"id": "batch_req_...", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`
  in no particular order, at most 50,000 requests a file.

Each line is answered by the same code as the real-time route (`prepare_chat`,
`prepare_completions`, `prepare_embeddings`), so a batch answer equals the real-time answer for the same body. Its
`usage.estimated_cost` is the real-time estimate, as in a real-time body: DeepInfra's docs do not
say that batch output carries a batch-priced cost.

Time comes from an injectable clock (`BatchClock`): `ManualClock` only moves when a test says
so, `TickingClock` moves a fixed step on every reading (so a batch advances per poll, whatever the
wall clock does). `BatchApi.fail_requests` scripts single-line failures and `end_next` a whole
batch ending `failed`, `expired` or `cancelled`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from agno_deepinfra.testing.catalog import Catalog
from agno_deepinfra.testing.chat import prepare_chat
from agno_deepinfra.testing.completions import prepare_completions
from agno_deepinfra.testing.endpoints import prepare_embeddings
from agno_deepinfra.testing.errors import detail_error, not_found
from agno_deepinfra.testing.outcome import ApiError, Outcome, Respond, json_response
from agno_deepinfra.testing.prompt_cache import PromptCache

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
MAX_LINES = 50_000
TERMINAL = ("completed", "failed", "expired", "cancelled")
BatchClock = Callable[[], float]


class ManualClock:
    """A clock that stands still until `advance` is called.

    Args:
        start: the time it shows at first, in seconds since the epoch.
    """

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self.now += seconds


class TickingClock(ManualClock):
    """A clock that moves `step` seconds on every reading: batches advance per request, not per wall second.

    Args:
        step: seconds added on every reading.
        start: the time it shows before the first reading, in seconds since the epoch.
    """

    def __init__(self, step: float = 1.0, start: float = 1_780_000_000.0) -> None:
        super().__init__(start)
        self.step = step

    def __call__(self) -> float:
        with self._lock:
            self.now += self.step
            return self.now


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass
class _Batch:
    id: str
    endpoint: str
    input_file_id: str
    metadata: dict[str, str] | None
    created_at: float
    status: str = "validating"
    lines: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    ending: str | None = None  # a scripted end: "failed", "expired" or "cancelled"
    stamps: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        stamp = self.stamps.get
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created_at),
            **{f"{name}_at": stamp(name) for name in _STAMPS},
            "request_counts": {"total": len(self.lines), "completed": self.completed, "failed": self.failed},
            "metadata": self.metadata,
        }


_STAMPS = ("in_progress", "expires", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled")


@dataclass
class _LineFailure:
    matching: str
    status: int
    message: str
    times: int | None = None  # lines it still fails; None: every one


class BatchApi:
    """The emulator's files and batches; `handle` serves `/v1/openai/files*` and `/v1/openai/batches*`.

    Attributes:
        clock: where time comes from (`time.time` unless injected).
        validating_seconds: how long a batch stays `validating`.
        running_seconds: how long it then stays `in_progress` before it completes.
    """

    def __init__(
        self,
        catalog: Catalog,
        clock: BatchClock | None = None,
        validating_seconds: float = 0.2,
        running_seconds: float = 0.5,
    ) -> None:
        self.catalog = catalog
        self.clock: BatchClock = clock or time.time
        self.validating_seconds = validating_seconds
        self.running_seconds = running_seconds
        self.prompt_cache = PromptCache()  # shared with the real-time chat route (see App)
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}
        self._failures: list[_LineFailure] = []
        self._endings: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()

    # -- scripting -------------------------------------------------------------------------------

    def fail_requests(
        self, matching: str, status: int = 400, message: str = "Bad request", times: int | None = None
    ) -> None:
        """Fail every batch line whose body's JSON contains `matching`, with `status` and DeepInfra's error body.

        `times` fails only that many matching lines (a passing failure, such as a 500), then answers them.
        """
        if times is not None and times < 1:
            raise ValueError(f"fail_requests(times=...) must be at least 1 or None; got {times!r}")
        self._failures.append(_LineFailure(matching, status, message, times))

    def end_next(self, status: str, message: str | None = None) -> None:
        """End the next batch created with `status` ("failed", "expired" or "cancelled") instead of completing it.

        `message` becomes an entry of the batch's `errors` (as DeepInfra reports why a batch failed).
        """
        if status not in ("failed", "expired", "cancelled"):
            raise ValueError(f"end_next takes 'failed', 'expired' or 'cancelled', not {status!r}")
        self._endings.append((status, message))

    def reset(self) -> None:
        """Forget files, batches, scripted failures and endings, and the prompt cache."""
        with self._lock:
            self.files.clear()
            self.batches.clear()
            self._failures.clear()
            self._endings.clear()
            self.prompt_cache.clear()

    def created(self) -> list[dict[str, Any]]:
        """Every batch created so far, as `GET /batches/{id}` would show it."""
        with self._lock:
            return [self._view(batch) for batch in self.batches.values()]

    # -- routing ---------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, parsed: Any) -> Outcome:
        """Answer one files or batches request (already authorised)."""
        parts = path.removeprefix("/v1/openai/").split("/")
        with self._lock:
            try:
                return Outcome(self._route(method, parts, parse_qs(query), parsed))
            except ApiError as error:
                return Outcome(error.response)

    def _route(self, method: str, parts: list[str], query: dict[str, list[str]], parsed: Any) -> Respond:
        kind, rest = parts[0], parts[1:]
        if kind == "files":
            if method == "POST" and not rest:
                return self._upload(parsed)
            if method == "GET" and len(rest) == 1:
                return json_response(200, self._file(rest[0]).to_json())
            if method == "GET" and len(rest) == 2 and rest[1] == "content":
                return Respond(200, self._file(rest[0]).content, b"application/jsonl")
        if kind == "batches":
            if method == "POST" and not rest:
                return self._create(parsed)
            if method == "GET" and not rest:
                return self._list(query)
            if method == "GET" and len(rest) == 1:
                return json_response(200, self._view(self._batch(rest[0])))
            if method == "POST" and len(rest) == 2 and rest[1] == "cancel":
                return self._cancel(self._batch(rest[0]))
        raise ApiError(404, not_found())

    def _file(self, file_id: str) -> _File:
        found = self.files.get(file_id)
        if found is None:
            raise ApiError(404, detail_error(f"File {file_id} not found"))
        return found

    def _batch(self, batch_id: str) -> _Batch:
        found = self.batches.get(batch_id)
        if found is None:
            raise ApiError(404, detail_error(f"Batch {batch_id} not found"))
        return found

    # -- files -----------------------------------------------------------------------------------

    def _upload(self, form: Any) -> Respond:
        upload = form.get("file") if isinstance(form, dict) else None
        purpose = form.get("purpose") if isinstance(form, dict) else None
        if not isinstance(upload, dict) or not isinstance(purpose, str):
            raise ApiError(400, detail_error("A multipart upload with 'file' and 'purpose' is required"))
        if purpose != "batch":
            raise ApiError(400, detail_error(f"purpose must be 'batch', got {purpose!r}"))
        created = self._new_file(upload.get("filename") or "input.jsonl", "batch", upload.get("content") or b"")
        return json_response(200, created.to_json())

    def _new_file(self, filename: str, purpose: str, content: bytes) -> _File:
        created = _File(f"file-{uuid.uuid4().hex[:24]}", filename, purpose, content, int(self.clock()))
        self.files[created.id] = created
        return created

    # -- batches ---------------------------------------------------------------------------------

    def _create(self, body: Any) -> Respond:
        if not isinstance(body, dict):
            raise ApiError(400, detail_error("A JSON body is required"))
        endpoint = body.get("endpoint")
        if endpoint not in ENDPOINTS:
            raise ApiError(400, detail_error(f"endpoint must be one of {', '.join(ENDPOINTS)}; got {endpoint!r}"))
        if body.get("completion_window") != "24h":
            raise ApiError(400, detail_error("completion_window must be '24h'"))
        metadata = body.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16):
            raise ApiError(400, detail_error("metadata takes up to 16 string pairs"))
        source = self._file(str(body.get("input_file_id")))
        batch = _Batch(f"batch_{uuid.uuid4().hex[:24]}", endpoint, source.id, metadata, self.clock())
        batch.lines, batch.errors = _validated_lines(source.content, endpoint)
        if self._endings:
            batch.ending, message = self._endings.pop(0)
            if message is not None:
                batch.errors.append({"code": "batch_failed", "message": message, "param": None, "line": None})
        self.batches[batch.id] = batch
        return json_response(200, batch.to_json())

    def _list(self, query: dict[str, list[str]]) -> Respond:
        limit = int(query.get("limit", ["20"])[0])
        after = query.get("after", [None])[0]
        views = [self._view(batch) for batch in reversed(self.batches.values())]  # newest first
        if after is not None:
            ids = [view["id"] for view in views]
            views = views[ids.index(after) + 1 :] if after in ids else []
        page = views[:limit]
        body = {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(views) > limit,
        }
        return json_response(200, body)

    def _cancel(self, batch: _Batch) -> Respond:
        self._advance(batch)
        if batch.status not in TERMINAL:
            batch.status = "cancelling"
            batch.stamps["cancelling"] = int(self.clock())
        return json_response(200, batch.to_json())

    def _view(self, batch: _Batch) -> dict[str, Any]:
        self._advance(batch)
        return batch.to_json()

    # -- time ------------------------------------------------------------------------------------

    def _advance(self, batch: _Batch) -> None:
        """Bring the batch's status up to the clock."""
        if batch.status in TERMINAL:
            return
        now = self.clock()
        if batch.status == "cancelling":
            self._finish(batch, "cancelled", now)
            return
        if batch.status == "validating" and now >= batch.created_at + self.validating_seconds:
            if batch.errors and batch.ending is None:
                self._finish(batch, "failed", now)
                return
            batch.status = "in_progress"
            batch.stamps["in_progress"] = int(now)
        if batch.status == "in_progress" and now >= batch.created_at + self.validating_seconds + self.running_seconds:
            self._finish(batch, batch.ending or "completed", now)

    def _finish(self, batch: _Batch, status: str, now: float) -> None:
        """End a batch: answer its lines (none when it failed; half when it expired or was cancelled)."""
        answered = batch.lines
        if status == "failed":
            answered = []
        elif status in ("expired", "cancelled"):
            answered = batch.lines[: len(batch.lines) // 2]
        outputs: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for line in answered:
            result = self._answer(batch.endpoint, line)
            (outputs if result["response"]["status_code"] == 200 else errors).append(result)
        batch.completed, batch.failed = len(outputs), len(errors)
        if outputs:
            batch.output_file_id = self._new_file(f"{batch.id}_output.jsonl", "batch_output", _jsonl(outputs)).id
        if errors:
            batch.error_file_id = self._new_file(f"{batch.id}_error.jsonl", "batch_output", _jsonl(errors)).id
        batch.status = status
        batch.stamps[status] = int(now)

    def _answer(self, endpoint: str, line: dict[str, Any]) -> dict[str, Any]:
        """One output line: the real-time route's answer to the line's body, or a scripted failure."""
        body = line["body"]
        text = json.dumps(body, ensure_ascii=False)
        scripted = next((item for item in self._failures if item.matching in text and item.times != 0), None)
        if scripted is not None:
            if scripted.times is not None:
                scripted.times -= 1
            status, answer = scripted.status, detail_error(scripted.message)
        else:
            status, answer = self._real_time(endpoint, body)
        request_id = uuid.uuid4().hex
        return {
            "id": f"batch_req_{uuid.uuid4().hex[:24]}",
            "custom_id": line["custom_id"],
            "response": {"status_code": status, "request_id": request_id, "body": answer},
            "error": None,
        }

    def _real_time(self, endpoint: str, body: dict[str, Any]) -> tuple[int, Any]:
        try:
            if endpoint == "/v1/embeddings":
                action = prepare_embeddings(body, self.catalog)(None, None)
            elif endpoint == "/v1/chat/completions":
                action = prepare_chat(body, self.catalog, cache=self.prompt_cache)(None, None)
            else:
                action = prepare_completions(body, self.catalog)(None, None)
        except ApiError as error:
            return error.response.status, json.loads(error.response.body)
        assert isinstance(action, Respond)  # unscripted answers are plain JSON responses
        return action.status, json.loads(action.body)


def _validated_lines(content: bytes, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The file's request lines, and the validation errors that fail the batch (OpenAI's shape)."""
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    models: set[str] = set()

    def problem(number: int, code: str, message: str, param: str | None = None) -> None:
        errors.append({"code": code, "message": message, "param": param, "line": number})

    raw_lines = [raw for raw in content.decode("utf-8", errors="replace").splitlines() if raw.strip()]
    if len(raw_lines) > MAX_LINES:
        problem(MAX_LINES + 1, "too_many_requests", f"A batch takes at most {MAX_LINES} requests; got {len(raw_lines)}")
        return [], errors
    if not raw_lines:
        problem(1, "empty_file", "The input file has no requests")
    for number, raw in enumerate(raw_lines, start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            problem(number, "invalid_json_line", "This line is not valid JSON")
            continue
        body = line.get("body") if isinstance(line, dict) else None
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(body, dict) or not isinstance(custom_id, str):
            problem(number, "invalid_request", "Each line needs a string custom_id and a body object")
            continue
        if line.get("method", "POST") != "POST":
            problem(number, "invalid_method", "method must be POST", "method")
        if line.get("url") != endpoint:
            problem(number, "mismatched_url", f"url {line.get('url')!r} does not match the batch endpoint {endpoint}")
        if custom_id in seen:
            problem(number, "duplicate_custom_id", f"custom_id {custom_id!r} appears more than once", "custom_id")
        if body.get("stream") is True:
            problem(number, "invalid_request", "Streaming is not available in a batch: remove stream", "body.stream")
        seen.add(custom_id)
        models.add(str(body.get("model")))
        lines.append(line)
    if len(models) > 1:
        problem(1, "mismatched_model", f"All requests of a batch must use the same model; got {sorted(models)}")
    return lines, errors


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    # Output order is not request order, as on DeepInfra: sorted by a hash of the custom_id.
    ordered = sorted(rows, key=lambda row: hashlib.sha256(row["custom_id"].encode()).hexdigest())
    return b"".join(json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in ordered)
