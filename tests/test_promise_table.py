"""RELIABILITY.md's promise table names real tests: every id in it resolves in pytest's own collection.

A promise whose guard was renamed or deleted would otherwise keep pointing at nothing. The ids are
`tests/<file>.py::<test name>` (a parametrized test is named without its brackets).

Each row also says which "second bug" was tried against it: a plausible one-line break of the
promise other than the obvious one, made in a scratch edit, and the guard that caught it. The cell
names that guard (one of the row's own), so a guard that stops catching it is renamed out of the row
with it. A row nobody has tried yet says so with a lone "—".
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE_HEADING = "## Promises and the tests that guard them"
COLUMNS = ["promise", "where", "guarded by", "expected value from", "second bug tried"]
TEST_ID = re.compile(r"`(tests/[\w/]+\.py::[\w]+)`")
CAUGHT_BY = re.compile(r"caught by `(test_\w+)`")
NOT_TRIED = "—"


class Row(NamedTuple):
    promise: str
    ids: list[str]
    source: str
    second_bug: str


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table() -> list[Row]:
    """Every row of the table, checked to have all its columns."""
    text = (ROOT / "RELIABILITY.md").read_text()
    assert TABLE_HEADING in text, f"RELIABILITY.md has no {TABLE_HEADING!r} section"
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.strip().startswith("|")]
    assert lines and _cells(lines[0]) == COLUMNS, f"the table's columns must be {COLUMNS}: {lines[:1]}"
    rows = []
    for line in lines[1:]:
        cells = _cells(line)
        if set(cells[0]) <= {"-", ":"}:
            continue  # the header's separator
        assert len(cells) == len(COLUMNS), f"a row needs {len(COLUMNS)} cells ({', '.join(COLUMNS)}): {line}"
        rows.append(Row(cells[0], TEST_ID.findall(cells[2]), cells[3], cells[4]))
    return rows


def test_every_promise_names_a_guard_and_a_source() -> None:
    rows = _table()
    assert len(rows) >= 20
    for row in rows:
        assert row.ids, f"no test id for: {row.promise}"
        assert row.source, f"no source of the expected value for: {row.promise}"


def test_every_second_bug_names_the_guard_of_its_row_that_caught_it() -> None:
    for row in _table():
        if row.second_bug == NOT_TRIED:
            continue
        caught = CAUGHT_BY.findall(row.second_bug)
        guards = {test_id.split("::", 1)[1] for test_id in row.ids}
        assert caught, f"say which guard caught the second bug ('caught by `test_...`'): {row.promise}"
        assert set(caught) <= guards, f"{sorted(set(caught) - guards)} are not among the guards of: {row.promise}"


def test_most_promises_had_a_second_bug_tried() -> None:
    rows = _table()
    tried = [row for row in rows if row.second_bug != NOT_TRIED]
    assert len(tried) >= len(rows) // 2, f"only {len(tried)} of {len(rows)} promises had a second bug tried"


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


def test_every_named_test_exists(collected: set[str]) -> None:
    missing = sorted({test_id for row in _table() for test_id in row.ids} - collected)
    assert not missing, f"RELIABILITY.md names tests that pytest does not collect: {missing}"
