"""Import cost: wall time and resident memory of one `import`, each in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial

from benchmarks.config import Sizes
from benchmarks.contenders import AGNO, HAS_LITELLM, LITELLM, OURS, RAW, SKIPPED_ROW
from benchmarks.measure import interleaved
from benchmarks.report import Metric, Row, Section

# row key -> (contender, statement). `agno_deepinfra` resolves its names lazily, so the package
# import alone is cheap; the second row is what a user of the chat model actually pays.
STATEMENTS = {
    RAW: (RAW, "import openai"),
    AGNO: (AGNO, "import agno.models.deepinfra"),
    OURS: (OURS, "import agno_deepinfra"),
    "agno_deepinfra_chat": (OURS, "from agno_deepinfra import DeepInfra"),
    LITELLM: (LITELLM, "import litellm"),
}

# Runs in the child: RSS before and after one timed import, as JSON on stdout.
_PROBE = """
import json, sys, time
def rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
before = rss_kb()
start = time.perf_counter()
{statement}
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "rss_kb": rss_kb(), "base_rss_kb": before, "modules": len(sys.modules)}}))
"""


def probe(statement: str) -> dict[str, float]:
    """Time, RSS and modules of one import statement in a fresh interpreter."""
    command = [sys.executable, "-c", _PROBE.format(statement=statement)]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"import probe failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    run = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "seconds": run["seconds"],
        "rss": run["rss_kb"],
        "rss_delta": run["rss_kb"] - run["base_rss_kb"],
        "modules": run["modules"],
    }


def import_times(statement: str) -> dict[str, int]:
    """`python -X importtime -c statement`, parsed: each module's own import time (µs)."""
    command = [sys.executable, "-X", "importtime", "-c", statement]
    times = {}
    for line in subprocess.run(command, capture_output=True, text=True, check=True).stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _cumulative, name = line.removeprefix("import time:").split("|")
            times[name.strip()] = int(self_us)
    return times


def extra_imports_note(ours: str, theirs: str, top: int = 6) -> str:
    """How many modules `ours` imports that `theirs` does not, their own import time, and the costliest."""
    baseline = import_times(theirs)
    extra = {module: us for module, us in import_times(ours).items() if module not in baseline}
    costly = sorted(extra.items(), key=lambda item: item[1], reverse=True)[:top]
    listed = ", ".join(f"`{module}` {us / 1e3:.1f} ms" for module, us in costly)
    return (
        f"`{ours}` loads {len(extra)} modules that `{theirs}` does not ({sum(extra.values()) / 1e3:.0f} ms of their "
        f"own import time, one `-X importtime` run); the costliest: {listed}."
    )


def import_section(sizes: Sizes) -> Section:
    """Import time and RSS of each contender's module, fresh interpreters, interleaved."""
    statements = {key: value for key, value in STATEMENTS.items() if key != LITELLM or HAS_LITELLM}
    jobs = {key: partial(probe, statement) for key, (_, statement) in statements.items()}
    samples = interleaved(jobs, sizes.import_runs, warmup_runs=0)
    rows = []
    for key, (contender, statement) in statements.items():
        record = samples[key]
        values = {
            "import_ms": record.stat("seconds", scale=1e3),
            "rss_mb": record.stat("rss", scale=1 / 1024),
            "rss_delta_mb": record.stat("rss_delta", scale=1 / 1024),
            "modules": record.stat("modules"),
        }
        rows.append(Row(key, contender, f"`{statement}`", values, record.last_error and f"failed: {record.last_error}"))
    if not HAS_LITELLM:
        rows.append(Row(LITELLM, LITELLM, f"`{STATEMENTS[LITELLM][1]}`", {}, SKIPPED_ROW))
    notes = []
    if sizes.import_breakdown:
        notes.append(extra_imports_note(STATEMENTS["agno_deepinfra_chat"][1], STATEMENTS[AGNO][1]))
    return Section(
        key="imports",
        title="Import time and memory",
        description=(
            f"Median of {sizes.import_runs} fresh interpreter(s) per statement, interleaved; RSS is VmRSS from "
            "/proc/self/status after the import (delta = over the bare interpreter). LiteLLM loads its bundled "
            "model cost map (`LITELLM_LOCAL_MODEL_COST_MAP=True`), so no network is involved."
        ),
        metrics=[
            Metric("import_ms", "import (ms)", digits=0, ratio=True),
            Metric("rss_mb", "RSS (MB)", digits=1, ratio=True),
            Metric("rss_delta_mb", "RSS delta (MB)", digits=1),
            Metric("modules", "sys.modules"),
        ],
        rows=rows,
        raw_ref=RAW,
        agno_ref=AGNO,
        notes=notes,
    )
