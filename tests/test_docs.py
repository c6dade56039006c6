"""The docs: README.md (the landing page) and docs/ (the site `make docs` builds with `--strict`).

The build itself catches broken links, missing anchors and renamed symbols (`make test` runs it).
These tests catch what the build cannot: a paragraph or list item left twice by a merge, a README
link to a page that moved (GitHub and PyPI render the README, not the site), a public name or
parameter missing from the API reference, and a recipe missing from the cookbook page.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

import agno_deepinfra
import agno_deepinfra.testing

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MIN_CHARS = 40  # shorter sentences and items ("- `None` (default): no limit.") may repeat on purpose
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")
# The benchmark block of docs/benchmarks.md is generated (tests/test_readme_benchmarks.py guards it).
GENERATED = re.compile(r"^<!-- benchmarks:begin.*?^<!-- benchmarks:end -->", re.M | re.S)


def pages() -> list[Path]:
    """README.md and every Markdown page of the site."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks(text: str) -> list[tuple[int, str]]:
    """(line number, whitespace-normalised text) of each paragraph and list item outside code blocks.

    Headings, table rows, snippet includes, admonition titles and the generated benchmark block are
    left out: a table row or heading may repeat on purpose (empty cells), and the block has its own test.
    """
    blank = lambda m: "\n" * m.group(0).count("\n")  # noqa: E731  # keeps line numbers
    text = GENERATED.sub(blank, FENCE.sub(blank, text))
    found: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0

    def flush() -> None:
        joined = " ".join(" ".join(current).split())
        if joined:
            found.append((start, joined))
        current.clear()

    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        skipped = stripped.startswith(("#", "|", "--8<--", "<!--", "!!!"))
        if not stripped or skipped:
            flush()
            continue
        if ITEM.match(line) or not current:
            flush()
            start = number
            current.append(ITEM.sub("", line) if ITEM.match(line) else stripped)
        else:
            current.append(stripped)
    flush()
    return found


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\[])|(?<=[:;])\s+")


def duplicates(texts: dict[str, str]) -> dict[str, list[str]]:
    """Each paragraph, list item or sentence of at least MIN_CHARS that appears twice, with where.

    Sentences (and clauses ending in ":" or ";") too, because a merge leaves fragments: the tail of
    a list item pasted after another section, or the end of a list repeated with a different
    beginning, even inside one paragraph.
    """
    seen: dict[str, list[str]] = defaultdict(list)
    for name, text in texts.items():
        for line, block in blocks(text):
            sentences = SENTENCE_END.split(block)
            for part in sentences if len(sentences) == 1 else [block, *sentences]:
                if len(part) >= MIN_CHARS:
                    seen[part].append(f"{name}:{line}")
    return {part: places for part, places in seen.items() if len(places) > 1}


def test_no_paragraph_or_list_item_appears_twice() -> None:
    texts = {str(path.relative_to(ROOT)): path.read_text() for path in pages()}
    found = duplicates(texts)
    assert not found, "\n".join(f"{places}: {block[:120]}" for block, places in found.items())


def test_the_duplicate_check_sees_merge_leftovers() -> None:
    """The check above can fail: on the README's old leftovers, a fragment of a list item pasted
    after another section and a list's end repeated in one paragraph; code blocks never count."""
    item = "- **Knowledge**: never mutates your documents. Same key, base URL and retry settings as `DeepInfra`."
    fragment = "  mutates your documents). Same key, base URL and retry settings as `DeepInfra`."
    texts = {
        "a.md": f"# A\n\n{item}\n- another item\n",
        "b.md": f"```python\n{item}\n```\n\n## Tracing\n\nSpans.\n{fragment}\n",
        "c.md": "`a`, `b`. Each runs as `python cookbook/<name>.py`; `make demo` runs them all.\n"
        "`b` (the `ray` extra). Each runs as `python cookbook/<name>.py`; `make demo` runs them all.\n",
    }
    assert duplicates(texts) == {
        "Same key, base URL and retry settings as `DeepInfra`.": ["a.md:3", "b.md:7"],
        "Each runs as `python cookbook/<name>.py`;": ["c.md:1", "c.md:1"],
    }
    assert not duplicates({"a.md": texts["a.md"], "d.md": f"```\n{item}\n```\n"})


