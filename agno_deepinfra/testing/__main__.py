"""Command line of the emulator.

- `python -m agno_deepinfra.testing serve [--host H] [--port P] [--api-key KEY] [--stream-usage S]`
  serves it in the foreground. Other processes script it over HTTP under `/_emulator/` (see
  control.py and SCRIPTING.md), with the `--api-key` and only while it listens on a loopback address.
- `python -m agno_deepinfra.testing run [--port P] [--stream-usage S] SCRIPT [ARGS...]` runs one
  script offline against a fresh emulator and exits with its status (see run_script.py).

`serve` also takes `--max-body-bytes N` (64 MiB) and `--allowed-host NAME` (repeatable), as
`DeepInfraEmulator`'s `max_body_bytes` and `allowed_hosts`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from agno_deepinfra.testing.app import App
from agno_deepinfra.testing.catalog import Catalog
from agno_deepinfra.testing.chat_wire import STREAM_USAGE_STYLES
from agno_deepinfra.testing.emulator import DEFAULT_API_KEY
from agno_deepinfra.testing.script import Script
from agno_deepinfra.testing.server import DEFAULT_MAX_BODY_BYTES, EmulatorServer


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m agno_deepinfra.testing", description="Local DeepInfra emulator.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the emulator in the foreground until Ctrl-C / SIGTERM")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--api-key", default=DEFAULT_API_KEY)
    serve.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed chunks")
    serve.add_argument("--no-record", action="store_true", help="do not keep a request log (long benchmarks)")
    serve.add_argument(
        "--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, help="larger request bodies are answered 413"
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        help="a Host name to answer besides loopback names and the bound address (repeatable)",
    )
    serve.add_argument(
        "--stream-usage",
        choices=STREAM_USAGE_STYLES,
        default="deepinfra",
        help="where streams carry usage: on the finish chunk (DeepInfra), a choices:[] chunk (OpenAI), or both",
    )
    run = commands.add_parser(
        "run",
        help="run a Python script against a fresh emulator (DEEPINFRA_BASE_URL and DEEPINFRA_API_KEY set for it)",
    )
    run.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    run.add_argument("--stream-usage", choices=STREAM_USAGE_STYLES, default="deepinfra")
    run.add_argument("script", help="path of the Python script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run the server on this event loop until SIGINT or SIGTERM."""
    script = Script(record=not args.no_record)
    app = App(args.api_key, Catalog(), script)
    app.stream_usage = args.stream_usage
    hosts = frozenset(name.lower() for name in args.allowed_host) if args.allowed_host else None
    server = EmulatorServer(app, args.host, args.port, args.chunk_delay, args.max_body_bytes, hosts)
    port = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # One line, flushed, so scripts and tests can wait for it and read the address.
    print(f"DeepInfra emulator: base_url=http://{args.host}:{port}/v1/openai api_key={args.api_key}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(argv)
    if args.command == "run":
        from agno_deepinfra.testing.run_script import run_script

        return run_script(args.script, args.args, port=args.port, stream_usage=args.stream_usage)
    try:
        asyncio.run(serve(args))
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
