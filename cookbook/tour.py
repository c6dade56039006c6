"""The cookbook tour behind `make demo`: every recipe, against DeepInfra or the local emulator.

With DEEPINFRA_API_KEY set, recipes call the real DeepInfra API (or DEEPINFRA_BASE_URL when that is
set too). Without it, the tour starts the DeepInfra emulator (`agno_deepinfra.testing`) and points
the recipes at it through DEEPINFRA_BASE_URL, so the whole tour runs offline.

A recipe counts as ok only when it exits 0: each one ends with status 1 when an agent run failed
(cookbook/_check.py), so a wrong key or a broken install fails the tour, and its last line names
every recipe that failed. `python cookbook/tour.py basic tool_use` runs only the recipes named.
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


RECIPE_TIMEOUT = 300  # seconds; a recipe still running then counts as FAILED


def run_recipes(env: dict[str, str], names: list[str] = RECIPES) -> list[str]:
    """Run each recipe in its own interpreter; return the names of those that failed (exit status not 0)."""
    failed = []
    for name in names:
        print(f"\n===== cookbook/{name}.py =====", flush=True)
        started = time.monotonic()
        try:
            code = subprocess.run(
                [sys.executable, str(HERE / f"{name}.py")], env=env, timeout=RECIPE_TIMEOUT
            ).returncode
            verdict = "ok" if code == 0 else f"FAILED (exit status {code})"
        except subprocess.TimeoutExpired:
            code, verdict = -1, f"FAILED (still running after {RECIPE_TIMEOUT} s)"
        print(f"\n----- {name}: {verdict} ({time.monotonic() - started:.1f}s)", flush=True)
        if code != 0:
            failed.append(name)
    return failed


def summary(names: list[str], failed: list[str]) -> str:
    """The tour's last line: how many recipes were ok, and which FAILED."""
    if not failed:
        return f"{len(names)} of {len(names)} recipes ok."
    return f"{len(names) - len(failed)} of {len(names)} recipes ok; FAILED: {', '.join(failed)}"


def main(argv: list[str]) -> int:
    names = argv or RECIPES
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        print(f"Unknown recipes: {', '.join(unknown)}. The tour knows: {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    env = {**os.environ, "AGNO_TELEMETRY": "false"}
    if os.getenv("DEEPINFRA_API_KEY"):
        where = os.getenv("DEEPINFRA_BASE_URL") or "the real DeepInfra API"
        print(f"DEEPINFRA_API_KEY is set: running the cookbook against {where}.")
        failed = run_recipes(env, names)
    else:
        from agno_deepinfra.testing import DeepInfraEmulator

        with DeepInfraEmulator() as emu:
            print("DEEPINFRA_API_KEY is not set: running the cookbook against the local DeepInfra emulator")
            print(f"at {emu.root_url}; no network is needed.")
            print("Set DEEPINFRA_API_KEY to run the same recipes against the real API.")
            env.update(DEEPINFRA_BASE_URL=emu.root_url, DEEPINFRA_API_KEY=emu.api_key)
            env.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the Ray recipe's local cluster on loopback
            failed = run_recipes(env, names)
    print(f"\n{summary(names, failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
