"""The DeepInfra emulator in a child process, so its CPU never lands on the client's clock.

The child hosts one `DeepInfraEmulator` per *profile*, each on its own loopback port:

- `fast`: every chat request gets the same short reply (the per-call, agent and fan-out rows);
  embeddings and reranking are the emulator's deterministic, unscripted answers;
- `stream`: every chat request gets one long reply streamed in exactly N pieces (2,000 by default).

Two ports instead of one script keep the public emulator API untouched: a scripted `always`
rule applies to every request of a route, so the long reply needs an emulator of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from types import TracebackType

API_KEY = "bench-key"
CHAT_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBED_DIMENSIONS = 384
RERANK_MODEL = "Qwen/Qwen3-Reranker-0.6B"
SHORT_REPLY = "Hello from the DeepInfra emulator."
STREAM_CHUNKS = 2000


def long_reply(chunks: int) -> str:
    """The streamed reply: four characters (about one token) per chunk."""
    return ("lorem ipsum dolor sit amet " * (chunks // 6 + 1))[: chunks * 4]


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def serve(stream_chunks: int = STREAM_CHUNKS) -> None:
    """Child process body: start both emulators, print their ports, serve until stdin closes."""
    from agno_deepinfra.testing import DeepInfraEmulator, Reply

    fast = DeepInfraEmulator(api_key=API_KEY, record=False).start()
    fast.always(Reply(content=SHORT_REPLY))
    stream = DeepInfraEmulator(api_key=API_KEY, record=False).start()
    stream.always(Reply(content=long_reply(stream_chunks), chunks=stream_chunks))
    print(json.dumps({"fast": fast.port, "stream": stream.port}), flush=True)
    try:
        sys.stdin.read()  # EOF (the parent closed the pipe or died) means stop
    finally:
        fast.stop()
        stream.stop()


@dataclass(frozen=True)
class Endpoints:
    """Where the emulators listen."""

    fast_port: int
    stream_port: int
    api_key: str = API_KEY

    @property
    def root_url(self) -> str:
        """DeepInfra's `https://api.deepinfra.com` equivalent (for `/v1/inference/...`)."""
        return f"http://127.0.0.1:{self.fast_port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible URL of the short-reply emulator."""
        return f"{self.root_url}/v1/openai"

    @property
    def stream_base_url(self) -> str:
        """The OpenAI-compatible URL of the long-stream emulator."""
        return f"http://127.0.0.1:{self.stream_port}/v1/openai"


class EmulatorProcess:
    """Runs the emulators in a child process (`python -m benchmarks.server`); use as a context manager."""

    def __init__(self, stream_chunks: int = STREAM_CHUNKS) -> None:
        self.stream_chunks = stream_chunks
        self._process: subprocess.Popen[str] | None = None
        self.endpoints: Endpoints | None = None

    def __enter__(self) -> Endpoints:
        command = [sys.executable, "-m", "benchmarks.server", str(self.stream_chunks)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(10)
            raise RuntimeError(f"the emulator process exited with status {self._process.returncode}")
        ports = json.loads(line)
        self.endpoints = Endpoints(ports["fast"], ports["stream"])
        return self.endpoints

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._process = None

    @property
    def pid(self) -> int:
        """The child's process id."""
        if self._process is None:
            raise RuntimeError("the emulator process is not running")
        return self._process.pid

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the emulator process has used so far."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        # After the command name: the state is field 0, utime field 11 and stime field 12.
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else STREAM_CHUNKS)
