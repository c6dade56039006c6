"""Smoke test of `make bench`: `python -m benchmarks --quick` end to end, in a subprocess.

The quick mode runs every stage at tiny sizes (about 20 s on 2 cores) against the emulator on
127.0.0.1 in its own child process; pytest-socket does not reach subprocesses, and the benchmark
itself refuses to resolve any host but loopback. It runs under `make test` without the `bench`
extra: the LiteLLM rows and the plots are then skipped, and the run says so (row notes and
`meta.skipped`), which these tests check too.
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
    *(f"open_models_{family}" for family in ("default", "qwen", "kimi", "mistral")),
    "streaming",
    "fresh_loop",
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
    "fresh_loop": {"agno_deepinfra", "agno_builtin"},  # agno's class is the reference; the SDK has no agno loop
}
# Sections of the plugin's own rows (variants of one contender), not a comparison of contenders.
OWN_ROWS = {"cost_levers", *(key for key in SECTIONS if key.startswith("open_models_"))}
# The headline number of each section: present for every contender that has one.
HEADLINE = {
    "per_call_model": "cpu_us",
    "per_call_agent": "cpu_us",
    "streaming": "ttft_ms",
    "fresh_loop": "fresh_ms",
    "fanout_10": "throughput_rps",
    "fanout_30": "throughput_rps",
    "imports": "import_ms",
    **{key: "x_default" for key in SECTIONS if key.startswith("open_models_")},
}

HAS_LITELLM = importlib.util.find_spec("litellm") is not None
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
SKIPPED_ROW = "skipped: litellm is not installed"
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.timeout(240)  # quick mode takes ~20 s; leave room for a loaded machine


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
            if row["note"] == SKIPPED_ROW:  # only LiteLLM, and only where it is not installed
                assert row["contender"] == "litellm" and not HAS_LITELLM and row["values"] == {}, (key, row)
                continue
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
    assert "Emulator capacity" in markdown and "## Targets" in markdown and "## Profile" not in markdown
    for plot in ("fanout_latency.png", "scale_inflight.png"):
        if HAS_MATPLOTLIB:
            assert plot in data["meta"]["plots"] and (output / plot).read_bytes()[:8] == PNG
        else:
            assert data["meta"]["plots"] == [] and not (output / plot).exists() and plot not in markdown
    skipped = " ".join(data["meta"]["skipped"])
    assert ("litellm is not installed" in skipped) is not HAS_LITELLM
    assert ("matplotlib is not installed" in skipped) is not HAS_MATPLOTLIB
    assert data["capacity"]["requests_per_second"] > 0 and data["capacity"]["requests"] > 0
    assert data["meta"]["sizes"]["name"] == "quick"


def test_every_timing_is_kept_as_a_pyperf_suite(results: tuple[Path, dict[str, Any]]) -> None:
    import pyperf

    output, data = results
    suite = pyperf.BenchmarkSuite.load(str(output / ".cache" / "samples.pyperf.json.gz"))
    names = set(suite.get_benchmark_names())
    for kept_name in (
        "per_call_model/agno_deepinfra/wall",
        "per_call_agent/agno_deepinfra/cpu",
        "streaming/agno_deepinfra/ttft",
        "fanout_10/agno_deepinfra/latency",
        "embedding/ours_batched/wall",
        "rerank/ours_arerank/wall",
    ):
        assert kept_name in names
    # The table's median is pyperf's median of the kept values.
    model = next(section for section in data["sections"] if section["key"] == "per_call_model")
    ours = next(row for row in model["rows"] if row["key"] == "agno_deepinfra")
    kept = suite.get_benchmark("per_call_model/agno_deepinfra/cpu")
    assert kept.get_nvalue() == data["meta"]["sizes"]["rounds"] * data["meta"]["sizes"]["batch"]
    assert ours["values"]["cpu_us"] == pytest.approx(kept.median() * 1e6)


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


def test_litellm_rows_are_measured_or_marked_skipped(results: tuple[Path, dict[str, Any]]) -> None:
    _, data = results
    for section in data["sections"]:
        for row in section["rows"]:
            if row["contender"] == "litellm" and section["key"] not in ("embedding", "rerank"):
                assert (row["note"] == SKIPPED_ROW) is not HAS_LITELLM, (section["key"], row["note"])


def test_results_md_renders_from_results_json_alone(results: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    output, _ = results
    (tmp_path / "results.json").write_bytes((output / "results.json").read_bytes())
    command = [sys.executable, "-m", "benchmarks", "--render-only", "--output-dir", str(tmp_path)]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-4000:]
    assert (tmp_path / "RESULTS.md").read_text() == (output / "RESULTS.md").read_text()


def test_the_readme_block_renders_from_a_fresh_run(results: tuple[Path, dict[str, Any]]) -> None:
    from benchmarks.readme import generated_block

    _, data = results
    block = generated_block(data)
    for key in ("scale_one_process", "scale_processes"):
        section = next(section for section in data["sections"] if section["key"] == key)
        assert all(f"| {row['label']} | {row['values']['completed']:,.0f} |" in block for row in section["rows"])
    assert f"{data['capacity']['requests_per_second']:,.0f} requests/s" in block


def test_the_open_model_target_is_measured(results: tuple[Path, dict[str, Any]]) -> None:
    _, data = results
    open_models = [section for section in data["sections"] if section["key"].startswith("open_models_")]
    checks = [check for section in open_models for check in section["checks"]]
    assert len(checks) == 1 and checks[0]["bound"] == 1.03 and checks[0]["measured"] is not None
    for section in open_models:
        assert [row["key"] for row in section["rows"]] == ["call", "stream"]
        assert all(row["values"]["own_us"] > 0 and row["values"]["default_us"] > 0 for row in section["rows"])
