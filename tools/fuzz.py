"""`make fuzz`: hypothesis-generated hostile input for every parser of the package, for a time budget.

What a hostile or broken server (or a file left by a crash) can hand the package, and where it goes:

- `error_bodies`: an error status, headers and body (JSON of any shape, HTML, bytes, deep
  nesting), through `_shared.errors.status_error` and `text_of`;
- `retry_headers`: `Retry-After` / `retry-after-ms` values (numbers, dates, garbage), through
  `_shared.retry.retry_after_seconds`, `retry_delay` and the `"auto"` limiter;
- `sse_streams`: a chat completion stream (chunks of any shape, `<think>` tags cut anywhere, usage,
  garbage lines), through the real openai SDK and `DeepInfra.response_stream`, over a socket;
- `usage`: a usage record of any shape, through `chat._usage.usage_metrics`;
- `journal_files`: a batch journal (records of any shape, garbage, a torn last line), through
  `batch._journal.open_journal`.

The generators are in `tools/fuzz_inputs.py`. Each example is checked for the package's promises:
only agno's exceptions and ours come out (a `ValueError` is accepted from the journal when it names
the file), the key never shows in an error, a retry wait is finite, at least 0 and at most the cap.
It reports, per target, the number of examples, the slowest input, and every other exception type
with its first input and where it was raised; it exits 1 if there is any. Never part of `make test`
(tests/ holds the tests; this is a tool): `make fuzz` (`FUZZ_SECONDS=600 make fuzz` for a longer
run), or `python tools/fuzz.py --seconds 30 --only error_bodies`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import hypothesis
from agno.exceptions import AgnoError
from agno.models.message import Message
from fuzz_inputs import SECRET, error_body, headers, journal_file, sse_stream, statuses, usage_records
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agno_deepinfra import DeepInfra
from agno_deepinfra._shared.adaptive_limit import Ticket
from agno_deepinfra._shared.error_text import text_of
from agno_deepinfra._shared.errors import MAX_MESSAGE_TEXT, retry_after_seconds, status_error
from agno_deepinfra._shared.limiter import Limiter
from agno_deepinfra._shared.retry import retry_delay, scheduled_delay
from agno_deepinfra.batch import _journal as journal_module
from agno_deepinfra.chat._usage import usage_metrics

HANG_SECONDS = 10  # an example running longer is stopped and reported as a hang
BATCH = 200  # examples per hypothesis run; runs repeat until the target's share of the budget is spent


class BrokenPromise(Exception):
    """An example broke one of the package's promises (not an exception type, a wrong result)."""


class Hang(Exception):
    """An example ran longer than HANG_SECONDS."""


# ---------------------------------------------------------------------------------- checks


def check_error_body(example: tuple[int, dict[str, str], str]) -> None:
    status, extra, body = example
    response = httpx.Response(status, headers=extra, content=body.encode("utf-8", "surrogatepass"))
    error = status_error(status, response, model_id="m/x", model_name="DeepInfra", secret=SECRET)
    if not isinstance(error, AgnoError):
        raise BrokenPromise(f"status_error returned {type(error).__name__}")
    texts = str(error) + str(getattr(error, "detail", ""))
    if SECRET in texts:
        raise BrokenPromise("the key is in the error's text")
    if len(str(error)) > MAX_MESSAGE_TEXT + 400:
        raise BrokenPromise(f"a message of {len(str(error))} characters")
    with contextlib.suppress(ValueError, RecursionError):  # not JSON: text_of only ever gets parsed JSON
        text_of(json.loads(body))


def check_retry_headers(example: tuple[dict[str, str], float, float, bool]) -> None:
    raw, cap, jitter, paced = example
    hint = retry_after_seconds(raw)
    for attempt in range(3):
        wait = retry_delay(attempt, base=0.5, exponential=True, server_hint=hint, cap=cap, jitter=jitter, paced=paced)
        most = max(scheduled_delay(attempt, 0.5, True), cap) * (1 + jitter)
        if not (0 <= wait <= most + 1e-9) or math.isnan(wait):
            raise BrokenPromise(f"a wait of {wait!r} s (cap {cap}, hint {hint!r})")
    limiter = Limiter("auto", clock=lambda: 0.0)
    error = AgnoError("429")
    error.status_code, error.retry_after = 429, hint  # type: ignore[attr-defined]
    limiter.release(Ticket(0.0), error, cap)
    assert limiter.adaptive is not None
    held = limiter.adaptive.probe_in()
    if held is None or not held <= max(cap, 1.0):  # 1 s: the pause when the server named no wait
        raise BrokenPromise(f'"auto" holds back {held!r} s with a cap of {cap} s')


FINAL = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":'
    b'[{"index":0,"delta":{"content":"done"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)


class StreamServer:
    """Serves whatever `body` holds, as an event stream, on 127.0.0.1 (one model per fuzz run)."""

    def __init__(self) -> None:
        self.body = FINAL
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body, owner.body = owner.body, FINAL  # agno's follow-up calls (after a tool call) get an answer
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.model = DeepInfra(id="m/x", base_url=url, api_key=SECRET, retries=0, timeout=5)


_server: StreamServer | None = None


