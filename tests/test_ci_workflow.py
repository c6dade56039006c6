"""The GitHub Actions workflow, the lowest run's skip, and `make test-pythons`' discovery of Pythons.

The workflow is read with PyYAML, which agno itself requires (from 3.0.0 on), so no new dependency.
A full lint of the workflow is `make actionlint` (it needs the network): not part of `make test`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

sys.path.insert(0, str(ROOT / "tools"))
try:
    import test_pythons
finally:
    sys.path.pop(0)


def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_workflow_runs_on_push_pull_requests_and_weekly() -> None:
    loaded = workflow()
    triggers = loaded.get("on", loaded.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert {"push", "pull_request", "schedule"} <= set(triggers)
    [schedule] = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and re.fullmatch(r"[0-6]", weekday), "weekly: one day of the week"
    assert minute.isdigit() and hour.isdigit()


def test_the_workflow_runs_ci_run_on_each_supported_python() -> None:
    [job] = workflow()["jobs"].values()
    assert job["strategy"]["matrix"]["python"] == PYTHONS  # strings: an unquoted 3.10 would be 3.1
    assert job["strategy"]["fail-fast"] is False
    steps = job["steps"]
    setup = next(step for step in steps if str(step.get("uses", "")).startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert [step["run"] for step in steps if "run" in step] == ["bash .ci/run"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_matrix_starts_at_the_declared_python_floor() -> None:
    requires = re.search(r'^requires-python = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert requires and requires.group(1) == f">={PYTHONS[0]}"


# --------------------------------------------------------------------------- the lowest run, per Python


def make_test_lowest(tmp_path: Path, version: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`make -n test-lowest` with a PYTHON that reports `version` (-n: nothing is installed or run)."""
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho {version}\n")
    fake.chmod(0o755)
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(ROOT), "test-lowest", f"PYTHON={fake}"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.parametrize("version", PYTHONS[:3])
def test_the_floors_are_tested_where_they_install(tmp_path: Path, version: str) -> None:
    result = make_test_lowest(tmp_path, version)
    assert result.returncode == 0, result.stderr
    assert "AGNO_DEEPINFRA_LOWEST=1" in result.stdout and "SKIPPED" not in result.stdout


def test_where_the_floors_cannot_install_the_lowest_run_says_so(tmp_path: Path) -> None:
    result = make_test_lowest(tmp_path, "3.13", GITHUB_ACTIONS="true")
    assert result.returncode == 0, result.stderr
    assert "AGNO_DEEPINFRA_LOWEST=1" not in result.stdout
    assert "test-lowest: SKIPPED on Python 3.13: ray 2.40.0 and pydantic 2.7.0" in result.stdout
    assert "::warning title=Lowest floors not tested on Python 3.13::" in result.stdout  # shown on the run


# --------------------------------------------------------------------------- make test-pythons


def test_test_pythons_takes_the_newest_patch_of_each_supported_python(tmp_path: Path) -> None:
    for name in ("3.9.18", "3.10.2", "3.10.13", "3.12.1", "3.13.0", "3.13.0t", "pypy3.10-7.3.12", "3.14.0"):
        (tmp_path / "versions" / name / "bin").mkdir(parents=True)
        (tmp_path / "versions" / name / "bin" / "python").touch()
    (tmp_path / "versions" / "3.11.7").mkdir()  # no interpreter in it: not a usable Python

    found = test_pythons.find_pythons(tmp_path)

    assert {minor: path.parents[1].name for minor, path in found.items()} == {
        "3.10": "3.10.13",
        "3.12": "3.12.1",
        "3.13": "3.13.0",
    }
