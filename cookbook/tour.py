"""The cookbook tour behind `make demo`: every recipe, against DeepInfra or the local emulator.

With DEEPINFRA_API_KEY set, recipes call the real DeepInfra API. Without it, the tour starts the
DeepInfra emulator (`agno_deepinfra.testing`) and points the recipes at it through
DEEPINFRA_BASE_URL, so the whole tour runs offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# In the order a newcomer would read them.
RECIPES = [
    "basic",
    "basic_stream",
    "async_basic",
    "async_fanout",
    "process_pools",
    "ray_scale_out",
    "tool_use",
    "open_models",
    "structured_output",
    "knowledge_rag",
    "retries",
    "cost_tracking",
    "batch_eval",
    "batch_corpus",
    "session_caching",
    "tracing",
    "sampling_params",
    "reasoning",
    "vision",
    "image_generation",
    "transcription",
    "speech",
    "list_models",
    "agentos",
    "emulator_control",
]


def run_recipes(env: dict[str, str]) -> list[str]:
    """Run each recipe in its own interpreter; return the names of those that failed."""
    failed = []
    for name in RECIPES:
        path = HERE / f"{name}.py"
        if not path.exists():
            continue
        print(f"\n===== cookbook/{name}.py =====", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(path)], env=env, timeout=300, check=False)
        print(f"\n----- {name}: {'ok' if result.returncode == 0 else 'FAILED'} ({time.monotonic() - started:.1f}s)")
        if result.returncode != 0:
            failed.append(name)
    return failed


def main() -> int:
    env = {**os.environ, "AGNO_TELEMETRY": "false"}
    if os.getenv("DEEPINFRA_API_KEY"):
        print("DEEPINFRA_API_KEY is set: running the cookbook against the real DeepInfra API.")
        failed = run_recipes(env)
    else:
        from agno_deepinfra.testing import DeepInfraEmulator

        with DeepInfraEmulator() as emu:
            print("DEEPINFRA_API_KEY is not set: running the cookbook against the local DeepInfra emulator")
            print(f"at {emu.root_url}; no network is needed.")
            print("Set DEEPINFRA_API_KEY to run the same recipes against the real API.")
            env.update(DEEPINFRA_BASE_URL=emu.root_url, DEEPINFRA_API_KEY=emu.api_key)
            env.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the Ray recipe's local cluster on loopback
            failed = run_recipes(env)
    print(f"\n{len(RECIPES) - len(failed)} of {len(RECIPES)} recipes ran; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