def _slug(heading: str) -> str:
    """The anchor Markdown renderers (GitHub, MkDocs' toc) give a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_the_readme_links_resolve() -> None:
    """README links point at files (and headings) that exist: GitHub and PyPI show the README, not the site."""
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", FENCE.sub("", readme))
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert len(local) >= 10, local
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path
        assert target.is_file(), f"README links to {link}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+\s+(.*)$", target.read_text(), re.M)
            assert anchor in {_slug(h) for h in headings}, f"README links to {link}: no such heading"


def _reference() -> str:
    return "\n".join(path.read_text() for path in sorted((DOCS / "reference").glob("*.md")))


def test_every_public_name_is_in_the_api_reference() -> None:
    reference = _reference()
    documented = set(re.findall(r"^::: ([\w.]+)", reference, re.M))
    missing = [name for name in agno_deepinfra.__all__ if name != "__version__"]
    missing = [name for name in missing if f"agno_deepinfra.{name}" not in documented]
    for name in agno_deepinfra.testing.__all__:
        if not any(entry.startswith("agno_deepinfra.testing.") and entry.endswith(f".{name}") for entry in documented):
            missing.append(f"agno_deepinfra.testing.{name}")
    from agno_deepinfra.testing import pytest_plugin

    fixtures = [name for name, value in vars(pytest_plugin).items() if hasattr(value, "_pytestfixturefunction")]
    fixtures = [name for name in fixtures if not name.endswith("_session")]
    missing += [f"fixture {name}" for name in fixtures if name not in reference]
    assert not missing, f"not in docs/reference/: {missing}"


def _parameters(obj: Any) -> list[str]:
    """The public parameters a caller passes: a dataclass's own init fields, or `__init__`'s / the function's."""
    if inspect.isclass(obj):
        if dataclasses.is_dataclass(obj):
            own = inspect.get_annotations(obj)
            return [f.name for f in dataclasses.fields(obj) if f.init and f.name in own and not f.name.startswith("_")]
        if "__init__" not in obj.__dict__:
            return []
        obj = obj.__init__
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        p.name
        for p in inspect.signature(obj).parameters.values()
        if p.name not in ("self", "cls") and p.kind not in skip and not p.name.startswith("_")
    ]


def test_every_public_parameter_is_documented() -> None:
    """Each parameter of a public class or function has an entry (`name: ...`) in its docstring,
    which the API reference renders (Google style: "Attributes:" or "Args:")."""
    public = [(agno_deepinfra, name) for name in agno_deepinfra.__all__ if name != "__version__"]
    public += [(agno_deepinfra.testing, name) for name in agno_deepinfra.testing.__all__]
    undocumented = []
    for module, name in public:
        obj = getattr(module, name)
        if not callable(obj):
            continue
        doc = inspect.getdoc(obj) or ""
        if inspect.isclass(obj) and "__init__" in obj.__dict__:
            doc += "\n" + (inspect.getdoc(obj.__init__) or "")
        if not doc:
            undocumented.append(f"{name} (no docstring)")
        for parameter in _parameters(obj):
            if not re.search(rf"^\s*`?{re.escape(parameter)}`?(\s*\([^)]*\))?:", doc, re.M):
                undocumented.append(f"{name}.{parameter}")
    assert not undocumented, f"public names or parameters without a docstring entry: {undocumented}"


def test_the_cookbook_page_lists_every_recipe() -> None:
    tour = (ROOT / "cookbook" / "tour.py").read_text()
    recipes = re.findall(r'^    "(\w+)",$', tour.split("RECIPES = [", 1)[1].split("]", 1)[0], re.M)
    assert len(recipes) >= 20
    page = (DOCS / "cookbook.md").read_text()
    assert [name for name in recipes if f"`{name}.py`" not in page] == []


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (ROOT / page).read_text(), re.M | re.S)


# What a new user's trial missed (issue 24): each example runs offline, as the page says, through
# `python -m agno_deepinfra.testing run`, and shows what the page promises.
EXAMPLES = {
    "tracing into your own exporter": ("docs/guides/tracing.md", 0, "documented output", ""),
    "knowledge with a reranker": ("docs/guides/knowledge.md", 0, "45 days", "embeddings 2, inference 1"),
    "AgentOS": ("docs/guides/agentos.md", 1, "deterministic reply from the DeepInfra emulator", "chat 1"),
}


@pytest.mark.parametrize(("page", "index", "stdout", "served"), EXAMPLES.values(), ids=EXAMPLES.keys())
def test_a_guide_example_runs_offline(tmp_path: Path, page: str, index: int, stdout: str, served: str) -> None:
    script = tmp_path / "example.py"
    script.write_text(_python_blocks(page)[index])
    result = subprocess.run(
        [sys.executable, "-m", "agno_deepinfra.testing", "run", str(script)],
        cwd=tmp_path,  # the examples write tmp/... databases relative to where they run
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    if stdout == "documented output":  # the page shows the output in a text block after the example
        shown = re.findall(r"^```text\n(.*?)^```", (ROOT / page).read_text(), re.M | re.S)[0]
        assert [line for line in result.stdout.splitlines() if line in shown.splitlines()] == shown.splitlines()
    else:
        assert stdout in result.stdout
    assert served in result.stderr
