"""The DeepInfra emulator in a child process, so its CPU never lands on the client's clock.

The child hosts one `DeepInfraEmulator` per *profile*, each on its own loopback port:

- `fast`: every chat request gets the same short reply (the per-call, agent and fan-out rows);
  embeddings and reranking are the emulator's deterministic, unscripted answers;
- `stream`: every chat request gets one long reply streamed in exactly N pieces (2,000 by default).

Two ports instead of one script keep the public emulator API untouched: a scripted `always`
rule applies to every request of a route, so the long reply needs an emulator of its own.

`python -m benchmarks.server N C S R` serves one emulator with DeepInfra's concurrency cap
instead (C requests per model at once, S seconds each, `Retry-After: R`) for the scale-out
simulation; each line "stats" on stdin answers with the cap's counts and in-flight timeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from types import TracebackType
from typing import Any

API_KEY = "bench-key"
CHAT_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBED_DIMENSIONS = 384
RERANK_MODEL = "Qwen/Qwen3-Reranker-0.6B"
SHORT_REPLY = "Hello from the DeepInfra emulator."
NO_FAMILY_MODEL = "acme/custom-model"
STREAM_CHUNKS = 2000


def long_reply(chunks: int) -> str:
    """The streamed reply: four characters (about one token) per chunk."""
    return ("lorem ipsum dolor sit amet " * (chunks // 6 + 1))[: chunks * 4]


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def serve(stream_chunks: int, capped: tuple[int, float, float] | None = None) -> None:
    """Child process body: start the emulators, print their ports, serve until stdin closes.

    `capped` (cap, service time, Retry-After): one capped emulator instead, and each "stats" line on
    stdin is answered with its counters.
    """
    from agno_deepinfra.testing import DeepInfraEmulator, Reply

    names = ("concurrency_limit", "service_time", "retry_after")
    limits: dict[str, Any] = dict(zip(names, capped, strict=True)) if capped else {}
    fast = DeepInfraEmulator(api_key=API_KEY, record=False, **limits).start()
    fast.always(Reply(content=SHORT_REPLY))
    fast.add_model(NO_FAMILY_MODEL)  # the open-model section's control: a model in no family
    emulators = [fast]
    if capped is None:
        emulators.append(DeepInfraEmulator(api_key=API_KEY, record=False).start())
        emulators[1].always(Reply(content=long_reply(stream_chunks), chunks=stream_chunks))
    print(json.dumps({"fast": fast.port, "stream": emulators[-1].port}), flush=True)
    try:
        for line in sys.stdin:  # EOF (the parent closed the pipe or died) means stop
            if line.strip() == "stats":
                stats = {"rejected": fast.rejected(), "peak": max(fast.cap.peak.values(), default=0)}
                print(json.dumps({**stats, "timeline": fast.cap.timeline}), flush=True)
                fast.cap.reset()
    finally:
        for emulator in emulators:
            emulator.stop()


@dataclass(frozen=True)
class Endpoints:
    """Where the emulators listen.

    `root_url` stands for DeepInfra's `https://api.deepinfra.com` (for `/v1/inference/...`);
    `base_url` and `stream_base_url` are the OpenAI-compatible URLs of the two emulators.
    """

    root_url: str
    base_url: str
    stream_base_url: str
    api_key: str = API_KEY


class EmulatorProcess:
    """Runs the emulators in a child process (`python -m benchmarks.server`); use as a context manager."""

    def __init__(self, stream_chunks: int = STREAM_CHUNKS, capped: tuple[int, float, float] | None = None) -> None:
        self.stream_chunks = stream_chunks
        self.capped = capped  # (cap, service time, Retry-After): the scale-out emulator instead
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Endpoints:
        command = [sys.executable, "-m", "benchmarks.server", str(self.stream_chunks), *map(str, self.capped or ())]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(10)
            raise RuntimeError(f"the emulator process exited with status {self._process.returncode}")
        ports = json.loads(line)
        root, stream_root = (f"http://127.0.0.1:{ports[name]}" for name in ("fast", "stream"))
        return Endpoints(root, f"{root}/v1/openai", f"{stream_root}/v1/openai")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        process = self._process
        if process is None:
            return
        try:
            process.communicate(timeout=15)  # closes stdin: the child stops at its EOF
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        self._process = None

    def stats(self) -> dict[str, Any]:
        """The capped emulator's 429s, peak in flight and timeline since the last call (then reset)."""
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the emulator process is not running")
        process.stdin.write("stats\n")
        process.stdin.flush()
        result: dict[str, Any] = json.loads(process.stdout.readline())
        return result

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the emulator process has used so far."""
        if self._process is None:
            raise RuntimeError("the emulator process is not running")
        with open(f"/proc/{self._process.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        # After the command name: the state is field 0, utime field 11 and stime field 12.
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


if __name__ == "__main__":  # `python -m benchmarks.server CHUNKS [CAP SERVICE RETRY_AFTER]`
    cap_args = sys.argv[2:5]
    capped = (int(cap_args[0]), float(cap_args[1]), float(cap_args[2])) if cap_args else None
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else STREAM_CHUNKS, capped)
