"""`python -m agno_deepinfra.testing run SCRIPT [ARGS...]`: one script, offline, against the emulator.

Starts the emulator on a free loopback port, runs `SCRIPT` in a child interpreter with
`DEEPINFRA_BASE_URL` and `DEEPINFRA_API_KEY` pointing at it (any real key in the environment is
replaced, so it never reaches the child), and exits with the script's status. The child may script
the emulator over HTTP (`/_emulator/queue`, ...: see SCRIPTING.md) with that key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence

from agno_deepinfra.testing.chat_wire import StreamUsage
from agno_deepinfra.testing.emulator import DeepInfraEmulator


def child_env(emulator: DeepInfraEmulator, base: dict[str, str]) -> dict[str, str]:
    """The child's environment: `base` pointed at the emulator, agno's telemetry off unless set."""
    env = {**base, "DEEPINFRA_BASE_URL": emulator.root_url, "DEEPINFRA_API_KEY": emulator.api_key}
    env.setdefault("AGNO_TELEMETRY", "false")  # offline: agno would otherwise report runs to its API
    return env


def run_script(
    script: str,
    args: Sequence[str] = (),
    *,
    port: int = 0,
    stream_usage: StreamUsage = "deepinfra",
) -> int:
    """Run `script` with `args` against a fresh emulator; return its exit status (128 + n for signal n)."""
    with DeepInfraEmulator(port=port, stream_usage=stream_usage) as emulator:
        print(f"DeepInfra emulator at {emulator.root_url}: running {script} offline", file=sys.stderr, flush=True)
        child = subprocess.Popen([sys.executable, script, *args], env=child_env(emulator, dict(os.environ)))
        try:
            status = child.wait()
        except KeyboardInterrupt:  # Ctrl-C reached the child too (same process group): let it finish
            status = child.wait()
        routes = Counter(request.route for request in emulator.requests)
    served = ", ".join(f"{route} {count}" for route, count in sorted(routes.items())) or "none"
    print(f"DeepInfra emulator: served {sum(routes.values())} requests ({served})", file=sys.stderr, flush=True)
    return 128 - status if status < 0 else status
