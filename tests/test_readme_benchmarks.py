"""The benchmark numbers in docs/benchmarks.md and RESULTS.md come from the committed run, not from a hand.

docs/benchmarks.md's block between the `benchmarks:begin`/`benchmarks:end` comments is generated from
`benchmarks/results.json` (`python -m benchmarks.readme`), and
RESULTS.md is rendered from `results.json` (`python -m benchmarks --render-only`). A hand edit of
either, or a results.json that no longer matches them, fails here.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from benchmarks import readme
from benchmarks.runner import render

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def test_the_readme_block_is_what_results_json_gives() -> None:
    text = readme.PAGE.read_text()
    assert readme.BEGIN in text and readme.END in text
    assert readme.rewrite(text, readme.current_block()) == text, "run: python -m benchmarks.readme"


def test_results_md_is_rendered_from_results_json(tmp_path: Path) -> None:
    shutil.copy(BENCH / "results.json", tmp_path / "results.json")
    render(tmp_path)
    rendered = (tmp_path / "RESULTS.md").read_text()
    assert rendered == (BENCH / "RESULTS.md").read_text(), "run: python -m benchmarks --render-only"


def test_the_readme_quotes_the_measured_capacity_and_the_real_embedder() -> None:
    data = json.loads((BENCH / "results.json").read_text())
    block = readme.current_block()
    assert f"{data['capacity']['requests_per_second']:,.0f} requests/s" in block
    assert f"{data['capacity']['emulator_ceiling_rps']:,.0f} requests/s on a full core" in block
    agno_row = next(s for s in data["sections"] if s["key"] == "embedding")["agno_ref"]
    label = next(
        r["label"] for s in data["sections"] if s["key"] == "embedding" for r in s["rows"] if r["key"] == agno_row
    )
    assert "OpenAIEmbedder" in label and label in block


def test_a_hand_edit_of_a_number_is_caught() -> None:
    text = readme.PAGE.read_text()
    start = text.index(readme.BEGIN)
    number = re.search(r"\d+\.\d+x", text[start:])  # the first ratio in the block, whatever the run gave
    assert number is not None
    at = start + number.start()
    edited = text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1 :]
    assert readme.rewrite(edited, readme.current_block()) != edited
