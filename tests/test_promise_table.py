"""RELIABILITY.md's promise table names real tests: every id in it resolves in pytest's own collection.

A promise whose guard was renamed or deleted would otherwise keep pointing at nothing. The ids are
`tests/<file>.py::<test name>` (a parametrized test is named without its brackets).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE_HEADING = "## Promises and the tests that guard them"
TEST_ID = re.compile(r"`(tests/[\w/]+\.py::[\w]+)`")


def _table() -> list[tuple[str, list[str], str]]:
    """(promise, test ids, source of the expected value) for each row of the table."""
    text = (ROOT / "RELIABILITY.md").read_text()
    assert TABLE_HEADING in text, f"RELIABILITY.md has no {TABLE_HEADING!r} section"
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("promise", "") or set(cells[0]) <= {"-"}:
            continue
        rows.append((cells[0], TEST_ID.findall(cells[2]), cells[3]))
    return rows


@pytest.fixture(scope="module")
def collected() -> set[str]:
    """Every test id pytest collects in this checkout, parameters stripped."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ids = {line.split("[", 1)[0] for line in result.stdout.splitlines() if "::" in line}
    assert len(ids) > 100, result.stdout[-2000:] + result.stderr[-2000:]
    return ids


def test_every_promise_names_a_guard_and_a_source() -> None:
    rows = _table()
    assert len(rows) >= 20
    for promise, ids, source in rows:
        assert ids, f"no test id for: {promise}"
        assert source, f"no source of the expected value for: {promise}"


def test_every_named_test_exists(collected: set[str]) -> None:
    missing = sorted({test_id for _, ids, _ in _table() for test_id in ids} - collected)
    assert not missing, f"RELIABILITY.md names tests that pytest does not collect: {missing}"