def check_sse_stream(stream: str) -> None:
    global _server
    if _server is None:
        _server = StreamServer()  # its first request, untimed: the client's and the connection's set-up
        list(_server.model.response_stream(messages=[Message(role="user", content="hi")]))
    _server.body = stream.encode("utf-8", "surrogatepass")
    try:
        for _ in _server.model.response_stream(messages=[Message(role="user", content="hi")]):
            pass
    except AgnoError as error:
        if SECRET in str(error):
            raise BrokenPromise("the key is in the error's text") from error


def check_usage(usage: Any) -> None:
    usage_metrics(usage)


_journal_dir = Path(tempfile.mkdtemp(prefix="agno-deepinfra-fuzz-"))
_journal_count = 0


def check_journal(text: str) -> None:
    global _journal_count
    _journal_count += 1
    path = _journal_dir / f"journal-{_journal_count}.jsonl"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        journal = journal_module.open_journal(path)
        journal.load()  # every line read: torn, foreign or wrong-shaped lines are skipped with a warning
        journal.claim("account", "http://127.0.0.1/v1/openai", "/v1/chat/completions", ["a", "b"])
    except ValueError as error:
        if str(path) not in str(error) and path.name not in str(error):
            raise  # a bare ValueError that does not say which file: not a clear error
    finally:
        journal_module._journals.clear()  # the process cache would keep every example's journal
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------- running


@dataclass
class Target:
    name: str
    share: float  # of the budget
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    allowed: tuple[type[BaseException], ...] = (AgnoError,)
    examples: int = 0
    seconds: float = 0.0
    slowest: tuple[float, Any] = (0.0, None)
    foreign: dict[str, tuple[int, Any, str]] = field(default_factory=dict)  # type -> (count, input, where)


TARGETS = [
    Target("error_bodies", 0.3, st.tuples(statuses, headers, error_body), check_error_body),
    Target(
        "retry_headers",
        0.15,
        st.tuples(headers, st.floats(0, 1e6), st.floats(0, 1), st.booleans()),
        check_retry_headers,
    ),
    Target("sse_streams", 0.3, sse_stream, check_sse_stream),
    Target("usage", 0.1, usage_records, check_usage),
    Target("journal_files", 0.15, journal_file, check_journal),
]


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang(f"over {HANG_SECONDS} s")


def run_one(target: Target, example: Any) -> None:
    started = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        target.check(example)
    except target.allowed:
        pass
    except Exception as exc:  # everything else is what the fuzz reports
        name = type(exc).__name__ if not isinstance(exc, BrokenPromise) else f"broken promise: {exc}"
        frames = traceback.extract_tb(exc.__traceback__)
        where = next(
            (
                f"{Path(f.filename).name}:{f.lineno} {f.name}"
                for f in reversed(frames)
                if "agno_deepinfra" in f.filename
            ),
            f"{Path(frames[-1].filename).name}:{frames[-1].lineno}",
        )
        count, first, _ = target.foreign.get(name, (0, example, where))
        if len(repr(example)) < len(repr(first)):
            first = example
        target.foreign[name] = (count + 1, first, f"{type(exc).__name__}: {str(exc)[:120]} at {where}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    took = time.perf_counter() - started
    target.examples += 1
    target.seconds += took
    if took > target.slowest[0]:
        target.slowest = (took, example)


def _timed(target: Target, example: Any) -> float:
    started = time.perf_counter()
    with contextlib.suppress(Exception):
        target.check(example)
    return time.perf_counter() - started


def drive(target: Target, seconds: float) -> None:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:

        @settings(
            max_examples=BATCH,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(target.strategy)
        def batch(example: Any) -> None:
            if time.monotonic() < stop:
                run_one(target, example)

        batch()


_saved = 0


def _short(example: Any) -> str:
    """The start of an example's repr; the whole of it is saved beside the journals, for a rerun."""
    global _saved
    _saved += 1
    text = repr(example)
    path = _journal_dir / f"input-{_saved}.txt"
    path.write_text(text, encoding="utf-8", errors="backslashreplace")
    return f"{len(text)} chars ({path}): {text[:160]}{'...' if len(text) > 160 else ''}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="the whole budget (default: 120)")
    parser.add_argument("--only", choices=[t.name for t in TARGETS], action="append", help="run these targets only")
    options = parser.parse_args()
    chosen = [t for t in TARGETS if not options.only or t.name in options.only]
    signal.signal(signal.SIGALRM, _on_alarm)
    logging.disable(logging.CRITICAL)  # agno logs every failed stream at ERROR: thousands of lines
    print(f"make fuzz: {options.seconds:g} s over {len(chosen)} targets (hypothesis {hypothesis.__version__})")
    total_share = sum(t.share for t in chosen)
    for target in chosen:
        drive(target, options.seconds * target.share / total_share)
        took, slowest = target.slowest
        again = min(_timed(target, slowest) for _ in range(3))  # under load, one slow run may be noise
        print(
            f"  {target.name:14} {target.examples:7} examples in {target.seconds:6.1f} s; slowest "
            f"{took * 1000:.1f} ms (best of 3 re-runs: {again * 1000:.1f} ms): {_short(slowest)}"
        )
    found = [(t.name, name, entry) for t in chosen for name, entry in t.foreign.items()]
    if not found:
        print("No exception but agno's and ours, no broken promise.")
        return 0
    print("Not ours or agno's (or a broken promise):")
    for target_name, name, (count, first, where) in found:
        print(f"  {target_name}: {name} x{count}\n      {where}\n      first input: {_short(first)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
