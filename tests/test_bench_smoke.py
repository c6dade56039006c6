"""Smoke test of `make bench`: `python -m benchmarks --quick` end to end, in a subprocess.

The quick mode runs every stage at tiny sizes (about 30 s on 2 cores) against the emulator on
127.0.0.1 in its own child process; pytest-socket does not reach subprocesses, and the benchmark
itself refuses to resolve any host but loopback. Skipped where the `bench` extra is not installed
(e.g. the lowest-versions environment).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = {"raw_sdk", "agno_builtin", "agno_deepinfra", "litellm"}
SECTIONS = {
    "imports",
    "per_call_model",
    "per_call_agent",
    "streaming",
    "fanout_10",
    "fanout_30",
    "embedding",
    "rerank",
    "cost_levers",
    "scale_one_process",
    "scale_processes",
}
# The scale-out sections compare modes of ours (agno's class and the raw SDK as references in (a)).
SCALE_CONTENDERS = {
    "scale_one_process": {"agno_deepinfra"},  # quick mode runs a fixed and an "auto" limit only
    "scale_processes": {"agno_deepinfra"},
}
# Sections of the plugin's own rows (variants of one contender), not a comparison of contenders.
OWN_ROWS = {"cost_levers"}
# The headline number of each section: present for every contender that has one.
HEADLINE = {
    "per_call_model": "cpu_us",
    "per_call_agent": "cpu_us",
    "streaming": "ttft_ms",
    "fanout_10": "throughput_rps",
    "fanout_30": "throughput_rps",
    "imports": "import_ms",
}

pytestmark = [
    pytest.mark.skipif(
        any(importlib.util.find_spec(name) is None for name in ("litellm", "matplotlib")),
        reason="needs the bench extra: pip install -e '.[bench]'",
    ),
    pytest.mark.timeout(240),  # quick mode takes ~30 s; leave room for a loaded machine
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Run the quick benchmark once for the module; its output directory and parsed results.json."""
    output = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "-m", "benchmarks", "--quick", "--output-dir", str(output)]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=230)
    assert finished.returncode == 0, finished.stderr[-4000:]
    return output, json.loads((output / "results.json").read_text())


def test_every_section_has_a_row_for_every_contender(results: tuple[Path, dict[str, Any]]) -> None:
    _, data = results
    sections = {section["key"]: section for section in data["sections"]}
    assert set(sections) == SECTIONS
    for key, section in sections.items():
        if key not in OWN_ROWS:
            assert {row["contender"] for row in section["rows"]} == SCALE_CONTENDERS.get(key, CONTENDERS), key


def test_headline_numbers_are_measured(results: tuple[Path, dict[str, Any]]) -> None:
    _, data = results
    sections = {section["key"]: section for section in data["sections"]}
    for key, metric in HEADLINE.items():
        for row in sections[key]["rows"]:
            if key == "per_call_agent" and row["contender"] == "raw_sdk":
                assert row["values"] == {} and row["note"] == "no agent layer"
                continue
            assert row["values"][metric] is not None and row["values"][metric] > 0, (key, row["key"])
            assert row["values"].get("errors", 0) == 0, (key, row["key"], row["note"])


def test_knowledge_rows_follow_the_plugin_modules(results: tuple[Path, dict[str, Any]]) -> None:
    _, data = results
    sections = {section["key"]: section for section in data["sections"]}
    for key, module, metric in (
        ("embedding", "agno_deepinfra.embedder", "texts_per_s"),
        ("rerank", "agno_deepinfra.reranker", "wall_ms"),
    ):
        ours = [row for row in sections[key]["rows"] if row["contender"] == "agno_deepinfra"]
        if importlib.util.find_spec(module) is None:
            assert all(row["note"].startswith("skipped") for row in ours), key
        else:
            assert ours and all(row["values"][metric] for row in ours), key


def test_report_files_are_written(results: tuple[Path, dict[str, Any]]) -> None:
    output, data = results
    markdown = (output / "RESULTS.md").read_text()
    assert "Emulator capacity" in markdown and "## Targets" in markdown and "### Findings" in markdown
    assert (output / "fanout_latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (output / "scale_inflight.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert data["capacity"]["requests_per_second"] > 0
    assert data["meta"]["sizes"]["name"] == "quick"


def test_cost_levers_rows(results: tuple[Path, dict[str, Any]]) -> None:
    _, data = results
    section = next(section for section in data["sections"] if section["key"] == "cost_levers")
    rows = {row["key"]: row["values"] for row in section["rows"]}
    realtime = rows["realtime"]["usd_per_1000_runs"]
    assert realtime > 0
    # Same answers, same tokens: the batch row is the catalog price x 0.8 (BATCH_PRICE_FACTOR).
    assert rows["batch"]["usd_per_1000_runs"] == pytest.approx(realtime * 0.8, rel=1e-3)
    assert rows["session_cache"]["cached_input_share"] > 0
    assert rows["session_cache"]["usd_per_1000_runs"] < realtime


def test_a_fixed_limit_at_the_cap_never_draws_a_429(results: tuple[Path, dict[str, Any]]) -> None:
    _, data = results
    section = next(section for section in data["sections"] if section["key"] == "scale_one_process")
    fixed = next(row for row in section["rows"] if row["key"] == "a_fixed")
    runs = data["scale"]["sizes"]["runs"]
    assert fixed["values"]["rejected"] == 0 and fixed["values"]["completed"] == runs
    assert fixed["values"]["peak"] <= data["scale"]["sizes"]["cap"]
